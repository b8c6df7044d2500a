"""OEE maths of SPEC section 8: percentages, cost, the A x P x Q product, and the analysis buckets.

Pure functions. Percentages are 0-100 with 2 decimals, None when their base is zero. `oee` is the
product of the three *rounded* percentages (then rounded), so a client multiplying the figures it was
sent gets the `oee` it was sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Literal
from zoneinfo import ZoneInfo

from models.calendar import shift_occurrences
from models.ranges import Shift, TimeRange

AggregateWindow = Literal["none", "hour", "day", "week", "shift"]
AGGREGATE_WINDOWS: tuple[AggregateWindow, ...] = ("none", "hour", "day", "week", "shift")
# One analysis answers at most this many windows per station (an hourly year is 8,784), and at most
# MAX_RESULTS results in all (stations x windows): beyond that an answer is megabytes nobody reads.
MAX_BUCKETS = 10_000
MAX_RESULTS = 20_000


def percent(part: float, base: float) -> float | None:
    """`part / base` as 0-100 with 2 decimals (clamped), None when the base is zero."""
    if base <= 0:
        return None
    return round(min(100.0, max(0.0, part * 100.0 / base)), 2)


def oee_percent(availability: float | None, performance: float | None, quality: float | None) -> float | None:
    """A x P x Q as a percentage; None unless availability and performance are known.

    Without output quality has no base, but then performance is 0 and so is OEE.
    """
    if availability is None or performance is None:
        return None
    return round(availability * performance * (quality or 0.0) / 10_000, 2)


def cost(duration_ms: int, idle_cost_per_minute: float | None) -> float:
    """Minutes x idleCostPerMinute, 2 decimals; a station without a cost costs 0."""
    return round(duration_ms / 60_000 * (idle_cost_per_minute or 0.0), 2)


def count2(value: float) -> float:
    """Counts derived from time (targets) keep 2 decimals."""
    return round(value, 2)


def buckets(
    window: AggregateWindow,
    span: TimeRange,
    *,
    timezone: str,
    day_start_hour: int,
    shifts: Sequence[Shift],
) -> list[TimeRange]:
    """`span` cut into plant-local windows (clipped to it); `none` is the span itself.

    `shift` is each shift occurrence of the station's group inside the span (time out of shift
    belongs to no window); a group without shifts runs 24/7 and its shift windows are plant days.
    """
    if span.end <= span.start:
        return [span]
    if window == "none":
        return [span]
    zone = ZoneInfo(timezone)
    if window == "hour":
        edges = _hour_edges(span, zone)
    elif window == "shift" and shifts:
        return shift_occurrences(shifts, zone.key, span)
    else:
        edges = _day_edges(span, zone, day_start_hour, weekly=window == "week")
    return [
        TimeRange(max(a, span.start), min(b, span.end))
        for a, b in pairwise(edges)
        if b > span.start and a < span.end
    ]


def _hour_edges(span: TimeRange, zone: ZoneInfo) -> list[datetime]:
    local = span.start.astimezone(zone).replace(minute=0, second=0, microsecond=0)
    edge = local.astimezone(UTC)
    edges = [edge]
    while edge < span.end:
        edge += timedelta(hours=1)
        edges.append(edge)
    return edges


def _day_edges(span: TimeRange, zone: ZoneInfo, day_start_hour: int, *, weekly: bool) -> list[datetime]:
    def start_of(day: date) -> datetime:
        return datetime(day.year, day.month, day.day, day_start_hour, tzinfo=zone).astimezone(UTC)

    day = span.start.astimezone(zone).date() - timedelta(days=1)
    if weekly:
        day -= timedelta(days=day.weekday())
    step = timedelta(days=7 if weekly else 1)
    edges: list[datetime] = []
    while not edges or edges[-1] < span.end:
        edges.append(start_of(day))
        day += step
    return edges
