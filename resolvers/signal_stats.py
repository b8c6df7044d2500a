"""Counters of signals that were dropped or partly ignored, logged once per station and kind."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Literal

log = logging.getLogger(__name__)

DropKind = Literal[
    "malformed",
    "too_large",
    "bad_topic",
    "unknown_account",
    "unknown_station",
    "unknown_key",
    "wrong_type",
    "bad_timestamp",
    "unknown_sku",
    "unknown_error_code",
]


class SignalStats:
    """Per-process counts; a kind is logged the first time it happens for a station, then only counted."""

    def __init__(self) -> None:
        self.applied = 0
        self.dropped: Counter[str] = Counter()
        self._logged: set[tuple[str, str]] = set()

    def drop(self, kind: DropKind, where: str, detail: str = "") -> None:
        self.dropped[kind] += 1
        if (where, kind) not in self._logged:
            self._logged.add((where, kind))
            log.warning(
                "signal dropped (%s) for %s: %s (logged once per station and kind)", kind, where, detail
            )

    def snapshot(self) -> dict[str, object]:
        return {"applied": self.applied, "dropped": dict(self.dropped)}


STATS = SignalStats()
