"""Minute arithmetic of the per-minute station windows: a window is the minute its start truncates to."""

from __future__ import annotations

from datetime import datetime, timedelta

MINUTE = timedelta(minutes=1)


def minute_of(moment: datetime) -> datetime:
    """The start of the window `moment` falls in."""
    return moment.replace(second=0, microsecond=0)
