"""Per-account cached reads of configuration lists (stations, plants…), dropped on every change they depend on.

Configuration is read on every dashboard refresh and changes a few times a day; this keeps those reads
off the database. Any resolver that changes a cached kind must publish a Change of that kind.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

from resolvers.common.changes import Change
from resolvers.common.single_flight import SingleFlight


class SharedList(list[Any]):
    """A cached list handed to every caller; a transport may memoise its encoding in `memo`."""

    __slots__ = ("memo",)

    def __init__(self, items: list[Any]) -> None:
        super().__init__(items)
        self.memo: dict[str, bytes] = {}


@dataclass(frozen=True, slots=True)
class _Entry:
    value: Any
    depends: frozenset[str]
    expires: float


class ReadCache:
    """Values are shared between callers: treat them as read-only.

    Keys are tuples whose first item names what is cached ("stations", "graphql"…). Each name has its
    own budget of `max_keys` per account, so a dashboard sending many distinct GraphQL documents
    cannot evict the station list; past the budget the oldest entry of that name goes.
    """

    def __init__(
        self, *, ttl_seconds: float, trusted: Callable[[], bool] = lambda: True, max_keys: int = 20
    ) -> None:
        self._ttl = ttl_seconds
        self._trusted = trusted
        self._max_keys = max_keys  # per account and name: bounds memory when filters vary
        # account → name → key → entry (dicts keep insertion order: the first entry is the oldest)
        self._entries: dict[str, dict[Hashable, dict[Hashable, _Entry]]] = {}
        # Bumped per account on every change: a load that raced a change is not stored.
        self._generation: dict[str, int] = {}
        self._flight = SingleFlight()

    async def get(
        self, account_id: str, key: Hashable, depends: frozenset[str], load: Callable[[], Awaitable[Any]]
    ) -> Any:
        if self._ttl <= 0 or not self._trusted():
            self._entries.clear()  # may predate a change this process never heard of
            return await load()
        name = key[0] if isinstance(key, tuple) and key else key
        entries = self._entries.setdefault(account_id, {}).setdefault(name, {})
        entry = entries.get(key)
        now = time.monotonic()
        if entry is not None and entry.expires > now:
            return entry.value
        generation = self._generation.get(account_id, 0)
        value = await self._flight.run((account_id, key, generation), load)
        if isinstance(value, list) and not isinstance(value, SharedList):
            value = SharedList(value)
        if generation == self._generation.get(account_id, 0):
            entries.pop(key, None)  # re-inserted last: expired entries are refreshed, not kept oldest
            while len(entries) >= self._max_keys:
                del entries[next(iter(entries))]
            entries[key] = _Entry(value, depends, now + self._ttl)
        return value

    async def on_change(self, change: Change) -> None:
        self._generation[change.account_id] = self._generation.get(change.account_id, 0) + 1
        for entries in self._entries.get(change.account_id, {}).values():
            for key in [k for k, e in entries.items() if change.kind in e.depends]:
                del entries[key]


class _NoCache:
    async def get(
        self, account_id: str, key: Hashable, depends: frozenset[str], load: Callable[[], Awaitable[Any]]
    ) -> Any:
        return await load()


_cache: ReadCache | _NoCache = _NoCache()


def install_read_cache(cache: ReadCache | None) -> None:
    """Called by the gateway's lifespan; without it every read goes to the database."""
    global _cache
    _cache = cache if cache is not None else _NoCache()


async def cached(
    account_id: str, key: Hashable, depends: frozenset[str], load: Callable[[], Awaitable[Any]]
) -> Any:
    return await _cache.get(account_id, key, depends, load)
