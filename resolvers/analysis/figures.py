"""The figures of one station over one analysis window (SPEC section 8), from already-read rows.

Loops here run over issues, schedule entries and calendar ranges of one station, never over minutes.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import NamedTuple

from models.durations import format_duration
from models.oee import cost, count2, oee_percent, percent
from models.ranges import TimeRange, range_view
from models.tenancy import Station
from resolvers.analysis.downtime_reads import IssueSpan, NonProduction, Output
from resolvers.common.config_views import View

UNREPORTED = "unreported"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


class Span(NamedTuple):
    """[start, end) in UTC like TimeRange, without its checks: the per-issue loops make many."""

    start: datetime
    end: datetime


@dataclass(slots=True)
class StationContext:
    station: Station
    # In-shift time of the whole range, merged.
    in_shift: list[TimeRange]
    windows: list[TimeRange]
    issues: list[IssueSpan] = field(default_factory=list)
    in_shift_ends: list[datetime] = field(default_factory=list)
    non_production: list[NonProduction] = field(default_factory=list)


@dataclass(slots=True)
class _Time:
    """Calendar and stop figures of one window, in ms."""

    in_shift: list[Span]
    planned: list[Span]
    non_production_by_reason: dict[str, tuple[str, int]]
    stops_by_cause: dict[str, tuple[str, int]]
    stop_pieces: list[Span]
    stops_count: int

    @property
    def shift_ms(self) -> int:
        return _span_ms(self.in_shift)

    @property
    def planned_ms(self) -> int:
        return _span_ms(self.planned)

    @property
    def stopped_ms(self) -> int:
        return sum(ms for _, ms in self.stops_by_cause.values())


@dataclass(slots=True)
class StationTime:
    """What one station and window owe to the calendar and issues alone (no window rows)."""

    window: TimeRange
    time: _Time
    downtimes: list[View]


def station_time(ctx: StationContext, window: TimeRange, now: datetime) -> StationTime:
    # Excluded issues are neither downtime nor loss; the others are cut to the window once.
    cut = [
        (issue, span)
        for issue in ctx.issues
        if not issue.excluded and (span := _issue_range(issue, window, now))
    ]
    time = _time(ctx, window, cut)
    return StationTime(window, time, _downtimes(ctx, window, time, cut))


def station_result(
    ctx: StationContext, part: StationTime, outputs: Sequence[Output], sku_cycle: dict[int, float | None]
) -> View:
    station, window, time = ctx.station, part.window, part.time
    rate = _ideal_rate(station, outputs, sku_cycle)
    return {
        "stationCode": station.code,
        "stationName": station.name,
        "stationGroupCode": station.group.code if station.group else None,
        "stationGroupName": station.group.name if station.group else None,
        "range": range_view(window),
        "reliabilityData": _reliability(time),
        "cycleTimeAnalysis": _cycle_times(station, outputs, rate),
        "oee": _oee(station, window, time, outputs, rate),
        "downtimes": part.downtimes,
    }


def _issue_range(issue: IssueSpan, window: TimeRange, now: datetime) -> Span | None:
    """The issue clipped to the window; an ongoing one runs until now."""
    end = issue.end if issue.end is not None else max(now, issue.start)
    start, stop = max(issue.start, window.start), min(end, window.end)
    return Span(start, stop) if stop > start else None


def _time(ctx: StationContext, window: TimeRange, cut: list[tuple[IssueSpan, Span]]) -> _Time:
    in_shift = _within(ctx.in_shift, ctx.in_shift_ends, Span(window.start, window.end))
    shift_ends = [r.end for r in in_shift]
    by_reason: dict[str, tuple[str, int]] = {}
    np_spans = []
    for entry in ctx.non_production:
        clipped = _clip(entry.span, window)
        if clipped is None:
            continue
        np_spans.append(clipped)
        ms = _span_ms(_within(in_shift, shift_ends, clipped))
        if ms:
            description, before = by_reason.get(entry.code, (entry.description, 0))
            by_reason[entry.code] = (description, before + ms)
    planned = _without(in_shift, _merged(np_spans))
    ends = [r.end for r in planned]
    by_cause: dict[str, tuple[str, int]] = {}
    pieces: list[Span] = []
    count = 0
    last = len(planned)
    for issue, stop in cut:
        if issue.type != "stop":
            continue
        # The stop's parts inside planned production (sorted, merged): found by bisection.
        ms = 0
        index = bisect_right(ends, stop.start)
        while index < last and planned[index].start < stop.end:
            part = Span(max(planned[index].start, stop.start), min(planned[index].end, stop.end))
            pieces.append(part)
            ms += (part.end - part.start) // _MS
            index += 1
        if not ms:
            continue
        count += 1
        code = issue.cause_code or UNREPORTED
        description, before = by_cause.get(code, (issue.cause_description or "Unreported", 0))
        by_cause[code] = (description, before + ms)
    return _Time(in_shift, planned, by_reason, by_cause, _merged(pieces), count)


def _within(ranges: Sequence[TimeRange | Span], ends: list[datetime], span: Span) -> list[Span]:
    """The parts of sorted, merged `ranges` (their `ends` alongside) inside `span`, found by bisection."""
    out = []
    for index in range(bisect_right(ends, span.start), len(ranges)):
        r = ranges[index]
        if r.start >= span.end:
            break
        out.append(Span(max(r.start, span.start), min(r.end, span.end)))
    return out


def _merged(spans: Sequence[Span]) -> list[Span]:
    out: list[Span] = []
    for s in sorted(spans):
        if out and s.start <= out[-1].end:
            if s.end > out[-1].end:
                out[-1] = Span(out[-1].start, s.end)
        else:
            out.append(s)
    return out


def _without(ranges: Sequence[TimeRange | Span], cuts: Sequence[TimeRange | Span]) -> list[Span]:
    """Sorted, merged `ranges` minus sorted, merged `cuts`, in one sweep over both."""
    out: list[Span] = []
    index = 0
    for r in ranges:
        start = r.start
        while index < len(cuts) and cuts[index].end <= start:
            index += 1
        probe = index
        while probe < len(cuts) and cuts[probe].start < r.end:
            if cuts[probe].start > start:
                out.append(Span(start, cuts[probe].start))
            start = max(start, cuts[probe].end)
            probe += 1
        if start < r.end:
            out.append(Span(start, r.end))
    return out


def _clip(span: TimeRange, window: TimeRange) -> Span | None:
    start, end = max(span.start, window.start), min(span.end, window.end)
    return Span(start, end) if end > start else None


def _span_ms(spans: Sequence[TimeRange | Span]) -> int:
    return sum((s.end - s.start) // _MS for s in spans)


def _ideal_rate(
    station: Station, outputs: Sequence[Output], sku_cycle: dict[int, float | None]
) -> float | None:
    """Units per second at the ideal cycle time: the SKU's (else the station's) cycle time, weighted by
    the planned-production time each SKU ran; the station's when no window says."""
    weight = units = 0.0
    for out in outputs:
        cycle = (sku_cycle.get(out.sku_id) if out.sku_id is not None else None) or station.cycle_time
        if cycle and out.planned_ms > 0:
            weight += out.planned_ms
            units += out.planned_ms / cycle
    if weight > 0:
        return units / weight
    return 1 / station.cycle_time if station.cycle_time else None


def _reliability(time: _Time) -> View:
    running = _without(time.planned, time.stop_pieces)
    run_ms, stopped = _span_ms(running), time.stopped_ms
    stops = time.stops_count
    return {
        "runningsCount": len(running),
        "stopsCount": stops,
        "totalRunningTime": run_ms,
        "totalStoppedTime": stopped,
        "mtbf": run_ms // stops if stops else None,
        "mttr": stopped // stops if stops else None,
    }


def _cycle_times(station: Station, outputs: Sequence[Output], rate: float | None) -> View:
    units = sum(o.cycle_units for o in outputs)
    lows = [o.cycle_min for o in outputs if o.cycle_min is not None]
    highs = [o.cycle_max for o in outputs if o.cycle_max is not None]
    figures: View = {
        "avg": round(sum(o.cycle_weighted for o in outputs) / units, 2) if units else None,
        "min": round(min(lows), 2) if lows else None,
        "max": round(max(highs), 2) if highs else None,
        "quantity": units,
    }
    return {
        **figures,
        "default": round(1 / rate, 2) if rate else None,
        "stations": [{"stationCode": station.code, "stationName": station.name, **figures}],
    }


def _oee(
    station: Station, window: TimeRange, time: _Time, outputs: Sequence[Output], rate: float | None
) -> View:
    schedule_ms, shift_ms, planned_ms = window.duration_ms, time.shift_ms, time.planned_ms
    stopped = time.stopped_ms
    good, bad = sum(o.good for o in outputs), sum(o.bad for o in outputs)
    target = (planned_ms - stopped) / 1000 * rate if rate is not None else None
    availability = percent(planned_ms - stopped, planned_ms)
    performance = percent(good + bad, target) if target is not None else None
    quality = percent(good, good + bad)
    cost_rate = station.idle_cost_per_minute
    return {
        "scheduleDuration": schedule_ms,
        "scheduleLossDuration": schedule_ms - shift_ms,
        "schedulePerc": percent(shift_ms, schedule_ms),
        "productionScheduleDuration": shift_ms,
        "productionScheduleLossDuration": shift_ms - planned_ms,
        "productionSchedulePerc": percent(planned_ms, shift_ms),
        "availabilityDuration": planned_ms,
        "availabilityLossDuration": stopped,
        "availabilityPerc": availability,
        "performanceTargetCount": count2(target) if target is not None else None,
        "performanceTargetLossCount": count2(max(0.0, target - good - bad)) if target is not None else None,
        "performanceTargetPerc": performance,
        "goodQualityCount": good,
        "goodQualityLossCount": bad,
        "goodQualityPerc": quality,
        "scheduledNonProduction": _breakdown(time.non_production_by_reason, shift_ms, cost_rate),
        "stops": _breakdown(time.stops_by_cause, planned_ms, cost_rate),
        "oee": oee_percent(availability, performance, quality),
    }


def _breakdown(rows: dict[str, tuple[str, int]], base_ms: int, cost_rate: float | None) -> list[View]:
    ordered = sorted(rows.items(), key=lambda item: (-item[1][1], item[0]))
    return [
        {
            "code": code,
            "description": description,
            "duration": ms,
            "cost": cost(ms, cost_rate),
            "percent": percent(ms, base_ms),
        }
        for code, (description, ms) in ordered
    ]


def _downtimes(
    ctx: StationContext, window: TimeRange, time: _Time, cut: list[tuple[IssueSpan, Span]]
) -> list[View]:
    code = ctx.station.code
    found: list[tuple[datetime, str, str, TimeRange | Span]] = [
        (span.start, issue.type, issue.cause_code or UNREPORTED, span) for issue, span in cut
    ]
    for entry in ctx.non_production:
        np_clipped = _clip(entry.span, window)
        if np_clipped is not None:
            found.append((np_clipped.start, "scheduled-non-production", entry.code, np_clipped))
    found.extend((gap.start, "no-shift", "no-shift", gap) for gap in _without([window], time.in_shift))
    found.sort(key=lambda item: (item[0], item[1]))
    views = []
    for _, kind, reason, span in found:
        view = _range_view(span.start, span.end)
        views.append(
            {
                "type": kind,
                "stationCode": code,
                "reasonCode": reason,
                "startTimestamp": view["from"],
                "endTimestamp": view["to"],
                "range": view,
            }
        )
    return views


def _range_view(start: datetime, end: datetime) -> View:
    """models.ranges.range_view of [start, end), built without a TimeRange (thousands per answer)."""
    start_ms, end_ms = (start - _EPOCH) // _MS, (end - _EPOCH) // _MS
    return {
        "from": start_ms,
        "to": end_ms,
        "duration": end_ms - start_ms,
        "fromIso": _iso(start_ms),
        "toIso": _iso(end_ms),
        "durationFormatted": _formatted(end_ms - start_ms),
    }


def _iso(ms: int) -> str:
    """models.timefmt.iso_ms of epoch ms: the text up to the minute is worked out once per minute."""
    minute, in_minute = divmod(ms, 60_000)
    return f"{_minute_prefix(minute)}{in_minute // 1000:02d}.{in_minute % 1000:03d}Z"


@lru_cache(maxsize=65_536)
def _minute_prefix(minute: int) -> str:
    return (_EPOCH + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:")


# Stop lengths repeat: the words for a duration are worked out once.
_formatted = lru_cache(maxsize=4096)(format_duration)
