"""Per-account cached reads of configuration lists (stations, plants…), dropped on every change they depend on.

Configuration is read on every dashboard refresh and changes a few times a day; this keeps those reads
off the database. Any resolver that changes a cached kind must publish a Change of that kind.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

from resolvers.changes import Change
from resolvers.single_flight import SingleFlight


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
    """Values are shared between callers: treat them as read-only."""

    def __init__(
        self, *, ttl_seconds: float, trusted: Callable[[], bool] = lambda: True, max_keys: int = 20
    ) -> None:
        self._ttl = ttl_seconds
        self._trusted = trusted
        self._max_keys = max_keys  # per account: bounds memory when filters vary
        self._entries: dict[str, dict[Hashable, _Entry]] = {}
        # Bumped per account on every change: a load that raced a change is not stored.
        self._generation: dict[str, int] = {}
        self._flight = SingleFlight()

    async def get(
        self, account_id: str, key: Hashable, depends: frozenset[str], load: Callable[[], Awaitable[Any]]
    ) -> Any:
        if self._ttl <= 0 or not self._trusted():
            self._entries.clear()  # may predate a change this process never heard of
            return await load()
        entries = self._entries.setdefault(account_id, {})
        entry = entries.get(key)
        now = time.monotonic()
        if entry is not None and entry.expires > now:
            return entry.value
        generation = self._generation.get(account_id, 0)
        value = await self._flight.run((account_id, key, generation), load)
        if isinstance(value, list) and not isinstance(value, SharedList):
            value = SharedList(value)
        if generation == self._generation.get(account_id, 0):
            if len(entries) >= self._max_keys:
                entries.clear()
            entries[key] = _Entry(value, depends, now + self._ttl)
        return value

    async def on_change(self, change: Change) -> None:
        self._generation[change.account_id] = self._generation.get(change.account_id, 0) + 1
        entries = self._entries.get(change.account_id)
        if entries:
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
