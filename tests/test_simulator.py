"""`andon simulate` and the demo: realistic signals, and live issues within a minute of `andon demo`."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.simulator import ERROR_CODES, Behaviour, StationSim, load_plan
from tests.conftest import Tenant
from tests.gateway_process import andon_env, describe, run_andon, running_gateway, subprocess_database
from tests.helpers.mqtt import Broker, forgotten, gateway_env, new_account, wait_subscribed
from tests.helpers.waiting import poll
from tests.services import BACKEND

# The issue's bound: `make demo` shows an ongoing issue within a minute of start-up (the history ends
# with a station stopped, resolvers/demo/seed.py, and the simulator keeps it stopped).
DEMO_SECONDS = 60.0
# The simulator's tick (it sends what is due every 0.5 s) and the request that carries it.
SEND_MARGIN = 2.0
# How often the demo gateway is asked: it is busy simulating, and each answer only moves by seconds.
DEMO_POLL_SECONDS = 0.25


def test_a_simulated_station_cycles_stops_with_codes_and_changes_over() -> None:
    behaviour = Behaviour(long_stop=0.02, changeover_every=(20, 40))
    sim = StationSim("S", 10.0, ["A", "B"], random.Random(7), behaviour)
    sim.start(0.0)
    signals = [s for t in range(0, 36_000, 5) for s in sim.step(float(t))]
    cycles = [s for s in signals if "production_count_good" in s]
    assert 2000 < len(cycles) < 3600  # 10 h of 10 s cycles, less stops and micro-stops
    goods = [s["production_count_good"] for s in cycles]
    assert goods == sorted(goods) and sim.total_bad > 0
    stops = [s for s in signals if s.get("productive") == 0]
    assert stops and all(s["error_code"] in ERROR_CODES for s in stops)
    assert {s["sku"] for s in signals if "sku" in s} == {"A", "B"}


def test_stations_found_stopped_stay_stopped_else_the_first_starts_stopped(tenant: Tenant) -> None:
    """`--first-stopped`: a station with an ongoing stop (here the second) carries it on; with none,
    the first station starts stopped. Planned against the in-process gateway's API."""
    for code in ("S1", "S2"):
        body = {"code": code, "name": code, "plantCode": tenant.plant_code, "cycleTime": 10}
        tenant.ok(tenant.post("/api/station", body))
    portal = tenant.client.portal
    assert portal is not None

    async def plan() -> dict[str, float]:
        transport = httpx.ASGITransport(app=tenant.client.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://gateway", headers=tenant.headers()
        ) as http:
            planned = await load_plan(
                http, plant_code=tenant.plant_code, seed=1, first_stopped=240.0, behaviour=Behaviour()
            )
        now = time.monotonic()
        return {sim.code: sim.stopped_until - now for sim in planned.stations}

    fresh = portal.call(plan)
    assert fresh["S1"] > 200 and fresh["S2"] <= 0, fresh
    start = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    tenant.ok(tenant.post("/api/issue", {"type": "stop", "stationCode": "S2", "startAt": start}))
    found = portal.call(plan)
    assert found["S2"] > 200 and found["S1"] <= 0, found


# Once, as `make demo` runs it (embedded SQLite), like test_demo_seed. A timing
# test: the minute is measured from start-up, on a machine that runs nothing else meanwhile.
@pytest.mark.backend_independent
@pytest.mark.timing
def test_demo_shows_an_ongoing_issue_within_a_minute(tmp_path: Path) -> None:
    with subprocess_database(tmp_path) as url:
        env = {"ANDON_DATABASE_URL": url} if BACKEND == "postgres" else {}
        started = time.monotonic()  # the command starts: migrations, the account, the week of history
        with running_gateway(env, tmp_path, command=("demo",), migrate=False, ready_seconds=30) as gateway:
            key = gateway.wait_for_stdout(r"API key:\s+(\S+)", 10).group(1)
            deadline = started + DEMO_SECONDS
            # Mid-history a simulated stop is ongoing for an instant: what counts is the board after it.
            gateway.wait_for_stdout(r"demo: history ready", deadline - time.monotonic())
            with gateway.client() as http:
                headers = {"X-API-KEY": key}

                def applied() -> int:
                    """Signals the demo process has applied: the simulator runs in it and posts to it."""
                    return int(http.get("/api/health").json()["signals"]["applied"])

                def board(codes: str) -> list[dict[str, Any]]:
                    response = http.get(f"/api/issue/ongoing?stationcodes={codes}", headers=headers)
                    return response.json()["results"]  # type: ignore[no-any-return]

                history = applied()
                ongoing = poll(
                    lambda: board("ASM-01,ASM-02,ASM-03,ASM-04"),
                    bool,
                    until=deadline,
                    every=DEMO_POLL_SECONDS,
                )
                took = time.monotonic() - started
                assert ongoing, gateway.output()
                assert took <= DEMO_SECONDS
                stopped = {i["stationCode"] for i in ongoing if i["type"] == "stop"}
                stations = http.get("/api/station", headers=headers).json()["results"]
                cycle = max(float(s["cycleTime"]) for s in stations if s["code"] in stopped)
                # The simulator keeps the stopped station stopped. Its first batch (every station's SKU)
                # follows the history at once: by the time it has been applied the simulator runs.
                assert (
                    poll(applied, lambda n: n > history, timeout=DEMO_SECONDS, every=DEMO_POLL_SECONDS)
                    > history
                )
                # Had it let the station produce, the first output would have come within one cycle of its
                # start (a fresh station's first cycle ends at a random point of it): the check must wait
                # that real time, the station's cycle time, and nothing shorter shows anything. A batch
                # applied after that moment shows the simulator went on sending, and what was due came first.
                unstopped_output_by = time.monotonic() + cycle + SEND_MARGIN
                assert _applied_after(applied, unstopped_output_by, cycle + DEMO_SECONDS), gateway.output()
                still = {i["stationCode"] for i in board(",".join(sorted(stopped)))}
                assert still == stopped, gateway.output()
            print(f"ongoing issue {took:.1f} s after start-up: {sorted(stopped)}")


def _applied_after(applied: Callable[[], int], moment: float, timeout: float) -> bool:
    """Whether a signal is applied after the time.monotonic() instant `moment` (within `timeout` s): the
    count is read once after `moment`, then until it grows."""
    counts: list[int] = []

    def read() -> bool:
        asked = time.monotonic()
        count = applied()
        if asked < moment:
            return False
        counts.append(count)
        return count > counts[0]

    return poll(read, bool, timeout=timeout, every=DEMO_POLL_SECONDS)


# The simulator's messages, in the SQLite run: MQTT ingestion on both backends is test_mqtt's.
@pytest.mark.backend_independent
def test_simulate_over_mqtt_feeds_the_windows(broker: Broker, tmp_path: Path) -> None:
    client_id = f"andon-sim-{uuid.uuid4().hex[:8]}"
    with subprocess_database(tmp_path) as url, forgotten(broker, client_id):
        env = gateway_env(url, broker, client_id)
        with running_gateway(env, tmp_path) as gateway, gateway.client() as http:
            wait_subscribed(gateway)
            account = new_account(http)
            for code in ("S1", "S2"):
                account.station(code, cycleTime=0.5)
            result = run_andon(
                [
                    "simulate",
                    "--api-key",
                    account.api_key,
                    "--url",
                    gateway.base_url,
                    "--duration",
                    "3",
                    "--first-stopped",
                    "0",
                    "--seed",
                    "1",
                ],
                andon_env({"ANDON_MQTT_URL": broker.url}),
                tmp_path,
            )
            assert result.returncode == 0, describe(result)
            sent = int(result.stdout.split("sent ")[1].split()[0])
            assert sent > 6
            assert poll(lambda: account.good("S1") + account.good("S2"), bool, timeout=5.0) > 0
