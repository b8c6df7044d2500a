"""Interval arithmetic over the planned-production calendar: shift occurrences inside a range.

Pure functions on `TimeRange` lists (sorted, non-overlapping, UTC). Signal ingestion uses them for a
window's `shiftMs` and `scheduledProductionMs`, detection to decide whether time can be downtime,
and analysis for schedule and availability durations; one implementation so those figures agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from models.ranges import MAX_SHIFT_HOURS, Shift, TimeRange, shift_occurrence


def merge(ranges: Iterable[TimeRange]) -> list[TimeRange]:
    """Sorted union: overlapping or touching ranges become one; empty ones vanish."""
    merged: list[TimeRange] = []
    for r in sorted((r for r in ranges if r.end > r.start), key=lambda r: r.start):
        if merged and r.start <= merged[-1].end:
            if r.end > merged[-1].end:
                merged[-1] = TimeRange(merged[-1].start, r.end)
        else:
            merged.append(r)
    return merged


def intersect(ranges: Sequence[TimeRange], within: TimeRange) -> list[TimeRange]:
    """The parts of (merged) `ranges` inside `within`."""
    out = []
    for r in ranges:
        start, end = max(r.start, within.start), min(r.end, within.end)
        if end > start:
            out.append(TimeRange(start, end))
    return out


def subtract(ranges: Sequence[TimeRange], removed: Sequence[TimeRange]) -> list[TimeRange]:
    """`ranges` minus every range of `removed` (both merged and sorted)."""
    out: list[TimeRange] = []
    for r in ranges:
        pieces = [r]
        for cut in removed:
            if cut.end <= r.start or cut.start >= r.end:
                continue
            next_pieces = []
            for p in pieces:
                if cut.start > p.start:
                    next_pieces.append(TimeRange(p.start, min(cut.start, p.end)))
                if cut.end < p.end:
                    next_pieces.append(TimeRange(max(cut.end, p.start), p.end))
            pieces = [p for p in next_pieces if p.end > p.start]
        out.extend(pieces)
    return out


def total_ms(ranges: Iterable[TimeRange]) -> int:
    return sum(int((r.end - r.start) / timedelta(milliseconds=1)) for r in ranges)


def shift_ranges(shifts: Sequence[Shift], timezone: str, within: TimeRange) -> list[TimeRange]:
    """In-shift time inside `within`, merged. No shifts means the plant runs 24/7 (all of it)."""
    return merge(shift_occurrences(shifts, timezone, within))


def shift_occurrences(shifts: Sequence[Shift], timezone: str, within: TimeRange) -> list[TimeRange]:
    """Each shift occurrence inside `within`, in order, one range each (back-to-back shifts stay two).

    Shifts are weekly, in plant-local wall time (see models.ranges): occurrences starting on every
    local date from the longest shift before `within` to its end are clipped to it. Where two overlap
    (a handover) the later one starts where the earlier ends, so no time belongs to two. No shifts
    means the plant runs 24/7: the whole range is one occurrence.
    """
    if not shifts:
        return [within] if within.end > within.start else []
    zone = ZoneInfo(timezone)
    first = (within.start.astimezone(zone) - timedelta(hours=MAX_SHIFT_HOURS)).date()
    last = within.end.astimezone(zone).date()
    found: list[TimeRange] = []
    day = first
    while day <= last:
        for shift in shifts:
            if shift.week_day == day.weekday():
                occurrence = shift_occurrence(shift, day, zone)
                if occurrence is not None:
                    found.append(occurrence)
        day += timedelta(days=1)
    ordered: list[TimeRange] = []
    for r in sorted(intersect(found, within), key=lambda r: (r.start, r.end)):
        start = max(r.start, ordered[-1].end) if ordered else r.start
        if r.end > start:
            ordered.append(TimeRange(start, r.end))
    return ordered


def shifts_from_json(rows: Sequence[dict[str, float]]) -> list[Shift]:
    """A station group's stored `shifts` JSON as `Shift` values."""
    return [Shift(int(s["weekDay"]), float(s["startHour"]), float(s["duration"])) for s in rows]


def contains(ranges: Sequence[TimeRange], moment: datetime) -> bool:
    return any(r.start <= moment < r.end for r in ranges)
