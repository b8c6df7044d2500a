"""Waiting on a condition with a deadline instead of a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# How often a condition is read again: short next to every deadline used, long enough not to load the
# gateway under test with reads.
POLL_SECONDS = 0.05


def poll(
    read: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout: float | None = None,
    until: float | None = None,
    every: float = POLL_SECONDS,
) -> T:
    """Call `read` until `done(value)` or the deadline passes; answers the last value either way, so the
    caller's assertion shows what was there. The deadline is `timeout` seconds from now or the
    time.monotonic() instant `until` (exactly one of them)."""
    if (timeout is None) == (until is None):
        raise TypeError("poll needs exactly one of timeout and until")
    deadline = until if until is not None else time.monotonic() + (timeout or 0.0)
    while True:
        value = read()
        if done(value) or time.monotonic() >= deadline:
            return value
        time.sleep(every)
