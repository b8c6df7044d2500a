"""Timer-driven stop and slow detection (SPEC section 7) and live station status.

Runs on the instance holding the detection lease. Each opening re-checks the station under its state
row lock, with the ongoing-issue check in the same transaction: an overlap of two leaders (a lease
taken over while the old holder was still finishing a tick) still opens one issue per stop.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from tortoise import connections
from tortoise.transactions import in_transaction

from models.calendar import contains, total_ms
from models.issues import Issue
from models.ranges import TimeRange
from models.signals import StationState
from models.tenancy import Sku, Station
from models.timefmt import Clock, utc_now
from resolvers.catalog.calendar import Calendar, calendars
from resolvers.common.changes import Change, publish
from resolvers.common.leases import seeding_accounts
from resolvers.issues.system_writes import open_issue, set_cause
from resolvers.signals.state_rows import StateRow, read_states, write_states
from resolvers.windows.minutes import minute_of

log = logging.getLogger(__name__)

DETECTED_MODES = ("production-cycle", "utilisation")
# Planned time is looked for at most this far back: a station silent for longer opens its stop at the
# start of that look-back (it is offline long since; its shift edges bound the downtime anyway).
LOOKBACK = timedelta(days=1)
DEFAULT_MULTIPLIER = 1.5


@dataclass(frozen=True, slots=True)
class SkuRules:
    cycle_time: float | None
    multiplier: float | None


@dataclass(frozen=True, slots=True)
class StationRules:
    """What detection and status read of a station, as plain values (every station, every tick)."""

    id: int
    code: str
    plant_id: int
    group_id: int | None
    downtime_detection_mode: str
    cycle_time: float | None
    downtime_duration_threshold_multiplier: float | None
    utilisation_downtime_threshold: float | None
    slow_duration_threshold: float | None


_RULE_FIELDS = [f.name for f in fields(StationRules)]
AnyStation = Station | StationRules
AnyState = StationState | StateRow


async def _ongoing() -> set[tuple[int, str]]:
    """(station, type) of every ongoing issue. Not filtered by hundreds of station ids (building that
    filter cost more than the query): ongoing issues are few."""
    rows = await Issue.filter(end_at__isnull=True).values_list("station_id", "type")
    return {(int(station_id), str(kind)) for station_id, kind in rows}


async def _live_stations(**filters: object) -> dict[int, StationRules]:
    rows = await Station.filter(archived_at__isnull=True, **filters).values(*_RULE_FIELDS)
    return {int(r["id"]): StationRules(**r) for r in rows}


def stop_threshold(station: AnyStation, sku: SkuRules | None) -> timedelta | None:
    """How long without output is a stop: multiplier x cycle time, SKU values first."""
    if station.downtime_detection_mode == "utilisation":
        minutes = station.utilisation_downtime_threshold
        return timedelta(minutes=minutes) if minutes else None
    cycle = (sku.cycle_time if sku else None) or station.cycle_time
    if not cycle:
        return None
    multiplier = (
        (sku.multiplier if sku else None)
        or station.downtime_duration_threshold_multiplier
        or DEFAULT_MULTIPLIER
    )
    return timedelta(seconds=cycle * multiplier)


def _stop_reference(state: AnyState, mode: str) -> datetime | None:
    """The moment the station stopped, if it has: the last output, or productive going to 0."""
    if mode == "utilisation":
        return state.productive_since if state.productive is False else None
    return state.last_output_at or state.first_signal_at


def _planned_since(calendar: Calendar, since: datetime, now: datetime) -> list[TimeRange]:
    start = max(since, now - LOOKBACK)
    return calendar.planned(TimeRange(start, now)) if now > start else []


def due_issues(
    state: AnyState, station: AnyStation, sku: SkuRules | None, calendar: Calendar, now: datetime
) -> dict[str, datetime]:
    """Issue types whose threshold of planned time has passed, with their start."""
    due: dict[str, datetime] = {}
    threshold = stop_threshold(station, sku)
    reference = _stop_reference(state, station.downtime_detection_mode)
    if threshold is not None and reference is not None:
        planned = _planned_since(calendar, reference, now)
        if planned and total_ms(planned) >= threshold / timedelta(milliseconds=1):
            due["stop"] = planned[0].start
    slow_minutes = station.slow_duration_threshold
    if "stop" not in due and state.slow_since is not None and slow_minutes:
        planned = _planned_since(calendar, state.slow_since, now)
        if planned and total_ms(planned) >= slow_minutes * 60_000:
            due["slow"] = planned[0].start
    return due


async def _sku_rules(states: Sequence[AnyState]) -> dict[int, SkuRules]:
    ids = {s.sku_id for s in states if s.sku_id}
    if not ids:
        return {}
    rows = await Sku.filter(id__in=ids).values_list(
        "id", "cycle_time", "downtime_duration_threshold_multiplier"
    )
    return {int(i): SkuRules(c, m) for i, c, m in rows}  # type: ignore[misc]


@dataclass(slots=True)
class _Snapshot:
    """What a tick judges: live stations, their state rows, ongoing issues, calendars around `now`."""

    stations: dict[int, StationRules]
    states: list[StateRow]
    ongoing: set[tuple[int, str]]
    calendars: dict[int, Calendar]


async def _snapshot(now: datetime, **filters: object) -> _Snapshot:
    stations = await _live_stations(**filters)
    rows = await read_states(connections.get("default"), stations if filters else None)
    states = [s for s in rows.values() if s.station_id in stations]
    ongoing = await _ongoing() if states else set()
    # One calendar span serves detection (look-back) and status (the current second).
    span = TimeRange(now - LOOKBACK, now + timedelta(seconds=1))
    cals = await calendars([stations[s.station_id] for s in states], span) if states else {}
    return _Snapshot(stations, states, ongoing, cals)


async def detect_issues(
    *, now: datetime, station_ids: Sequence[int] | None = None, clock: Clock = utc_now
) -> int:
    """Open every due stop and slow issue of detected stations; returns how many were opened.

    Live (no `station_ids`): every station except those of accounts whose history is being seeded
    (their seeding leases are timed by `clock`, see _detect). With `station_ids`: those stations only,
    at a simulated `now` (the demo history's own detector).
    """
    only = {"id__in": list(station_ids)} if station_ids is not None else {}
    snapshot = await _snapshot(now, downtime_detection_mode__in=DETECTED_MODES, **only)
    return await _detect(snapshot, now, seeding=clock if station_ids is None else None)


async def detect_and_refresh(
    *, now: datetime, offline_after: timedelta, clock: Clock = utc_now
) -> tuple[int, int]:
    """The lease holder's tick: detection, then live status, on one read of every station."""
    snapshot = await _snapshot(now)
    opened = await _detect(snapshot, now, seeding=clock)
    if opened:
        snapshot.ongoing = await _ongoing()  # the stops just opened read `stopped` at once
    return opened, await _refresh(snapshot, now, offline_after)


async def _detect(snapshot: _Snapshot, now: datetime, *, seeding: Clock | None) -> int:
    """Open what is due; with `seeding`, the clock their leases are timed by, leaves out accounts whose
    demo history is being written.

    The leases are read at that clock's present, not at `now`: `now` is the moment stations are judged
    at, behind the present while ingestion lags (or simulated), and a lease is live in real time."""
    skipped = set(await seeding_accounts(now=seeding())) if seeding is not None else set()
    stations = snapshot.stations
    states = [
        s
        for s in snapshot.states
        if stations[s.station_id].downtime_detection_mode in DETECTED_MODES and s.account_id not in skipped
    ]
    if not states:
        return 0
    skus = await _sku_rules(states)
    cals = snapshot.calendars
    due = [
        (state.station_id, kind)
        for state in states
        for kind in due_issues(
            state,
            stations[state.station_id],
            skus.get(state.sku_id) if state.sku_id else None,
            cals[state.station_id],
            now,
        )
        if (state.station_id, kind) not in snapshot.ongoing
    ]
    opened = 0
    for at in range(0, len(due), OPEN_CHUNK):
        opened += await _open(due[at : at + OPEN_CHUNK], cals, now)
    return opened


# Openings per transaction: a plant-wide stop (power cut) opens hundreds at once; one commit per chunk
# instead of per issue, while signal batches still get the database between chunks.
OPEN_CHUNK = 100


async def _open(due: list[tuple[int, str]], cals: dict[int, Calendar], now: datetime) -> int:
    """Re-check each (station, kind) under the state rows' lock and open the issues still due."""
    changes: list[Change] = []
    opened: list[tuple[Issue, str]] = []
    ids = sorted({station_id for station_id, _ in due})
    async with in_transaction() as conn:
        states = await read_states(conn, ids, lock=True)
        stations = await _live_stations(id__in=ids)
        skus = await _sku_rules(list(states.values()))
        ongoing = set(
            await Issue.filter(station_id__in=ids, end_at__isnull=True).values_list("station_id", "type")
        )
        touched: dict[int, StateRow] = {}  # state rows whose pending cause or closed minutes changed
        for station_id, kind in due:
            state, station = states.get(station_id), stations.get(station_id)
            if state is None or station is None or (station_id, kind) in ongoing:
                continue
            sku = skus.get(state.sku_id) if state.sku_id else None
            start = due_issues(state, station, sku, cals[station_id], now).get(kind)
            if start is None:
                continue  # output arrived since the first look
            issue, change = await open_issue(
                account_id=state.account_id,
                station_id=station_id,
                type=kind,
                start_at=start,
                sku_id=state.sku_id,
                now=now,
            )
            changes.append(change)
            opened.append((issue, station.code))
            if kind == "stop" and state.pending_cause_id is not None:
                changes.append(await set_cause(issue=issue, cause_id=state.pending_cause_id))
                state.pending_cause_id = None
                touched[station_id] = state
            if kind == "stop" and state.closed_until > minute_of(start):
                # A stop is detected a threshold after its start: the minutes since were closed without
                # it. The next window closing closes them again, with the stop's downtime.
                state.closed_until = minute_of(start)
                touched[station_id] = state
        await write_states(conn, touched.values(), ["pending_cause_id", "closed_until"])
    for issue, code in opened:
        log.info(
            "opened %s issue %s on station %s from %s", issue.type, issue.id, code, issue.start_at.isoformat()
        )
    for change in changes:
        await publish(change)
    return len(opened)


def status_at_moment(
    state: AnyState, stopped: bool, calendar: Calendar, now: datetime, offline_after: timedelta
) -> str:
    """A station's live status at `now` (the value `resolvers.signals.status` reads back)."""
    if now - state.last_signal_at >= offline_after:
        return "offline"
    if not contains(calendar.planned(TimeRange(now - timedelta(seconds=1), now + timedelta(seconds=1))), now):
        return "idle"
    return "stopped" if stopped else "running"


async def _refresh(snapshot: _Snapshot, now: datetime, offline_after: timedelta) -> int:
    stations, cals = snapshot.stations, snapshot.calendars
    stopped = {station_id for station_id, kind in snapshot.ongoing if kind == "stop"}
    states = snapshot.states
    changed: list[StateRow] = []
    for state in states:
        status = status_at_moment(
            state, state.station_id in stopped, cals[state.station_id], now, offline_after
        )
        if status != state.status:
            state.status, state.status_at = status, now
            changed.append(state)
    if changed:
        # One statement for all: a plant-wide change (start of shift, power cut) moves hundreds at once.
        async with in_transaction() as conn:
            await write_states(conn, changed, ["status", "status_at"])
    for state in changed:
        await publish(Change("station_status", state.account_id, stations[state.station_id].code))
    return len(changed)
