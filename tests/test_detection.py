"""Timer-driven detection: stops in both modes, slow running, error codes, planned time only, live status."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from models.calendar import shifts_from_json
from models.ranges import TimeRange
from models.signals import Lease, StationState
from models.tenancy import Station
from models.timefmt import utc_now
from models.windows import StationWindow
from resolvers.detection import detect_issues, due_issues
from resolvers.leases import hold_lease, seeding_holder, seeding_lease
from resolvers.planned import Calendar
from resolvers.signal_input import SignalIn
from resolvers.signal_stats import STATS
from resolvers.signals import Signal, apply_signals
from resolvers.window_closing import close_windows
from tests.conftest import Tenant

T = TypeVar("T")
# SPEC 7 / issue goal: a stop appears within 1 s of its threshold (timer 0.5 s by default), plus the poll.
LATENCY_SECONDS = 1.0
POLL_SECONDS = 0.05
LEASE = timedelta(minutes=5)


def _poll(read: Callable[[], T], done: Callable[[T], bool], timeout: float) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(POLL_SECONDS)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _station(tenant: Tenant, code: str = "S1", **extra: Any) -> None:
    body = {"code": code, "name": code, "plantCode": tenant.plant_code, **extra}
    tenant.ok(tenant.post("/api/station", body))


def _signal(tenant: Tenant, code: str = "S1", **values: Any) -> None:
    tenant.ok(tenant.post("/api/signal", {"stationCode": code, **values}))


def _ongoing(tenant: Tenant, code: str = "S1") -> list[dict[str, Any]]:
    return tenant.ok(tenant.get(f"/api/issue/ongoing?stationcodes={code}"))  # type: ignore[no-any-return]


def _issues(tenant: Tenant, code: str = "S1") -> list[dict[str, Any]]:
    return tenant.ok(tenant.get(f"/api/issue?stationcodes={code}"))  # type: ignore[no-any-return]


def test_a_silent_station_gets_a_stop_within_a_second_of_the_threshold(tenant: Tenant) -> None:
    # 2 s cycle x 1.5 = a 3 s threshold.
    _station(tenant, cycleTime=2, downtimeDetectionMode="production-cycle")
    _signal(tenant, production_complete_good=1)
    last_output = datetime.now(UTC)
    time.sleep(2.5)
    assert _ongoing(tenant) == [], "a stop before the threshold"
    ongoing = _poll(lambda: _ongoing(tenant), bool, 3.0)
    seen = datetime.now(UTC)
    assert ongoing, "no stop detected"
    [stop] = ongoing
    assert stop["type"] == "stop"
    start = _parse(stop["startAt"])
    assert abs((start - last_output).total_seconds()) <= 1.0
    assert (seen - (start + timedelta(seconds=3))).total_seconds() <= LATENCY_SECONDS + POLL_SECONDS
    # Nothing else arrived: a second tick opens nothing more.
    time.sleep(1.0)
    assert len(_ongoing(tenant)) == 1
    # The next output ends it, at that output's time.
    output_at = datetime.now(UTC).replace(microsecond=0) - timedelta(milliseconds=200)
    _signal(tenant, production_complete_good=1, timestamp=_iso(output_at))
    [ended] = [i for i in _issues(tenant) if i["id"] == stop["id"]]
    assert ended["endAt"] == _iso(output_at)


def test_utilisation_mode_stops_on_productive_zero(tenant: Tenant) -> None:
    _station(tenant, downtimeDetectionMode="utilisation", utilisationDowntimeThreshold=0.05)  # 3 s
    _signal(tenant, productive=1)
    _signal(tenant, productive=0)
    stopped_at = datetime.now(UTC)
    [stop] = _poll(lambda: _ongoing(tenant), bool, 3.0 + LATENCY_SECONDS + 0.5)
    assert abs((_parse(stop["startAt"]) - stopped_at).total_seconds()) <= 1.0
    _signal(tenant, productive=1)
    assert _ongoing(tenant) == []
    assert _issues(tenant)[0]["endAt"] is not None


def test_out_of_shift_time_never_opens_a_stop_and_reads_idle(tenant: Tenant) -> None:
    other_day = (datetime.now(UTC).weekday() + 3) % 7
    group = {"code": "G1", "name": "G1", "plantCode": tenant.plant_code}
    tenant.ok(
        tenant.post(
            "/api/station-group", {**group, "shifts": [{"weekDay": other_day, "startHour": 0, "duration": 1}]}
        )
    )
    _station(tenant, groupCode="G1", cycleTime=1, downtimeDetectionMode="production-cycle")
    _signal(tenant, production_complete_good=1)
    time.sleep(1.5 + 2 * LATENCY_SECONDS)
    assert _ongoing(tenant) == []
    status = _poll(lambda: _status(tenant, "S1"), lambda s: s == "idle", 2.0)
    assert status == "idle"


def _calendar_station(**extra: Any) -> tuple[StationState, Station]:
    at = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday
    station = Station(id=1, code="S", downtime_detection_mode="production-cycle", cycle_time=10.0, **extra)
    state = StationState(
        station_id=1, first_signal_at=at, last_signal_at=at, last_output_at=at, closed_until=at
    )
    return state, station


def test_non_production_time_does_not_count_towards_a_stop() -> None:
    state, station = _calendar_station()
    start = state.last_output_at
    assert start is not None
    now = start + timedelta(seconds=20)  # 15 s is the threshold
    plain = Calendar([], "UTC")
    assert due_issues(state, station, None, plain, now) == {"stop": start}
    # A break from +5 s to +10 s: only 15 s of planned time since the output, still due; to +15 s: not.
    short_break = Calendar(
        [], "UTC", [TimeRange(start + timedelta(seconds=5), start + timedelta(seconds=10))]
    )
    assert due_issues(state, station, None, short_break, now) == {"stop": start}
    long_break = Calendar([], "UTC", [TimeRange(start + timedelta(seconds=5), start + timedelta(seconds=15))])
    assert due_issues(state, station, None, long_break, now) == {}


def test_a_stop_after_the_shift_started_starts_at_the_shift_start() -> None:
    state, station = _calendar_station()
    assert state.last_output_at is not None
    shift = Calendar(shifts_from_json([{"weekDay": 0, "startHour": 12, "duration": 4}]), "UTC")
    noon = state.last_output_at.replace(hour=12)
    assert due_issues(state, station, None, shift, noon + timedelta(seconds=14)) == {}
    assert due_issues(state, station, None, shift, noon + timedelta(seconds=15)) == {"stop": noon}


def test_error_code_sets_the_ongoing_stop_cause_and_unknown_codes_are_counted(tenant: Tenant) -> None:
    tenant.ok(tenant.post("/api/issue/cause", {"code": "JAM", "description": "Jam"}))
    _station(tenant, cycleTime=1, downtimeDetectionMode="production-cycle")
    _signal(tenant, production_complete_good=1)
    # Named before the stop is detected: applied when it opens.
    _signal(tenant, error_code="JAM")
    [stop] = _poll(lambda: _ongoing(tenant), bool, 1.5 + 2 * LATENCY_SECONDS)
    assert stop["causeCode"] == "JAM"
    tenant.ok(tenant.post("/api/issue/cause", {"code": "HEAT", "description": "Overheat"}))
    _signal(tenant, error_code="HEAT")
    assert _ongoing(tenant)[0]["causeCode"] == "HEAT"
    before = STATS.dropped["unknown_error_code"]
    _signal(tenant, error_code="NOPE")
    assert STATS.dropped["unknown_error_code"] == before + 1
    assert _ongoing(tenant)[0]["causeCode"] == "HEAT"


def test_slow_running_opens_a_slow_issue_that_ends_back_at_speed(tenant: Tenant) -> None:
    # Ideal 1 s per unit; 1.5 s cycles are slow. The stop threshold (20 s) stays far away.
    _station(
        tenant,
        cycleTime=1,
        downtimeDetectionMode="production-cycle",
        downtimeDurationThresholdMultiplier=20,
        slowDurationThreshold=0.05,
    )
    now = datetime.now(UTC).replace(microsecond=0)
    outputs = [now - timedelta(seconds=s) for s in (8, 6.5, 5, 3.5, 2)]
    for at in outputs:
        _signal(tenant, production_complete_good=1, timestamp=_iso(at))
    [slow] = _poll(lambda: _ongoing(tenant), bool, 2 * LATENCY_SECONDS)
    assert slow["type"] == "slow"
    assert slow["startAt"] == _iso(outputs[0])
    back = outputs[-1] + timedelta(seconds=1)
    _signal(tenant, production_complete_good=1, timestamp=_iso(back))
    assert _ongoing(tenant) == []
    assert _issues(tenant)[0]["endAt"] == _iso(back)


STATIONS = "query { stations { code status } }"


def _status(tenant: Tenant, code: str) -> str:
    response = tenant.client.post("/graphql", json={"query": STATIONS}, headers=tenant.headers())
    return {s["code"]: s["status"] for s in response.json()["data"]["stations"]}[code]


def test_station_status_follows_running_and_stopped(tenant: Tenant) -> None:
    _station(tenant, cycleTime=1, downtimeDetectionMode="production-cycle")
    _station(tenant, "QUIET")
    assert _status(tenant, "QUIET") == "offline"  # never sent a signal
    _signal(tenant, production_complete_good=1)
    assert _poll(lambda: _status(tenant, "S1"), lambda s: s == "running", 2.0) == "running"
    assert _poll(lambda: _status(tenant, "S1"), lambda s: s == "stopped", 4.0) == "stopped"
    _signal(tenant, production_complete_good=1)
    assert _poll(lambda: _status(tenant, "S1"), lambda s: s == "running", 2.0) == "running"


STATUS_SUBSCRIPTION = (
    "subscription($codes: [String!]) { stationStatusChanged(stationCodes: $codes) { stationCode status at } }"
)


def test_station_status_changes_are_pushed(tenant: Tenant) -> None:
    _station(tenant, cycleTime=1, downtimeDetectionMode="production-cycle")
    with tenant.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"apiKey": tenant.api_key}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": STATUS_SUBSCRIPTION, "variables": {"codes": ["S1"]}},
            }
        )
        seen = [_next_status(ws)]
        assert seen == ["offline"]  # the current status first
        _signal(tenant, production_complete_good=1)
        while seen[-1] != "stopped":
            seen.append(_next_status(ws))
        assert seen == ["offline", "running", "stopped"]
        ws.send_json({"id": "1", "type": "complete"})


def _next_status(ws: Any) -> str:
    while True:
        message = ws.receive_json()
        if message["type"] == "next":
            data = message["payload"]["data"]["stationStatusChanged"]
            assert data["stationCode"] == "S1"
            return str(data["status"])
        assert message["type"] in ("ping", "pong"), message


def test_closed_windows_carry_schedule_downtime_and_run_time(tenant: Tenant) -> None:
    _station(tenant)
    minute = (datetime.now(UTC) - timedelta(minutes=3)).replace(second=0, microsecond=0)
    issue = {"type": "stop", "stationCode": "S1", "startAt": _iso(minute + timedelta(seconds=30))}
    tenant.ok(tenant.post("/api/issue", {**issue, "endAt": _iso(minute + timedelta(seconds=90))}))
    _signal(tenant, production_complete_good=3, timestamp=_iso(minute + timedelta(seconds=5)))

    def windows() -> list[dict[str, Any]]:
        rows = tenant.ok(tenant.get("/api/station-window?stationcodes=S1&rangecode=last-24-hours"))
        return [w for w in rows if w["scheduledProductionMs"]]

    first, second = _poll(windows, lambda rows: len(rows) >= 2, 3.0)[:2]
    assert first["windowStartAt"] == _iso(minute)
    assert (first["shiftMs"], first["scheduledProductionMs"], first["scheduledNonProductionMs"]) == (
        60000,
        60000,
        0,
    )
    assert (first["downtimeMs"], first["productiveMs"], first["isAlive"]) == (30000, 30000, True)
    assert first["cycleTimeAvg"] == 10.0  # 30 s of run time for 3 units
    # The next minute had no signal: its stop time is still downtime, and a station without detection
    # that said nothing shows no run time.
    assert (second["downtimeMs"], second["productiveMs"], second["isAlive"]) == (30000, 0, False)


def test_an_error_code_after_the_output_that_ended_a_stop_waits_for_the_next_stop(tenant: Tenant) -> None:
    """One batch: an output ends the ongoing stop, then a code is named. The code belongs to the next
    stop, not to the one that had ended before it was named."""
    tenant.ok(tenant.post("/api/issue/cause", {"code": "JAM", "description": "Jam"}))
    _station(tenant, cycleTime=1, downtimeDetectionMode="production-cycle")
    _signal(tenant, production_complete_good=1)
    [first] = _poll(lambda: _ongoing(tenant), bool, 1.5 + 2 * LATENCY_SECONDS)
    output_at = datetime.now(UTC).replace(microsecond=0)
    batch = [
        {"stationCode": "S1", "production_complete_good": 1, "timestamp": _iso(output_at)},
        {
            "stationCode": "S1",
            "error_code": "JAM",
            "timestamp": _iso(output_at + timedelta(milliseconds=100)),
        },
    ]
    tenant.ok(tenant.post("/api/signal", batch))
    [ended] = [i for i in _issues(tenant) if i["id"] == first["id"]]
    assert ended["endAt"] == _iso(output_at)
    assert ended["causeCode"] is None, "a code named after the stop ended became its cause"
    [second] = _poll(lambda: _ongoing(tenant), bool, 1.5 + 2 * LATENCY_SECONDS)
    assert second["id"] != first["id"]
    assert second["causeCode"] == "JAM"


def test_a_stop_detected_after_its_first_minute_closed_closes_that_minute_again(tenant: Tenant) -> None:
    """A stop opens a threshold after its last output: the minutes in between were already closed
    without it. Detection sends them back to window closing, which gives them the stop's downtime.
    Driven at chosen moments, with the account's seeding lease keeping the live timers away."""
    _station(tenant, cycleTime=20, downtimeDetectionMode="production-cycle")  # a 30 s threshold
    portal = tenant.client.portal
    assert portal is not None
    base = (datetime.now(UTC) - timedelta(minutes=10)).replace(second=0, microsecond=0)

    async def run() -> list[tuple[Any, ...]]:
        lease = seeding_lease(tenant.account_id)
        await hold_lease(name=lease, holder=seeding_holder(tenant.account_id), now=utc_now(), ttl=LEASE)
        try:
            station = await Station.get(account_id=tenant.account_id, code="S1")
            out = [
                Signal(
                    tenant.account_id,
                    station.id,
                    base + timedelta(seconds=s),
                    SignalIn(production_complete_good=1),
                )
                for s in (10, 45)
            ]
            await apply_signals(out)
            await close_windows(
                now=base + timedelta(seconds=62), grace=timedelta(0), station_ids=[station.id]
            )
            first = await StationWindow.get(station_id=station.id, window_start_at=base)
            assert (first.downtime_ms, first.productive_ms) == (0, 60_000)  # no stop known yet
            assert await detect_issues(now=base + timedelta(seconds=76), station_ids=[station.id]) == 1
            await close_windows(
                now=base + timedelta(seconds=122), grace=timedelta(0), station_ids=[station.id]
            )
            return list(
                await StationWindow.filter(station_id=station.id)
                .order_by("window_start_at")
                .values_list("window_start_at", "downtime_ms", "productive_ms")
            )
        finally:
            await Lease.filter(name=lease).delete()

    rows = portal.call(run)
    assert rows == [(base, 15_000, 45_000), (base + timedelta(minutes=1), 60_000, 0)]


def test_stops_entered_excluded_or_included_later_close_their_minutes_again(tenant: Tenant) -> None:
    """A person enters a stop over minutes that were closed without it, then excludes and includes it:
    each time the live window closing gives those minutes their downtime again."""
    _station(tenant)  # no detection: only the entered stop counts
    minute = (datetime.now(UTC) - timedelta(minutes=3)).replace(second=0, microsecond=0)
    _signal(tenant, production_complete_good=3, timestamp=_iso(minute + timedelta(seconds=5)))

    def first() -> dict[str, Any]:
        rows = tenant.ok(tenant.get("/api/station-window?stationcodes=S1&rangecode=last-24-hours"))
        return next((w for w in rows if w["windowStartAt"] == _iso(minute)), {"scheduledProductionMs": 0})

    closed = _poll(first, lambda w: w["scheduledProductionMs"] == 60000, 3.0)
    assert (closed["downtimeMs"], closed["productiveMs"]) == (0, 60000)
    body = {"type": "stop", "stationCode": "S1", "startAt": _iso(minute + timedelta(seconds=30))}
    issue = tenant.ok(tenant.post("/api/issue", {**body, "endAt": _iso(minute + timedelta(seconds=90))}))[0]
    for event, downtime in (("", 30000), ("exclude", 0), ("include", 30000)):
        if event:
            tenant.ok(tenant.post(f"/api/issue/{issue['id']}/event", {"type": event}))
        window = _poll(first, lambda w, d=downtime: w["downtimeMs"] == d, 3.0)  # type: ignore[misc]
        assert (window["downtimeMs"], window["productiveMs"]) == (downtime, 60000 - downtime), event
    # A stop entered before the station's first signal adds no windows before that signal's minute.
    early = minute - timedelta(hours=2)
    tenant.ok(
        tenant.post(
            "/api/issue", {**body, "startAt": _iso(early), "endAt": _iso(early + timedelta(minutes=5))}
        )
    )
    time.sleep(2.5)  # two passes of the session's window closing (every second)
    rows = tenant.ok(tenant.get("/api/station-window?stationcodes=S1&rangecode=last-24-hours"))
    assert min(w["windowStartAt"] for w in rows) == _iso(minute)
