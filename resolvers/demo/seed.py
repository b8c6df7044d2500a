"""POST /api/admin/seedrun/demo: the demo plant layout and a week of history up to now.

The history goes through the live code paths: signals applied with `apply_signals` in time order and
in batches, stops opened by `detect_issues` at the simulated moment the detector would have seen them,
acknowledge / estimate / cause events through `add_issue_event` at their simulated moments, windows
closed by `close_windows` at simulated times. While it runs the account holds the lease
`seed:<account>`, so the live timers (detection, window closing, escalation) leave its stations alone:
a state whose last output is days old would otherwise read as a stop from then to now. Once the history
has reached now the lease is released; its row stays and records when the history ended, which is how a
second call knows there is nothing to do.
"""

from __future__ import annotations

import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise import connections
from tortoise.functions import Sum

from models.calendar import total_ms
from models.issues import Issue, IssueEvent
from models.ranges import TimeRange
from models.roles import Role
from models.signals import Lease, StationState
from models.tenancy import Plant, Sku, Station
from models.timefmt import Clock, utc_now
from models.windows import NonProductionSchedule, ProductionSchedule, StationWindow
from resolvers.catalog.calendar import calendars
from resolvers.catalog.defaults import seed_run
from resolvers.common.actor import Actor
from resolvers.common.bodies import IssueEventIn
from resolvers.common.errors import conflict
from resolvers.common.leases import hold_lease, release_lease, seeding_holder, seeding_lease
from resolvers.common.lookups import by_code
from resolvers.demo.history import Output, StationPlan, Stop, plan_station
from resolvers.demo.layout import GROUPS, demo_layout, demo_week
from resolvers.issues.events import add_issue_event
from resolvers.signals.apply import Signal, apply_signals
from resolvers.signals.detection import SkuRules, detect_issues, stop_threshold
from resolvers.signals.payload import SignalIn
from resolvers.windows.closing import close_windows
from resolvers.windows.minutes import minute_of

log = logging.getLogger(__name__)

LEASE_TTL = timedelta(minutes=2)
# The history ends with its first station in planned time stopped this long: the live board has an
# ongoing stop as soon as the history is written (`andon demo`'s simulator keeps it stopped a while).
STOPPED_AT_END = timedelta(minutes=3)
_MS = timedelta(milliseconds=1)
CLOSE_EVERY = timedelta(hours=1)  # close_windows closes at most an hour per station and call
Progress = Callable[[str], None]
Hook = Callable[[], Awaitable[None]]


@dataclass(slots=True)
class _Run:
    actor: Actor
    stations: list[Station]
    progress: Progress
    hook: Hook | None
    holder: str
    clock: Clock


async def seed_demo(
    *,
    actor: Actor,
    plant_code: str | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    hook: Hook | None = None,
    group_shifts: Mapping[str, list[dict[str, float]]] | None = None,
    clock: Clock = utc_now,
) -> dict[str, int]:
    """Layout plus history (once); answers the counts of the history. `hook` runs between simulated
    hours (tests use it to run the live timers mid-seed). `clock` is the present the history arrives at
    and its lease is timed by (`now` defaults to it): writing takes a while, the present moves on."""
    actor.require(Role.ADMIN)
    now = now or clock()
    say = progress or log.info
    await seed_run(actor=actor)
    plant = await _plant(actor.account_id, plant_code)
    await demo_layout(actor=actor, plant_code=plant.code, now=now, group_shifts=group_shifts)
    codes = [code for _name, group in GROUPS.values() for code in group]
    stations = await Station.filter(account_id=actor.account_id, plant_id=plant.id, code__in=codes).order_by(
        "code"
    )
    ids = [s.id for s in stations]
    lease_name = seeding_lease(actor.account_id)
    record = await Lease.get_or_none(name=lease_name)
    if record is not None and record.expires_at >= clock():
        raise conflict("the demo history of this account is being written right now", "account")
    if record is not None or await StationState.filter(station_id__in=ids).exists():
        # Written before (or the stations have live data, which a replayed week must not overwrite).
        until = record.expires_at if record is not None else now
        return await history_counts(ids, until)
    holder = seeding_holder(actor.account_id)
    if not await hold_lease(name=lease_name, holder=holder, now=clock(), ttl=LEASE_TTL):
        raise conflict("the demo history of this account is being written right now", "account")
    run = _Run(actor, stations, say, hook, holder, clock)
    try:
        await _write_history(run, demo_week(plant, now))
    finally:
        await release_lease(name=lease_name, holder=holder, now=clock())
    record = await Lease.get(name=lease_name)
    return await history_counts(ids, record.expires_at)


async def history_counts(station_ids: list[int], until: datetime) -> dict[str, int]:
    """What the history holds: counted up to its end, so live data added since does not change it."""
    window_end = minute_of(until)
    windows = StationWindow.filter(station_id__in=station_ids, window_start_at__lt=window_end)
    signals = await windows.annotate(n=Sum("signal_count")).first().values_list("n", flat=True)
    issues = Issue.filter(station_id__in=station_ids, start_at__lt=until)
    return {
        "stations": len(station_ids),
        "schedules": await ProductionSchedule.filter(station_id__in=station_ids).count()
        + await NonProductionSchedule.filter(station_id__in=station_ids).count(),
        "signals": int(signals or 0),  # type: ignore[arg-type]
        "windows": await windows.count(),
        "issues": await issues.count(),
        "issueEvents": await IssueEvent.filter(
            issue__station_id__in=station_ids, issue__start_at__lt=until, created_at__lt=until
        ).count(),
    }


async def _plant(account_id: str, plant_code: str | None) -> Plant:
    if plant_code is not None:
        return await by_code(Plant, "plant", account_id=account_id, code=plant_code)
    plant = await Plant.filter(account_id=account_id).order_by("id").first()
    if plant is None:
        raise conflict("the account has no plant to lay the demo out in", "plantCode")
    return plant


async def _plans(stations: list[Station], span: TimeRange) -> tuple[dict[int, StationPlan], int | None]:
    """Every station's plan over `span` (ending now), and the station stopped at the end (None: none
    is in planned time)."""
    now = span.end
    cals = await calendars(stations, span)
    tail = TimeRange(now - STOPPED_AT_END, now)
    stopped: int | None = None
    runs = await ProductionSchedule.filter(
        station_id__in=[s.id for s in stations], planned_end_at__gt=span.start, planned_start_at__lt=span.end
    ).order_by("planned_start_at")
    skus = {s.id: s for s in await Sku.filter(id__in={r.sku_id for r in runs})}
    plans = {}
    for station in stations:
        mine = [
            (
                TimeRange(r.planned_start_at, r.planned_end_at),
                skus[r.sku_id].code,
                _cycle(skus[r.sku_id], station),
            )
            for r in runs
            if r.station_id == station.id
        ]
        if not mine:
            continue
        thresholds = {
            s.code: stop_threshold(station, SkuRules(s.cycle_time, s.downtime_duration_threshold_multiplier))
            or timedelta(minutes=1)
            for s in skus.values()
        }
        end = now - timedelta(seconds=1)
        if stopped is None and total_ms(cals[station.id].planned(tail)) == STOPPED_AT_END // _MS:
            stopped, end = station.id, tail.start  # no output after this: the detector opens the stop
        plans[station.id] = plan_station(
            rng=random.Random(f"{station.code}:{span.start.date()}"),
            planned=cals[station.id].planned(span),
            sku_at=mine,
            threshold_for=thresholds,
            end=end,
        )
    return plans, stopped


def _cycle(sku: Sku, station: Station) -> float:
    return float(sku.cycle_time or station.cycle_time or 30.0)


async def _write_history(run: _Run, span: TimeRange) -> None:
    plans, stopped = await _plans(run.stations, span)
    steps = {station_id: _steps(plan) for station_id, plan in plans.items()}
    total = sum(len(s) for s in steps.values())
    run.progress(f"demo history: {total} steps over {len(plans)} stations")
    ids = [s.id for s in run.stations]
    first = min((s[0][0] for s in steps.values() if s), default=None)
    next_close = minute_of(first) + CLOSE_EVERY if first is not None else span.end
    while any(steps.values()):
        await _play_until(run, steps, next_close)
        if not any(steps.values()):
            break
        await close_windows(now=next_close, grace=timedelta(0), station_ids=ids)
        await _keep_lease(run)
        if next_close.hour == 0:
            left = sum(len(s) for s in steps.values())
            run.progress(f"demo history: {next_close.date()} ({total - left}/{total})")
            await _analyze()
        next_close += CLOSE_EVERY
    await _arrive_now(run, {k: v for k, v in plans.items() if k != stopped})
    real = run.clock()
    if stopped is not None:
        # Opened here, not by the live detector after the lease: the history's counts include it.
        await detect_issues(now=real, station_ids=[stopped])
    while next_close <= real:
        await close_windows(now=next_close, grace=timedelta(0), station_ids=ids)
        next_close += CLOSE_EVERY
    while await close_windows(now=real, grace=timedelta(0), station_ids=ids):
        pass
    run.progress("demo history: done")


# What happens at a station, in time order: (moment, tie-break, signal or stop to detect). At the same
# moment a signal goes before a detection.
_Step = tuple[datetime, int, SignalIn | Stop]


def _steps(plan: StationPlan) -> deque[_Step]:
    steps: list[_Step] = [(output.at, 0, _output_signal(output)) for output in plan.outputs]
    for stop in plan.stops:
        if stop.error_code is not None:
            half = (stop.detect_at - stop.last_output) / 2
            steps.append((stop.last_output + half, 0, SignalIn(error_code=stop.error_code)))
        steps.append((stop.detect_at, 1, stop))
    # Stable: equal keys keep plan order.
    return deque(sorted(steps, key=lambda step: (step[0], step[1])))


async def _play_until(run: _Run, steps: dict[int, deque[_Step]], until: datetime) -> None:
    """Everything before `until`, in rounds: one apply_signals call takes every station's signals up to
    its next stop's detection (the others' only matter to their own station), one detection call opens
    those stops. A station is never detected with signals of after its stop applied, so the stop opens
    as it would have at its own moment."""
    while True:
        signals: list[Signal] = []
        stops: dict[int, Stop] = {}
        for station_id, queue in steps.items():
            stop = _take_segment(queue, until, signals, station_id, run.actor.account_id)
            if stop is not None:
                stops[station_id] = stop
        if not signals and not stops:
            return
        await apply_signals(signals)
        if stops:
            await _detect(run, stops)


def _take_segment(
    queue: deque[_Step], until: datetime, signals: list[Signal], station_id: int, account: str
) -> Stop | None:
    """Move the station's signals before `until` to `signals`, up to its next stop (returned) or its
    next error code. An error code starts a batch: in one batch with the output that ends the previous
    stop, apply_signals would give that stop the code (it names a cause for the stop ongoing when the
    batch starts)."""
    taken = 0
    while queue and queue[0][0] < until:
        at, _order, what = queue[0]
        if isinstance(what, Stop):
            queue.popleft()
            return what
        if what.error_code is not None and taken:
            return None
        queue.popleft()
        signals.append(Signal(account, station_id, at, what))
        taken += 1
    return None


async def _analyze() -> None:
    """Fresh planner statistics for the tables the history fills, once a simulated day.

    Postgres plans a table it has not analysed yet (a new database) from default selectivities: the
    window lookup of apply_signals then reads every row of the stations, tens of milliseconds a call
    by the end of the week, until autovacuum gets round to it. SQLite needs no statistics for those
    lookups."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        tables = ", ".join(f'"{m._meta.db_table}"' for m in (StationWindow, Issue, IssueEvent))
        await conn.execute_script(f"ANALYZE {tables}")


def _output_signal(output: Output) -> SignalIn:
    return SignalIn(
        production_complete_good=output.good, production_complete_bad=output.bad or None, sku=output.sku
    )


async def _keep_lease(run: _Run) -> None:
    await hold_lease(
        name=seeding_lease(run.actor.account_id), holder=run.holder, now=run.clock(), ttl=LEASE_TTL
    )
    if run.hook is not None:
        await run.hook()


async def _detect(run: _Run, stops: dict[int, Stop]) -> None:
    """The detector once for the stations' stops, then what people did about each while it lasted.

    At the latest of their moments: a stop's issue starts at its last output whenever it is detected
    before the station's next output, and none of those has been applied yet."""
    await detect_issues(now=max(s.detect_at for s in stops.values()), station_ids=list(stops))
    ongoing = await Issue.filter(station_id__in=list(stops), type="stop", end_at__isnull=True)
    issues = {issue.station_id: issue for issue in ongoing}
    for station_id, stop in stops.items():
        issue = issues.get(station_id)
        if issue is not None and stop.long and stop.last_output <= issue.start_at <= stop.detect_at:
            await _respond(run, issue, stop)  # else not opened (not due), or not this stop's issue


async def _respond(run: _Run, issue: Issue, stop: Stop) -> None:
    """Acknowledge, estimate and operator cause at their simulated moments, all before the stop ends."""
    rng = random.Random(issue.start_at.isoformat())
    moment = stop.detect_at
    events: list[IssueEventIn] = []
    if stop.acknowledged:
        events.append(IssueEventIn(type="acknowledge", operator="OP"))
        left = (stop.end - moment).total_seconds() / 60
        events.append(IssueEventIn(type="estimate", estimatedTime=max(1, round(left)), operator="OP"))
    if stop.operator_cause is not None:
        events.append(IssueEventIn(type="cause", causeCode=stop.operator_cause, operator="OP"))
    room = (stop.end - moment) / (len(events) + 1)
    for event in events:
        moment += room * rng.uniform(0.3, 1.0)
        await add_issue_event(actor=run.actor, issue_id=issue.id, data=event, now=moment)


async def _arrive_now(run: _Run, plans: dict[int, StationPlan]) -> None:
    """Output at the real present for stations in planned time, so the live detector, taking over, sees a
    station that is running (it would otherwise open a stop from the last simulated output)."""
    real = run.clock()
    cals = await calendars(run.stations, TimeRange(real - timedelta(seconds=1), real + timedelta(seconds=1)))
    arriving = [
        Signal(run.actor.account_id, s.id, real, SignalIn(production_complete_good=1))
        for s in run.stations
        if s.id in plans and cals[s.id].planned(TimeRange(real - timedelta(seconds=1), real))
    ]
    await apply_signals(arriving)
