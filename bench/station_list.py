"""station_list: ``GET /api/station`` with 50 stations, gateway vs a plain Starlette route.

The gateway runs as deployed (``andon migrate`` then ``andon serve`` on SQLite).
The baseline serves the very bytes the gateway returned, from a one-route
Starlette app under the same uvicorn options, so the ratio prices everything
the gateway does per request: API-key auth, the database query and the JSON.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx

from bench.harness import (
    BASELINE,
    GATEWAY,
    LOOPBACK,
    BenchmarkError,
    LoadSettings,
    Outcome,
    RoundLog,
    ServerProcess,
    Target,
    bin_path,
    command_line,
    facts_lines,
    free_port,
    machine_facts,
    median,
    medians_table,
    rounds_table,
    run_alternating,
    run_checked,
    run_gateway_vs_baseline,
    utc_now,
    uvicorn_argv,
    write_wrk_script,
)

NAME = "station_list"
GOAL = 0.3
STATION_COUNT = 50
PATH = "/api/station"
# Only authorises account creation; at least 16 characters, as the settings demand.
SYSTEM_KEY = "bench-system-key-0123456789"
# Versions that explain the absolute numbers: the server stack both sides share, and the gateway's own.
PACKAGES = ("uvicorn", "uvloop", "httptools", "starlette", "tortoise-orm", "aiosqlite", "orjson")


# --------------------------------------------------------------------------- gateway side


def andon_argv(*args: str) -> list[str]:
    """The installed console script, as an operator would run it."""
    return [bin_path("andon"), *args]


def gateway_env(workdir: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    # Drop any ANDON_* from the caller's shell: the benchmark must run the documented configuration.
    for key in [k for k in env if k.startswith("ANDON_")]:
        del env[key]
    env.update(
        ANDON_DATABASE_URL=f"sqlite:///{workdir / 'bench.db'}",
        ANDON_HOST=LOOPBACK,
        ANDON_PORT=str(port),
        ANDON_SYSTEM_API_KEY=SYSTEM_KEY,
        ANDON_LOG_LEVEL="warning",
    )
    return env


def expect_success(response: httpx.Response, what: str) -> dict[str, object]:
    """The envelope every gateway call must return; the raw text is quoted when it is not."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if response.status_code != 200 or not isinstance(payload, dict) or payload.get("isSuccess") is not True:
        raise BenchmarkError(f"{what}: HTTP {response.status_code} {response.text[:2000]}")
    return payload


def seed_stations(client: httpx.Client) -> str:
    """Create one account and its 50 stations; return the account's API key."""
    created = expect_success(
        client.post(
            "/api/admin/newaccount",
            headers={"X-API-KEY": SYSTEM_KEY},
            json={"domain": "bench.example", "plantName": "Bench Plant"},
        ),
        "POST /api/admin/newaccount",
    )
    result = created.get("result")
    if not isinstance(result, dict) or not {"apiKey", "plantCode"} <= result.keys():
        raise BenchmarkError(f"POST /api/admin/newaccount: unexpected result {created!r}")
    api_key, plant_code = str(result["apiKey"]), result["plantCode"]
    for number in range(1, STATION_COUNT + 1):
        expect_success(
            client.post(
                PATH,
                headers={"X-API-KEY": api_key},
                json={
                    "code": f"ST-{number:02d}",
                    "name": f"Station {number:02d}",
                    "plantCode": plant_code,
                    "cycleTime": 30,
                    "downtimeDetectionMode": "production-cycle",
                },
            ),
            f"POST {PATH} (station {number})",
        )
    return api_key


def fetch_station_list(client: httpx.Client, api_key: str) -> bytes:
    """The list the benchmark loads, checked: 200, isSuccess, exactly 50 results."""
    response = client.get(PATH, headers={"X-API-KEY": api_key})
    payload = expect_success(response, f"GET {PATH}")
    results = payload.get("results")
    if not isinstance(results, list) or len(results) != STATION_COUNT:
        count = len(results) if isinstance(results, list) else type(results).__name__
        raise BenchmarkError(f"GET {PATH}: expected {STATION_COUNT} results, got {count}")
    return response.content


# --------------------------------------------------------------------------- baseline side


def baseline_server(workdir: Path, body: bytes) -> ServerProcess:
    body_file = workdir / "station_list.json"
    body_file.write_bytes(body)
    port = free_port()
    env = dict(os.environ, BENCH_BASELINE_BODY=str(body_file), BENCH_BASELINE_PATH=PATH)
    return ServerProcess(
        BASELINE,
        uvicorn_argv("bench.baseline_app:app", port=port),
        env=env,
        cwd=workdir,
        log_path=workdir / "baseline.log",
        base_url=f"http://{LOOPBACK}:{port}",
    )


def check_same_bytes(server: ServerProcess, expected: bytes, api_key: str) -> None:
    """The comparison is only fair if the baseline sends exactly what the gateway sends."""
    got = httpx.get(server.base_url + PATH, headers={"X-API-KEY": api_key}, timeout=5).content
    if got != expected:
        raise BenchmarkError(
            f"baseline body differs from the gateway's ({len(got)} vs {len(expected)} bytes)"
        )


# --------------------------------------------------------------------------- the run


def measure(load: LoadSettings, workdir: Path) -> tuple[RoundLog, int]:
    """Start both servers, seed and verify, then load them alternately. Returns the rounds and body size."""
    gateway_port = free_port()
    env = gateway_env(workdir, gateway_port)
    print("  andon migrate", flush=True)
    run_checked(andon_argv("migrate"), env=env, cwd=workdir)
    gateway = ServerProcess(
        GATEWAY,
        andon_argv("serve"),
        env=env,
        cwd=workdir,
        log_path=workdir / "gateway.log",
        base_url=f"http://{LOOPBACK}:{gateway_port}",
    )
    with gateway:
        # Generous: the first start imports the whole GraphQL stack.
        gateway.wait_ready("/api/health", timeout_s=60)
        with httpx.Client(base_url=gateway.base_url, timeout=10) as client:
            print(f"  seeding {STATION_COUNT} stations", flush=True)
            api_key = seed_stations(client)
            body = fetch_station_list(client, api_key)
        with baseline_server(workdir, body) as baseline:
            baseline.wait_ready(PATH)
            check_same_bytes(baseline, body, api_key)
            # Both get the same request bytes, key included; the baseline just ignores the header.
            script = write_wrk_script(workdir / "station_list.lua", headers={"X-API-KEY": api_key})
            targets = [
                Target(GATEWAY, gateway.base_url + PATH, script),
                Target(BASELINE, baseline.base_url + PATH, script),
            ]
            log = run_alternating(targets, load)
            # A server that crashed mid-run would make the last numbers meaningless.
            gateway.ensure_running()
            baseline.ensure_running()
            with httpx.Client(base_url=gateway.base_url, timeout=10) as client:
                fetch_station_list(client, api_key)
    return log, len(body)


def render(log: RoundLog, load: LoadSettings, body_size: int, value: float) -> str:
    gateway_rps = median([r.req_per_s for r in log.for_label(GATEWAY)])
    baseline_rps = median([r.req_per_s for r in log.for_label(BASELINE)])
    verdict = "Met" if value >= GOAL else "MISSED"
    # The ports are picked per run, so the example shows a placeholder instead.
    example = re.sub(r":\d+/", ":PORT/", log.runs[0][2].command) if log.runs else ""
    return f"""## station_list: `GET {PATH}` (50 stations), gateway vs plain Starlette route

What it measures: the gateway (`andon serve`, SQLite, one uvicorn worker)
answering `GET {PATH}` with a valid `X-API-KEY` for an account holding
{STATION_COUNT} stations, against a one-route Starlette app
(`bench/baseline_app.py`) serving the same {body_size:,} response bytes under
uvicorn with the same options (one worker, `--log-level warning`, no access
log), both on 127.0.0.1. Before loading, the gateway's answer is checked (200,
`isSuccess: true`, {STATION_COUNT} results) and the baseline's body is checked
byte for byte against it; any non-2xx answer or socket error fails the run.

**Ratio (gateway median req/s / baseline median req/s): {value:.3f}. Goal: at least {GOAL}. {verdict}.**

- Date: {utc_now()}
- Command: `{command_line()}`
- Load: `{example}` for each round, after a {load.warmup_s} s warm-up of each
  server; rounds per server: {load.rounds}, alternating gateway and baseline.
{facts_lines(machine_facts(PACKAGES))}

Medians over the rounds:

{medians_table(log, [GATEWAY, BASELINE])}

Gateway {gateway_rps:,.1f} req/s vs baseline {baseline_rps:,.1f} req/s.

Every round, in the order run:

{rounds_table(log)}
"""


def run(load: LoadSettings, docs: Path | None) -> Outcome:
    return run_gateway_vs_baseline(NAME, GOAL, load, docs, measure, render)
