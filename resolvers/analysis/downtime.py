"""OEE and downtime analysis (SPEC section 8): one result per station (and analysis window).

Time figures come from the calendar (shifts in plant time, non-production schedules) and from issues,
so a future range answers with includefuture; output and cycle times come from station windows summed
in SQL (resolvers.analysis.downtime_reads). The figures of one station and window are assembled in
resolvers.analysis.figures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta

from models.calendar import shift_ranges, shifts_from_json
from models.oee import MAX_BUCKETS, MAX_RESULTS, AggregateWindow, buckets
from models.ranges import RangeError, TimeRange, range_view, resolve_range
from models.roles import Role
from models.tenancy import Plant, Sku, Station
from models.timefmt import utc_now
from resolvers.analysis.downtime_reads import Output, issue_spans, non_production, window_outputs
from resolvers.analysis.figures import StationContext, StationTime, station_result, station_time
from resolvers.common.actor import Actor
from resolvers.common.config_views import View
from resolvers.common.errors import invalid, not_found
from resolvers.common.lookups import by_code

# Explicit intervals are capped by range parsing already; this bound holds for every code.
_MAX_SPAN = timedelta(days=400)


async def downtime_analysis(
    *,
    actor: Actor,
    plant_code: str | None,
    range_code: str | None,
    station_codes: Sequence[str] = (),
    sku_codes: Sequence[str] = (),
    aggregate_window: str = "none",
    include_future: bool = False,
    in_shift_averages: bool = False,
    now: datetime | None = None,
) -> View:
    """`{results: [...], range}` for the plant's stations (or the given ones) over the range."""
    actor.require(Role.READ_ONLY)
    if not plant_code:
        raise invalid("plantcode", "required: the plant whose stations and clock the analysis uses")
    if not range_code:
        raise invalid("rangecode", "required: a range code or an ISO interval")
    if aggregate_window not in ("none", "hour", "day", "week", "shift"):
        raise invalid("aggregatewindow", f"{aggregate_window!r} is not one of none, hour, day, week, shift")
    window: AggregateWindow = aggregate_window  # type: ignore[assignment]  # checked just above
    account = actor.account_id
    now = now or utc_now()
    plant = await by_code(Plant, "plant", account_id=account, code=plant_code)
    stations = await _stations(account, plant, station_codes)
    span = await _span(range_code, plant, stations, now, include_future)
    sku_ids = await _sku_ids(account, sku_codes) if sku_codes else None
    calendars: dict[int | None, tuple[list[TimeRange], list[TimeRange]]] = {}
    contexts = [_context(s, plant, span, window, calendars) for s in stations]
    count = sum(len(ctx.windows) for ctx in contexts)
    if count > MAX_RESULTS:
        raise invalid(
            "aggregatewindow", f"{count} results (stations x windows); at most {MAX_RESULTS}: ask for fewer"
        )
    # The window sums run in the database while the calendar and issue figures are worked out here.
    reading = asyncio.ensure_future(_outputs(account, contexts, sku_ids, in_shift_averages))
    try:
        parts = await _station_times(account, contexts, span, sku_ids, now)
        skus = {k.id: k.cycle_time for k in await Sku.filter(account_id=account)}
        outputs = await reading
    finally:
        # Only reached unfinished when the issue side failed: its error is the one to report.
        reading.cancel()
    results = [
        station_result(ctx, part, outputs.get((ctx.station.id, index), []), skus)
        for ctx, index, part in parts
    ]
    return {"results": results, "range": range_view(span)}


async def _outputs(
    account: str, contexts: Sequence[StationContext], sku_ids: list[int] | None, in_shift: bool
) -> dict[tuple[int, int], list[Output]]:
    """Window sums per (station id, window index); one query per distinct list of windows."""
    outputs: dict[tuple[int, int], list[Output]] = {}
    for windows, members in _grouped(contexts):
        outputs.update(
            await window_outputs(
                account_id=account,
                station_ids=members,
                windows=windows,
                sku_ids=sku_ids,
                in_shift_cycle_times=in_shift,
            )
        )
    return outputs


async def _station_times(
    account: str,
    contexts: Sequence[StationContext],
    span: TimeRange,
    sku_ids: list[int] | None,
    now: datetime,
) -> list[tuple[StationContext, int, StationTime]]:
    ids = [ctx.station.id for ctx in contexts]
    if not ids:
        return []
    by_id = {ctx.station.id: ctx for ctx in contexts}
    for found in await issue_spans(account_id=account, station_ids=ids, span=span, sku_ids=sku_ids):
        by_id[found.station_id].issues.append(found)
    for entry in await non_production(account_id=account, station_ids=ids, span=span):
        by_id[entry.station_id].non_production.append(entry)
    return [
        (ctx, index, station_time(ctx, bucket, now))
        for ctx in contexts
        for index, bucket in enumerate(ctx.windows)
    ]


async def _stations(account: str, plant: Plant, codes: Sequence[str]) -> list[Station]:
    query = Station.filter(account_id=account, plant_id=plant.id)
    if codes:
        rows = {s.code: s for s in await query.filter(code__in=list(codes)).select_related("group")}
        unknown = [c for c in codes if c not in rows]
        if unknown:
            raise not_found(f"station in plant {plant.code}", ", ".join(unknown))
        return [rows[c] for c in codes]
    # Archived stations are analysed only when asked for by code.
    return list(await query.filter(archived_at__isnull=True).order_by("code").select_related("group"))


async def _span(
    range_code: str, plant: Plant, stations: Sequence[Station], now: datetime, include_future: bool
) -> TimeRange:
    groups = {s.group_id for s in stations}
    shifts = []
    if "shift" in range_code and len(groups) == 1 and stations and stations[0].group is not None:
        shifts = shifts_from_json(stations[0].group.shifts)
    try:
        span = resolve_range(
            range_code, now=now, timezone=plant.timezone, day_start_hour=plant.day_start_hour, shifts=shifts
        )
    except RangeError as exc:
        raise invalid("rangecode", str(exc)) from None
    if span.end - span.start > _MAX_SPAN:
        raise invalid("rangecode", f"the analysis covers at most {_MAX_SPAN.days} days")
    if not include_future and span.end > now:
        # Without includefuture the range stops at now (an empty range when it starts later).
        span = TimeRange(span.start, max(span.start, now))
    return span


async def _sku_ids(account: str, codes: Sequence[str]) -> list[int]:
    rows = {k.code: k.id for k in await Sku.filter(account_id=account, code__in=list(codes))}
    unknown = [c for c in codes if c not in rows]
    if unknown:
        raise not_found("SKU", ", ".join(unknown))
    return list(rows.values())


def _context(
    station: Station,
    plant: Plant,
    span: TimeRange,
    window: AggregateWindow,
    calendars: dict[int | None, tuple[list[TimeRange], list[TimeRange]]],
) -> StationContext:
    """The station's in-shift time and analysis windows; stations of one group share them (`calendars`)."""
    calendar = calendars.get(station.group_id)
    if calendar is None:
        shifts = shifts_from_json(station.group.shifts) if station.group is not None else []
        windows = buckets(
            window, span, timezone=plant.timezone, day_start_hour=plant.day_start_hour, shifts=shifts
        )
        if len(windows) > MAX_BUCKETS:
            raise invalid("aggregatewindow", f"{len(windows)} windows per station; at most {MAX_BUCKETS}")
        calendar = calendars[station.group_id] = (shift_ranges(shifts, plant.timezone, span), windows)
    in_shift, windows = calendar
    return StationContext(
        station=station, in_shift=in_shift, windows=windows, in_shift_ends=[r.end for r in in_shift]
    )


def _grouped(contexts: Sequence[StationContext]) -> list[tuple[list[TimeRange], list[int]]]:
    """Stations that share their list of analysis windows are read by one query."""
    groups: dict[tuple[TimeRange, ...], list[int]] = {}
    for ctx in contexts:
        groups.setdefault(tuple(ctx.windows), []).append(ctx.station.id)
    return [(list(windows), ids) for windows, ids in groups.items()]
