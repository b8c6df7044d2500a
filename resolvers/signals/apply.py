"""Applying station signals: running state, per-minute window counts, stops ended by output, error codes.

One call applies a batch in one transaction: the station state rows are locked for update, so batches
from several gateway instances apply one after another and agree on running totals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models.issues import Cause, Issue
from models.signals import StationState
from models.tenancy import Sku
from resolvers.common.bulk_sql import select_in
from resolvers.common.changes import Change, publish
from resolvers.issues.system_writes import record_end, set_cause
from resolvers.signals.payload import MAX_UNITS_PER_SIGNAL, SignalIn
from resolvers.signals.state_rows import StateRow, read_states, write_states
from resolvers.signals.stats import STATS
from resolvers.windows.minutes import minute_of


@dataclass(frozen=True, slots=True)
class Signal:
    """A validated signal of a known station at a known moment."""

    account_id: str
    station_id: int
    at: datetime
    data: SignalIn


@dataclass(slots=True)
class _Minute:
    """What a batch adds to one station's minute."""

    good: int = 0
    bad: int = 0
    kwh: float | None = None
    speed_sum: float = 0.0
    speed_n: int = 0
    rssi_sum: float = 0.0
    rssi_n: int = 0
    signals: int = 0
    sku_id: int | None = None


@dataclass(slots=True)
class _Effects:
    """Per station: moments of output and of productive going to 1, causes named, in batch order."""

    outputs: list[tuple[datetime, bool]] = field(default_factory=list)  # (moment, at speed)
    productive_on: list[datetime] = field(default_factory=list)
    causes: list[tuple[datetime, int]] = field(default_factory=list)  # (moment named, cause)


async def apply_signals(signals: Sequence[Signal]) -> int:
    """Apply the batch; returns how many signals were applied. Publishes issue changes after commit."""
    if not signals:
        return 0
    ordered = sorted(signals, key=lambda s: (s.station_id, s.at))
    station_ids = sorted({s.station_id for s in ordered})
    skus, causes = await _codes(ordered)
    changes: list[Change] = []
    async with in_transaction() as conn:
        states = await _locked_states(conn, ordered, station_ids)
        stations = await _station_rules(conn, station_ids)
        cycle = await _ideal_cycle_times(stations, states)
        minutes: dict[tuple[int, datetime], _Minute] = {}
        effects: dict[int, _Effects] = {}
        for signal in ordered:
            state = states[signal.station_id]
            bucket = minutes.setdefault((signal.station_id, minute_of(signal.at)), _Minute())
            effect = effects.setdefault(signal.station_id, _Effects())
            _step(state, signal, bucket, effect, skus, causes, cycle.get(signal.station_id))
        await _write_minutes(conn, minutes, {s.station_id: s.account_id for s in ordered})
        changes = await _issue_effects(effects, states, stations)  # may clear a pending cause
        await write_states(conn, states.values(), _STATE_FIELDS)
    for change in changes:
        await publish(change)
    STATS.applied += len(ordered)
    return len(ordered)


_STATE_FIELDS = [
    "last_signal_at",
    "count_good_total",
    "count_bad_total",
    "totals_at",
    "kwh_total",
    "last_output_at",
    "productive",
    "productive_since",
    "slow_since",
    "sku_id",
    "pending_cause_id",
]


async def _codes(signals: Sequence[Signal]) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
    """SKU and cause ids for the codes the batch names, per account."""
    accounts = {s.account_id for s in signals}
    sku_codes = {s.data.sku for s in signals if s.data.sku}
    cause_codes = {s.data.error_code for s in signals if s.data.error_code}
    skus: dict[tuple[str, str], int] = {}
    causes: dict[tuple[str, str], int] = {}
    if sku_codes:
        for row in await Sku.filter(account_id__in=accounts, code__in=sku_codes).values(
            "id", "account_id", "code"
        ):
            skus[(row["account_id"], row["code"])] = row["id"]
    if cause_codes:
        rows = await Cause.filter(account_id__in=accounts, code__in=cause_codes).values(
            "id", "account_id", "code"
        )
        for row in rows:
            causes[(row["account_id"], row["code"])] = row["id"]
    return skus, causes


async def _locked_states(
    conn: BaseDBAsyncClient, signals: Sequence[Signal], station_ids: list[int]
) -> dict[int, StateRow]:
    """The stations' state rows, locked until commit; created on a station's first signal."""
    states = await read_states(conn, station_ids, lock=True)
    missing = [i for i in station_ids if i not in states]
    if missing:
        first: dict[int, Signal] = {}
        for s in signals:
            first.setdefault(s.station_id, s)
        # One insert for all (a fleet's first messages); a row another instance created meanwhile wins.
        new_rows = [
            StationState(
                station_id=station_id,
                account_id=first[station_id].account_id,
                first_signal_at=first[station_id].at,
                last_signal_at=first[station_id].at,
                closed_until=minute_of(first[station_id].at),
                # What it read before its first signal; the timer publishes the change to running.
                status="offline",
            )
            for station_id in missing
        ]
        await StationState.bulk_create(new_rows, ignore_conflicts=True, using_db=conn)
        states.update(await read_states(conn, missing, lock=True))
    return states


@dataclass(frozen=True, slots=True)
class _Rules:
    cycle_time: float | None
    mode: str


async def _station_rules(conn: BaseDBAsyncClient, station_ids: list[int]) -> dict[int, _Rules]:
    """Plain values, not models: a batch touches hundreds of stations."""
    sql = 'SELECT "id", "cycle_time", "downtime_detection_mode" FROM "station"'
    rows = await select_in(conn, sql, "id", station_ids)
    return {int(r["id"]): _Rules(r["cycle_time"], str(r["downtime_detection_mode"])) for r in rows}


async def _ideal_cycle_times(stations: dict[int, _Rules], states: dict[int, StateRow]) -> dict[int, float]:
    """Seconds per unit: the running SKU's cycle time first, the station's second."""
    sku_ids = {s.sku_id for s in states.values() if s.sku_id}
    sku_cycle = dict(await Sku.filter(id__in=sku_ids).values_list("id", "cycle_time")) if sku_ids else {}
    out: dict[int, float] = {}
    for station_id, station in stations.items():
        state = states.get(station_id)
        value = sku_cycle.get(state.sku_id) if state and state.sku_id else None
        value = value or station.cycle_time
        if value:
            out[station_id] = float(value)
    return out


def _running_total(previous: int | None, total: int) -> int:
    """Units a running total adds: none for the first (a baseline), the total itself after a reset.
    More than one signal may carry (MAX_UNITS_PER_SIGNAL) is no production but a replaced or garbled
    counter: the new total is a fresh baseline. Counted, it would also overflow the window's count."""
    if previous is None:
        return 0
    added = total - previous if total >= previous else total
    return added if added <= MAX_UNITS_PER_SIGNAL else 0


def _step(
    state: StateRow,
    signal: Signal,
    bucket: _Minute,
    effect: _Effects,
    skus: dict[tuple[str, str], int],
    causes: dict[tuple[str, str], int],
    cycle_time: float | None,
) -> None:
    data, at = signal.data, signal.at
    new_good, new_bad = _totals(state, data, at)
    good = (data.production_complete_good or 0) + new_good
    bad = (data.production_complete_bad or 0) + new_bad
    bucket.good += good
    bucket.bad += bad
    bucket.signals += 1
    _energy(state, data, bucket)
    if data.line_speed is not None:
        bucket.speed_sum += data.line_speed
        bucket.speed_n += 1
    if data.rssi is not None:
        bucket.rssi_sum += data.rssi
        bucket.rssi_n += 1
    if good + bad > 0:
        _output(state, at, effect, cycle_time)
    if data.productive is not None and data.productive != state.productive:
        state.productive = data.productive
        state.productive_since = at
        if data.productive:
            effect.productive_on.append(at)
    _named_codes(state, signal, skus, causes, effect)
    bucket.sku_id = state.sku_id
    if at > state.last_signal_at:
        state.last_signal_at = at


def _named_codes(
    state: StateRow,
    signal: Signal,
    skus: dict[tuple[str, str], int],
    causes: dict[tuple[str, str], int],
    effect: _Effects,
) -> None:
    """SKU changeover and error code; unknown codes are counted and dropped."""
    data = signal.data
    if data.sku is not None:
        sku_id = skus.get((signal.account_id, data.sku))
        if sku_id is None:
            STATS.drop("unknown_sku", f"station {signal.station_id}", f"no SKU {data.sku!r}")
        else:
            state.sku_id = sku_id
    if data.error_code is not None:
        cause_id = causes.get((signal.account_id, data.error_code))
        if cause_id is None:
            STATS.drop("unknown_error_code", f"station {signal.station_id}", f"no cause {data.error_code!r}")
        else:
            state.pending_cause_id = cause_id
            effect.causes.append((signal.at, cause_id))


def _totals(state: StateRow, data: SignalIn, at: datetime) -> tuple[int, int]:
    """Units the running totals add. A total older than the last applied one arrived late (another
    instance, a retry): the newer total already counted its units."""
    if data.production_count_good is None and data.production_count_bad is None:
        return 0, 0
    if state.totals_at is not None and at < state.totals_at:
        return 0, 0
    good = bad = 0
    if data.production_count_good is not None:
        good = _running_total(state.count_good_total, data.production_count_good)
        state.count_good_total = data.production_count_good
    if data.production_count_bad is not None:
        bad = _running_total(state.count_bad_total, data.production_count_bad)
        state.count_bad_total = data.production_count_bad
    state.totals_at = at
    return good, bad


def _energy(state: StateRow, data: SignalIn, bucket: _Minute) -> None:
    used = data.electrical_kwh_interval or 0.0
    if data.electrical_kwh is not None:
        if state.kwh_total is not None:
            delta = data.electrical_kwh - state.kwh_total
            used += delta if delta >= 0 else data.electrical_kwh  # a replaced meter starts again
        state.kwh_total = data.electrical_kwh
    if data.electrical_kwh is not None or data.electrical_kwh_interval is not None:
        bucket.kwh = (bucket.kwh or 0.0) + used


def _output(state: StateRow, at: datetime, effect: _Effects, cycle_time: float | None) -> None:
    previous = state.last_output_at
    if previous is not None and at <= previous:
        return  # a late output: the station has produced since
    at_speed = True
    if previous is not None and cycle_time:
        at_speed = (at - previous).total_seconds() <= cycle_time * 1.05  # 5 % tolerance for jitter
    if at_speed:
        state.slow_since = None
    elif state.slow_since is None:
        state.slow_since = previous
    state.last_output_at = at
    state.pending_cause_id = None  # a cause named before a stop that never came is stale now
    effect.outputs.append((at, at_speed))


# One upsert per touched minute: adding to a window needs no read, and concurrent batches (other
# instances) add to the row in turn. Averages merge by their sample counts.
_UPSERT_COLUMNS = (
    "account_id",
    "station_id",
    "window_start_at",
    "production_good_count",
    "production_bad_count",
    "electrical_kwh",
    "line_speed_avg",
    "line_speed_samples",
    "rssi_avg",
    "rssi_samples",
    "signal_count",
    "sku_id",
)


def _weighted(avg: str, samples: str) -> str:
    return (
        f"CASE WHEN excluded.{samples} = 0 THEN station_window.{avg} ELSE "
        f"(COALESCE(station_window.{avg}, 0) * station_window.{samples} + excluded.{avg} * excluded.{samples})"
        f" / (station_window.{samples} + excluded.{samples}) END"
    )


def _upsert_sql(postgres: bool) -> str:
    marks = [f"${i + 1}" if postgres else "?" for i in range(len(_UPSERT_COLUMNS))]
    columns = ", ".join(_UPSERT_COLUMNS)
    return (
        f"INSERT INTO station_window ({columns}, total_ms, shift_ms, scheduled_production_ms, "
        "scheduled_non_production_ms, productive_ms, downtime_ms, is_alive) "
        f"VALUES ({', '.join(marks)}, 60000, 0, 0, 0, 0, 0, TRUE) "
        "ON CONFLICT (station_id, window_start_at) DO UPDATE SET "
        "production_good_count = station_window.production_good_count + excluded.production_good_count, "
        "production_bad_count = station_window.production_bad_count + excluded.production_bad_count, "
        "electrical_kwh = CASE WHEN excluded.electrical_kwh IS NULL THEN station_window.electrical_kwh "
        "ELSE COALESCE(station_window.electrical_kwh, 0) + excluded.electrical_kwh END, "
        f"line_speed_avg = {_weighted('line_speed_avg', 'line_speed_samples')}, "
        "line_speed_samples = station_window.line_speed_samples + excluded.line_speed_samples, "
        f"rssi_avg = {_weighted('rssi_avg', 'rssi_samples')}, "
        "rssi_samples = station_window.rssi_samples + excluded.rssi_samples, "
        "signal_count = station_window.signal_count + excluded.signal_count, "
        "is_alive = TRUE, "
        "sku_id = COALESCE(excluded.sku_id, station_window.sku_id)"
    )


_UPSERT = {dialect: _upsert_sql(dialect == "postgres") for dialect in ("postgres", "sqlite")}


async def _write_minutes(
    conn: BaseDBAsyncClient, minutes: dict[tuple[int, datetime], _Minute], accounts: dict[int, str]
) -> None:
    """Add the batch's counts to the windows (rows created on first use)."""
    values = [
        [
            accounts[station_id],
            station_id,
            start,
            add.good,
            add.bad,
            add.kwh,
            add.speed_sum / add.speed_n if add.speed_n else None,
            add.speed_n,
            add.rssi_sum / add.rssi_n if add.rssi_n else None,
            add.rssi_n,
            add.signals,
            add.sku_id,
        ]
        for (station_id, start), add in sorted(minutes.items())  # one lock order for every instance
    ]
    if values:
        await conn.execute_many(_UPSERT[conn.capabilities.dialect], values)


async def _issue_effects(
    effects: dict[int, _Effects], states: dict[int, StateRow], stations: dict[int, _Rules]
) -> list[Change]:
    """End stops the batch's output (or productive) ends, slow runs back at speed; apply named causes."""
    relevant = {i for i, e in effects.items() if e.outputs or e.productive_on or e.causes}
    if not relevant:
        return []
    changes: list[Change] = []
    # By account, not by hundreds of station ids: the accounts' ongoing issues are few.
    accounts = {states[i].account_id for i in relevant}
    ongoing = await Issue.filter(account_id__in=accounts, end_at__isnull=True).order_by("start_at")
    for issue in (i for i in ongoing if i.station_id in relevant):
        effect = effects[issue.station_id]
        end_at = _end_moment(issue, effect, stations[issue.station_id].mode)
        # A code named once an output had ended the stop is not its cause: it waits for the next stop
        # (the state's pending cause), as a code named between stops does.
        named = [cause for at, cause in effect.causes if end_at is None or at < end_at]
        if issue.type == "stop" and named:
            changes.append(await set_cause(issue=issue, cause_id=named[-1]))
            if len(named) == len(effect.causes):
                states[issue.station_id].pending_cause_id = None
        if end_at is not None and (change := await record_end(issue=issue, end_at=end_at)):
            changes.append(change)
    return changes


def _end_moment(issue: Issue, effect: _Effects, mode: str) -> datetime | None:
    """The first output (utilisation mode: productive again) after the issue started."""
    if issue.type == "slow":
        return next((at for at, at_speed in effect.outputs if at_speed and at > issue.start_at), None)
    moments = effect.productive_on if mode == "utilisation" else [at for at, _ in effect.outputs]
    return next((at for at in moments if at > issue.start_at), None)
