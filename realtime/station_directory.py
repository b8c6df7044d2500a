"""Which station a topic names: (account, code) → station id, cached so ingestion needs no query per message."""

from __future__ import annotations

import time
from typing import Literal

from models.tenancy import Account, Station

Miss = Literal["unknown_account", "unknown_station"]
# A known station is re-read after this long (archiving takes effect); an unknown one is retried after
# NEGATIVE_SECONDS, so a station created a moment ago starts counting within seconds.
POSITIVE_SECONDS = 60.0
NEGATIVE_SECONDS = 5.0


class StationDirectory:
    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], tuple[float, int | Miss]] = {}

    async def resolve(self, account_id: str, code: str) -> int | Miss:
        key = (account_id, code)
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        found = await Station.filter(account_id=account_id, code=code, archived_at__isnull=True).values_list(
            "id", flat=True
        )
        value: int | Miss
        if found:
            value = int(found[0])  # type: ignore[call-overload]
        elif await Account.exists(id=account_id):
            value = "unknown_station"
        else:
            value = "unknown_account"
        ttl = POSITIVE_SECONDS if isinstance(value, int) else NEGATIVE_SECONDS
        self._entries[key] = (now + ttl, value)
        return value
