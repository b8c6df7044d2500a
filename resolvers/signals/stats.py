"""Counters of signals that were dropped or partly ignored, and their rate-limited log lines.

Anyone who can publish to the broker chooses topics and payloads, so nothing here may grow with them:
the counters are keyed by kind (a fixed set) and the log is one line for the first drop of a quiet
spell, then at most one summary line a minute (`dropped 10000 signals in the last minute:
unknown_station 9990, malformed 10 (e.g. acme/S1: ...)`), instead of a line per station.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
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
    # MQTT only: a valid message that failed to apply on its own, and one whose handling raised.
    "apply_failed",
    "internal",
]
# The summary line's period.
SUMMARY_SECONDS = 60.0
# Characters of a drop's detail kept for the log line.
DETAIL_CHARS = 200


class SignalStats:
    """Per-process counts by kind. The first drop after a quiet minute is logged at once with its detail;
    later ones are summed into one line per minute, written by the next drop or `flush` after it."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.applied = 0
        self.dropped: Counter[str] = Counter()
        self._clock = clock
        # Drops since the last line, by kind, and one example (where, detail) of each kind.
        self._unlogged: Counter[str] = Counter()
        self._examples: dict[str, tuple[str, str]] = {}
        self._period_start: float | None = None  # None: nothing logged for a minute or more

    def drop(self, kind: DropKind, where: str, detail: str = "") -> None:
        self.dropped[kind] += 1
        now = self._clock()
        self.flush(now)
        if self._period_start is None:
            self._period_start = now
            log.warning("signal dropped (%s) for %s: %s", kind, where[:120], detail[:DETAIL_CHARS])
            return
        self._unlogged[kind] += 1
        self._examples.setdefault(kind, (where[:120], detail[:DETAIL_CHARS]))

    def flush(self, now: float | None = None) -> None:
        """Write the summary line if its minute is over (ingestion calls this while idle too)."""
        if self._period_start is None:
            return
        now = self._clock() if now is None else now
        if now - self._period_start < SUMMARY_SECONDS:
            return
        if not self._unlogged:
            self._period_start = None  # a quiet minute: the next drop is logged at once
            return
        kinds = ", ".join(f"{kind} {count}" for kind, count in self._unlogged.most_common())
        examples = "; ".join(f"{kind} e.g. {w}: {d}" for kind, (w, d) in self._examples.items())
        log.warning("dropped %d signals in the last minute: %s (%s)", self._unlogged.total(), kinds, examples)
        self._unlogged.clear()
        self._examples.clear()
        self._period_start = now

    def snapshot(self) -> dict[str, object]:
        return {"applied": self.applied, "dropped": dict(self.dropped)}


STATS = SignalStats()
