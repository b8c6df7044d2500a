"""Closing station windows: once a minute is over, its time fields (shift, schedules, downtime, run time).

Counts arrive with signals (resolvers.signals.apply); the time fields depend on the calendar and on stops
detected after the fact, so the lease holder computes them when the minute has passed. Every station
that has sent a signal gets one row per minute from its first signal on, silent minutes included.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.calendar import merge
from models.issues import Issue
from models.ranges import TimeRange
from models.signals import StationState
from models.tenancy import Station
from models.timefmt import Clock, utc_now
from models.windows import StationWindow
from resolvers.catalog.calendar import Calendar, calendars
from resolvers.common.bulk_sql import insert_values, update_by_pk, update_values
from resolvers.common.leases import seeding_accounts
from resolvers.windows.minutes import MINUTE, minute_of

# Minutes older than this are not closed any more (a gateway that was down for days does not spend
# its first hour writing empty rows); per tick a station closes at most MAX_MINUTES_PER_TICK minutes.
MAX_CATCHUP = timedelta(hours=24)
MAX_MINUTES_PER_TICK = 60
# Stations per transaction. On SQLite a transaction holds the one connection: signal batches wait for
# it, so the minute's closing for a whole plant goes in short transactions they can run between.
BATCH_STATIONS = 50


async def close_windows(
    *, now: datetime, grace: timedelta, station_ids: Sequence[int] | None = None, clock: Clock = utc_now
) -> int:
    """Close every minute that ended more than `grace` ago; returns how many windows were closed.

    Live (no `station_ids`): every station except those of accounts whose history is being seeded (a
    live close would skip their closed minutes forward to the present). With `station_ids`: those only.
    `clock` is the present the seeding leases are timed by (`now` is the judged moment, which lags
    behind it while ingestion does).
    """
    end = minute_of(now - grace)
    query = StationState.filter(closed_until__lt=end)
    if station_ids is not None:
        query = query.filter(station_id__in=list(station_ids))
    # Read here, right before the query, not once per leader tick: a seeding run that took its lease
    # since the tick began would have its history's minutes closed live (and skipped forward).
    elif seeding := await seeding_accounts(now=clock()):
        query = query.exclude(account_id__in=seeding)
    ids = await query.values_list("id", flat=True)
    closed = 0
    for i in range(0, len(ids), BATCH_STATIONS):
        closed += await _close_batch(list(ids[i : i + BATCH_STATIONS]), end, now)  # type: ignore[arg-type]
    return closed


async def reclose_from(*, station_id: int, since: datetime) -> None:
    """Send the station's closed minutes from `since` on back to closing: a stop covering them was
    entered, ended, excluded or included after they were closed. Call after the issue's transaction
    (issue writers hold the account's revision lock, and signal batches lock state rows before it)
    and after its change is published (subscribers do not wait for this)."""
    first = await StationState.filter(station_id=station_id).values_list("first_signal_at", flat=True)
    if not first:
        return  # no signal yet: nothing closed
    # Not before the first signal's minute: a station has windows from its first signal on.
    start = max(minute_of(since), minute_of(first[0]))  # type: ignore[arg-type]
    await StationState.filter(station_id=station_id, closed_until__gt=start).update(closed_until=start)


async def _close_batch(state_ids: list[int], end: datetime, now: datetime) -> int:
    async with in_transaction() as conn:
        # Locked on their own: Postgres refuses FOR UPDATE over the outer join select_related makes.
        states = await StationState.filter(id__in=state_ids, closed_until__lt=end).select_for_update()
        if not states:
            return 0
        stations = {s.id: s for s in await Station.filter(id__in=[s.station_id for s in states])}
        spans = {s.station_id: _span(s.closed_until, end) for s in states}
        first = min(s.start for s in spans.values())
        last = max(s.end for s in spans.values())
        cals = await calendars(list(stations.values()), TimeRange(first, last))
        stops = await _stops(list(spans), TimeRange(first, last), now)
        existing = await _written(list(spans), TimeRange(first, last))
        created, updated = [], []
        for state in states:
            span = spans[state.station_id]
            # The calendar is expanded once for the station's span; each minute only clips it.
            times = _SpanTimes.of(cals[state.station_id], span)
            mode = stations[state.station_id].downtime_detection_mode
            minute = span.start
            while minute < span.end:
                row = existing.get((state.station_id, minute))
                if row is None:
                    fields = _times(minute, times, stops[state.station_id], _SILENT, mode)
                    created.append((state.account_id, state.station_id, minute, *fields))
                else:
                    updated.append((*_times(minute, times, stops[state.station_id], row, mode), row.id))
                minute += MINUTE
            state.closed_until = span.end
        # Plain values, not models: a catch-up closes tens of thousands of minutes.
        await insert_values(
            conn, StationWindow, ["account_id", "station_id", "window_start_at", *_TIME_FIELDS], created
        )
        await update_values(conn, StationWindow, _TIME_FIELDS, updated)
        await update_by_pk(conn, states, ["closed_until"])
    return len(created) + len(updated)


@dataclass(frozen=True, slots=True)
class _Written:
    """What signals wrote to a minute that its time fields depend on."""

    id: int
    is_alive: bool
    units: int


_SILENT = _Written(0, False, 0)  # a minute no signal has written to


async def _written(station_ids: list[int], span: TimeRange) -> dict[tuple[int, datetime], _Written]:
    rows = await StationWindow.filter(
        station_id__in=station_ids, window_start_at__gte=span.start, window_start_at__lt=span.end
    ).values_list(
        "id", "station_id", "window_start_at", "is_alive", "production_good_count", "production_bad_count"
    )
    return {
        (station_id, start): _Written(id, bool(alive), good + bad)  # type: ignore[operator]
        for id, station_id, start, alive, good, bad in rows
    }


_TIME_FIELDS = [
    "total_ms",
    "shift_ms",
    "scheduled_production_ms",
    "scheduled_non_production_ms",
    "productive_ms",
    "downtime_ms",
    "cycle_time_avg",
]


def _span(closed_until: datetime, end: datetime) -> TimeRange:
    start = max(closed_until, end - MAX_CATCHUP)
    return TimeRange(start, min(end, start + MAX_MINUTES_PER_TICK * MINUTE))


async def _stops(station_ids: list[int], span: TimeRange, now: datetime) -> dict[int, list[TimeRange]]:
    """Non-excluded stop time per station inside the span (ongoing stops until now)."""
    rows = await Issue.filter(
        Q(end_at__isnull=True) | Q(end_at__gt=span.start),
        station_id__in=station_ids,
        type="stop",
        excluded_at__isnull=True,
        start_at__lt=span.end,
    ).values_list("station_id", "start_at", "end_at")
    out: dict[int, list[TimeRange]] = defaultdict(list)
    for station_id, start, end in rows:
        stop_end = end or now  # type: ignore[has-type]
        if stop_end > start:  # type: ignore[operator]
            out[station_id].append(TimeRange(start, stop_end))  # type: ignore[arg-type]
    return {k: merge(v) for k, v in out.items()} | {i: [] for i in station_ids if i not in out}


@dataclass(frozen=True, slots=True)
class _SpanTimes:
    """A station's in-shift, non-production-in-shift and planned time over a span of minutes."""

    shift: list[TimeRange]
    non_production: list[TimeRange]
    planned: list[TimeRange]

    @classmethod
    def of(cls, calendar: Calendar, span: TimeRange) -> _SpanTimes:
        return cls(*calendar.split(span))


def _times(
    start: datetime, times: _SpanTimes, stops: list[TimeRange], written: _Written, mode: str
) -> tuple[int, int, int, int, int, int, float | None]:
    """The minute's time fields, in the order of _TIME_FIELDS."""
    end = start + MINUTE
    shift_ms = _overlap_ms(times.shift, start, end)
    if not shift_ms:
        return 60_000, 0, 0, 0, 0, 0, None  # out of shift (most of a week): no time to split
    non_production_ms = _overlap_ms(times.non_production, start, end)
    production_ms = downtime = 0
    for planned in times.planned:
        # The planned piece inside the minute, then its stop time (as total_ms(intersect(...)) would).
        piece_start, piece_end = max(planned.start, start), min(planned.end, end)
        if piece_end > piece_start:
            production_ms += int((piece_end - piece_start) / _MS)
            downtime += _overlap_ms(stops, piece_start, piece_end)
    # Run time: planned production that was not a stop. A station without detection that said nothing
    # in the minute gives no evidence of running.
    running = written.is_alive or mode != "off"
    productive_ms = max(0, production_ms - downtime) if running else 0
    units = written.units
    cycle_time_avg = (productive_ms / 1000 / units) if units and productive_ms else None
    return 60_000, shift_ms, production_ms, non_production_ms, productive_ms, downtime, cycle_time_avg


_MS = timedelta(milliseconds=1)


def _overlap_ms(ranges: list[TimeRange], start: datetime, end: datetime) -> int:
    """total_ms(intersect(ranges, TimeRange(start, end))) without building the pieces."""
    total = 0
    for r in ranges:
        piece_start, piece_end = max(r.start, start), min(r.end, end)
        if piece_end > piece_start:
            total += int((piece_end - piece_start) / _MS)
    return total
