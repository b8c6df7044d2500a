"""Which station a topic names: (account, code) → station id, cached so ingestion needs no query per message.

Topics are chosen by whoever publishes, so nothing cached grows with made-up names: each known account's
station codes are read at once (one query) and kept as that account's code list, so an unknown code is a
miss in that list, kept nowhere; accounts that do not exist are remembered briefly in a small LRU cache.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

from cachetools import LRUCache, TTLCache

from models.tenancy import Account, Station

Miss = Literal["unknown_account", "unknown_station"]
# An account's codes are read again after this long (archiving takes effect), or after NEGATIVE_SECONDS
# when a code is not in them, so a station created a moment ago starts counting within seconds.
POSITIVE_SECONDS = 60.0
NEGATIVE_SECONDS = 5.0
# Known accounts are bounded by the database; unknown ones by this cache of misses.
ACCOUNTS_MAX = 10_000
MISSES_MAX = 1024


@dataclass(frozen=True, slots=True)
class _Codes:
    """An account's active stations by code, as read at `loaded_at` (time.monotonic())."""

    loaded_at: float
    ids: dict[str, int]


class StationDirectory:
    def __init__(self, misses_max: int = MISSES_MAX) -> None:
        self.accounts: LRUCache[str, _Codes] = LRUCache(ACCOUNTS_MAX)
        self.unknown_accounts: TTLCache[str, bool] = TTLCache(misses_max, NEGATIVE_SECONDS)

    async def resolve(self, account_id: str, code: str) -> int | Miss:
        now = time.monotonic()
        codes = self.accounts.get(account_id)
        if codes is not None:
            found = codes.ids.get(code)
            fresh = POSITIVE_SECONDS if found is not None else NEGATIVE_SECONDS
            if now - codes.loaded_at < fresh:
                return found if found is not None else "unknown_station"
        elif account_id in self.unknown_accounts:
            return "unknown_account"
        codes = await self._load(account_id, now)
        if codes is None:
            self.unknown_accounts[account_id] = True
            return "unknown_account"
        return codes.ids.get(code, "unknown_station")

    async def _load(self, account_id: str, now: float) -> _Codes | None:
        """The account's active stations (None: no such account): an unknown account costs one query."""
        if not await Account.exists(id=account_id):
            self.accounts.pop(account_id, None)
            return None
        rows = await Station.filter(account_id=account_id, archived_at__isnull=True).values_list("code", "id")
        codes = _Codes(now, {str(code): int(station_id) for code, station_id in rows})
        self.accounts[account_id] = codes
        return codes
