"""What the downtime analysis reads: window aggregates (SQL GROUP BY), issues, causes, schedules.

Windows are summed in the database, grouped by station, analysis window and SKU, so the rows that
reach Python are a handful per station and window whatever the number of minutes. The analysis
windows travel as a VALUES list joined on `window_start_at` (one index range scan per window).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise import connections

from models.ranges import TimeRange
from models.timefmt import db_moment


@dataclass(slots=True)
class Output:
    """Summed windows of one station, one analysis window, one SKU (None: no SKU recorded)."""

    sku_id: int | None
    good: int
    bad: int
    planned_ms: int
    # Σ cycleTimeAvg x units over the windows that count for cycle times, and those units.
    cycle_weighted: float
    cycle_units: int
    cycle_min: float | None
    cycle_max: float | None


@dataclass(slots=True)
class IssueSpan:
    id: int
    station_id: int
    type: str
    start: datetime
    end: datetime | None
    excluded: bool
    cause_code: str | None = None
    cause_description: str | None = None


@dataclass(slots=True)
class NonProduction:
    station_id: int
    span: TimeRange
    code: str
    description: str


_UNITS = "(w.production_good_count + w.production_bad_count)"


def _placeholders(dialect: str) -> Any:
    if dialect == "postgres":
        return lambda n, cast="": f"${n}::{cast}" if cast else f"${n}"
    return lambda n, cast="": "?"


async def window_outputs(
    *,
    account_id: str,
    station_ids: Sequence[int],
    windows: Sequence[TimeRange],
    sku_ids: Sequence[int] | None,
    in_shift_cycle_times: bool,
) -> dict[tuple[int, int], list[Output]]:
    """(station id, index of the analysis window) → its outputs per SKU."""
    if not station_ids or not windows:
        return {}
    conn = connections.get("default")
    ph = _placeholders(conn.capabilities.dialect)
    params: list[Any] = []

    def bind(value: Any, cast: str = "") -> str:
        params.append(value)
        return str(ph(len(params), cast))

    # A window's cycleTimeAvg is null without output, so it alone says whether the window counts.
    cycle = (
        "CASE WHEN w.shift_ms > 0 THEN w.cycle_time_avg END" if in_shift_cycle_times else "w.cycle_time_avg"
    )
    # `?` placeholders bind in textual order: the VALUES list (in the FROM clause) binds first.
    bucket, join, where = "0", "", []
    if len(windows) > 1:
        rows = ", ".join(
            f"({i}, {bind(r.start, 'timestamptz')}, {bind(r.end, 'timestamptz')})"
            for i, r in enumerate(windows)
        )
        bucket = "b.column1"
        join = (
            f"JOIN (VALUES {rows}) AS b ON w.window_start_at >= b.column2 AND w.window_start_at < b.column3"
        )
    where.append(f"w.account_id = {bind(account_id)}")
    where.append(f"w.station_id IN ({', '.join(bind(i) for i in station_ids)})")
    if sku_ids is not None:
        where.append(f"w.sku_id IN ({', '.join(bind(i) for i in sku_ids)})" if sku_ids else "1 = 0")
    if len(windows) == 1:
        where.append(f"w.window_start_at >= {bind(windows[0].start, 'timestamptz')}")
        where.append(f"w.window_start_at < {bind(windows[0].end, 'timestamptz')}")
    sql = (
        f"SELECT w.station_id, {bucket} AS bucket, w.sku_id, SUM(w.production_good_count),"
        f" SUM(w.production_bad_count), SUM(w.scheduled_production_ms), SUM({cycle} * {_UNITS}),"
        f" SUM(CASE WHEN {cycle} IS NOT NULL THEN {_UNITS} END), MIN({cycle}), MAX({cycle})"
        f" FROM station_window w {join} WHERE {' AND '.join(where)}"
        # A literal in GROUP BY would name a column position: the single window is not grouped on.
        f" GROUP BY w.station_id, {'' if join == '' else 'b.column1, '}w.sku_id"
    )
    _, rows_out = await conn.execute_query(sql, params)
    found: dict[tuple[int, int], list[Output]] = {}
    for row in rows_out:
        values = list(row.values()) if hasattr(row, "values") else list(row)
        station_id, index, sku_id, good, bad, planned, weighted, units, low, high = values
        found.setdefault((int(station_id), int(index)), []).append(
            Output(
                sku_id=sku_id,
                good=int(good or 0),
                bad=int(bad or 0),
                planned_ms=int(planned or 0),
                cycle_weighted=float(weighted or 0.0),
                cycle_units=int(units or 0),
                cycle_min=None if low is None else float(low),
                cycle_max=None if high is None else float(high),
            )
        )
    return found


async def issue_spans(
    *, account_id: str, station_ids: Sequence[int], span: TimeRange, sku_ids: Sequence[int] | None
) -> list[IssueSpan]:
    """Stop and slow issues open at any moment of `span`, with their latest cause.

    Plain SQL: thousands of issues per month of a plant, and model instances would cost more than
    the figures made from them.
    """
    conn = connections.get("default")
    ph = _placeholders(conn.capabilities.dialect)
    params: list[Any] = []

    def bind(value: Any, cast: str = "") -> str:
        params.append(value)
        return str(ph(len(params), cast))

    where = (
        f"i.account_id = {bind(account_id)} AND i.station_id IN ({', '.join(bind(i) for i in station_ids)})"
        f" AND i.start_at < {bind(span.end, 'timestamptz')}"
        f" AND (i.end_at IS NULL OR i.end_at > {bind(span.start, 'timestamptz')})"
    )
    if sku_ids is not None:
        where += f" AND i.sku_id IN ({', '.join(bind(i) for i in sku_ids)})" if sku_ids else " AND 1 = 0"
    issue_sql = (
        "SELECT i.id, i.station_id, i.type, i.start_at, i.end_at, i.excluded_at"
        f" FROM issue i WHERE {where} AND i.type IN ('stop', 'slow')"
    )
    _, rows = await conn.execute_query(issue_sql, params)
    if not rows:
        return []
    # The same issues' cause events, oldest first: the last one seen per issue is its cause.
    cause_sql = (
        "SELECT e.issue_id, c.code, c.description FROM issue_event e"
        " JOIN issue i ON i.id = e.issue_id JOIN cause c ON c.id = e.cause_id"
        f" WHERE {where} AND e.type = 'cause' ORDER BY e.id"
    )
    _, events = await conn.execute_query(cause_sql, params)
    latest = {int(e[0]): (e[1], e[2]) for e in events}
    found = []
    for r in rows:
        issue_id, station_id, kind, start, end, excluded = tuple(r)
        code, description = latest.get(int(issue_id), (None, None))
        found.append(
            IssueSpan(
                int(issue_id),
                int(station_id),
                kind,
                db_moment(start),
                db_moment(end),
                excluded is not None,
                code,
                description,
            )
        )
    return found


async def non_production(
    *, account_id: str, station_ids: Sequence[int], span: TimeRange
) -> list[NonProduction]:
    """Non-production schedule entries overlapping `span`, clipped to it (plain SQL, as issues)."""
    conn = connections.get("default")
    ph = _placeholders(conn.capabilities.dialect)
    params: list[Any] = [account_id, *station_ids, span.end, span.start]
    stations = ", ".join(ph(n) for n in range(2, len(station_ids) + 2))
    upper, lower = len(station_ids) + 2, len(station_ids) + 3
    sql = (
        "SELECT n.station_id, n.planned_start_at, n.planned_end_at, r.code, r.description"
        " FROM non_production_schedule n JOIN non_production_reason r ON r.id = n.reason_id"
        f" WHERE n.account_id = {ph(1)} AND n.station_id IN ({stations})"
        f" AND n.planned_start_at < {ph(upper, 'timestamptz')} AND n.planned_end_at > {ph(lower, 'timestamptz')}"
    )
    _, rows = await conn.execute_query(sql, params)
    found = []
    for row in rows:
        station_id, start, end, code, description = tuple(row)
        clipped = TimeRange(max(db_moment(start), span.start), min(db_moment(end), span.end))
        found.append(NonProduction(int(station_id), clipped, code, description))
    return found
