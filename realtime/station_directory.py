"""Which station a topic names: (account, code) → station id, cached so ingestion needs no query per message.

Topics are chosen by whoever publishes, so the caches of misses are small LRU caches with a short
lifetime: a flood of made-up codes evicts its own entries and costs one query per new name, never memory.
"""

from __future__ import annotations

from typing import Literal

from cachetools import TTLCache

from models.tenancy import Account, Station

Miss = Literal["unknown_account", "unknown_station"]
# A known station is re-read after this long (archiving takes effect); an unknown one is retried after
# NEGATIVE_SECONDS, so a station created a moment ago starts counting within seconds.
POSITIVE_SECONDS = 60.0
NEGATIVE_SECONDS = 5.0
# Hits are real stations and accounts (bounded by the database); misses are whatever was published.
KNOWN_MAX = 100_000
MISSES_MAX = 1024


class StationDirectory:
    def __init__(self, misses_max: int = MISSES_MAX) -> None:
        self.stations: TTLCache[tuple[str, str], int] = TTLCache(KNOWN_MAX, POSITIVE_SECONDS)
        self.unknown_stations: TTLCache[tuple[str, str], bool] = TTLCache(misses_max, NEGATIVE_SECONDS)
        self.accounts: TTLCache[str, bool] = TTLCache(KNOWN_MAX, POSITIVE_SECONDS)
        self.unknown_accounts: TTLCache[str, bool] = TTLCache(misses_max, NEGATIVE_SECONDS)

    async def resolve(self, account_id: str, code: str) -> int | Miss:
        key = (account_id, code)
        if (found := self.stations.get(key)) is not None:
            return found
        if key in self.unknown_stations:
            return "unknown_station"
        if account_id in self.unknown_accounts:
            return "unknown_account"
        ids = await Station.filter(account_id=account_id, code=code, archived_at__isnull=True).values_list(
            "id", flat=True
        )
        if ids:
            station_id = int(ids[0])  # type: ignore[call-overload]  # values_list(flat=True) rows are ints
            self.stations[key] = station_id
            self.accounts[account_id] = True
            return station_id
        if account_id in self.accounts or await Account.exists(id=account_id):
            self.accounts[account_id] = True
            self.unknown_stations[key] = True
            return "unknown_station"
        self.unknown_accounts[account_id] = True
        return "unknown_account"

    def known_account(self, account_id: str) -> bool:
        """Whether a recent lookup found the account (dead letters are kept for known accounts only)."""
        return account_id in self.accounts
