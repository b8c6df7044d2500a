"""`andon simulate` and the demo: realistic signals, and live issues within a minute of `andon demo`."""

from __future__ import annotations

import random
import time
import uuid
from pathlib import Path

from gateway.simulator import ERROR_CODES, Behaviour, StationSim
from tests.gateway_process import andon_env, describe, run_andon, running_gateway, subprocess_database
from tests.services import BACKEND
from tests.test_mqtt import Broker, _env, _forgotten, _wait_subscribed, broker, new_account  # noqa: F401

# The demo plant's SKUs run 20 to 45 s cycles: a stop is detected up to 1.5 x 45 s after the last output.
DEMO_SECONDS = 90.0
HISTORY_SECONDS = 120.0


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


def test_demo_shows_an_ongoing_issue_within_a_minute(tmp_path: Path) -> None:
    with subprocess_database(tmp_path) as url:
        env = {"ANDON_DATABASE_URL": url} if BACKEND == "postgres" else {}
        with running_gateway(env, tmp_path, command=("demo",), migrate=False, ready_seconds=30) as gateway:
            key = gateway.wait_for_stdout(r"API key:\s+(\S+)", 10).group(1)
            # The simulator starts once the week of history is written (tests/test_demo_seed.py).
            gateway.wait_for_stdout(r"demo: history ready", HISTORY_SECONDS)
            started = time.monotonic()
            with gateway.client() as http:
                deadline = started + DEMO_SECONDS
                ongoing: list[object] = []
                while not ongoing and time.monotonic() < deadline:
                    time.sleep(1.0)
                    response = http.get(
                        "/api/issue/ongoing?stationcodes=ASM-01,ASM-02,ASM-03,ASM-04",
                        headers={"X-API-KEY": key},
                    )
                    ongoing = response.json()["results"]
            assert ongoing, gateway.output()
            assert time.monotonic() - started <= DEMO_SECONDS


def test_simulate_over_mqtt_feeds_the_windows(broker: Broker, tmp_path: Path) -> None:  # noqa: F811
    client_id = f"andon-sim-{uuid.uuid4().hex[:8]}"
    with subprocess_database(tmp_path) as url, _forgotten(broker, client_id):
        env = _env(url, broker, client_id)
        with running_gateway(env, tmp_path) as gateway, gateway.client() as http:
            _wait_subscribed(gateway)
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
            total = lambda: account.good("S1") + account.good("S2")  # noqa: E731
            deadline = time.monotonic() + 5
            while total() == 0 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert total() > 0
