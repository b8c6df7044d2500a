"""graphql_stations: ``POST /graphql`` listing 50 stations with their group, gateway vs a plain Starlette route.

The gateway runs as deployed (``andon migrate`` then ``andon serve`` on SQLite)
and answers one GraphQL query, sent as a JSON POST with the account's API key:
the account's 50 stations, spread over 2 station groups, each with its group's
name resolved through the request's DataLoader. The baseline serves the very
bytes the gateway returned, from a one-route Starlette app under the same
uvicorn options, so the ratio prices everything the gateway does per GraphQL
request: auth, parsing and validation (or their caches), execution, the
resolvers and the JSON.
"""

from __future__ import annotations

import json
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
from bench.station_list import SYSTEM_KEY, andon_argv, expect_success, gateway_env

NAME = "graphql_stations"
GOAL = 0.2
STATION_COUNT = 50
PATH = "/graphql"
# The query the board wants is `{ stations { code name status group { name } } }`; `Station` has no
# `status` field until live status arrives with signal ingestion, so a scalar field of the same kind
# stands in for it.
QUERY = "{ stations { code name downtimeDetectionMode group { name } } }"
WANTED_QUERY = "{ stations { code name status group { name } } }"
REQUEST_BODY = json.dumps({"query": QUERY}, separators=(",", ":"))
GROUPS = (("GRP-A", "Assembly"), ("GRP-B", "Packing"))
PACKAGES = (
    "uvicorn",
    "uvloop",
    "httptools",
    "starlette",
    "strawberry-graphql",
    "graphql-core",
    "tortoise-orm",
    "aiosqlite",
    "orjson",
)


# --------------------------------------------------------------------------- gateway side


def seed_stations(client: httpx.Client) -> str:
    """One account, 2 station groups and 50 stations spread over them; returns the account's API key."""
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
    headers = {"X-API-KEY": api_key}
    for code, name in GROUPS:
        expect_success(
            client.post(
                "/api/station-group",
                headers=headers,
                json={"code": code, "name": name, "plantCode": plant_code},
            ),
            f"POST /api/station-group ({code})",
        )
    for number in range(1, STATION_COUNT + 1):
        group_code = GROUPS[number % len(GROUPS)][0]
        expect_success(
            client.post(
                "/api/station",
                headers=headers,
                json={
                    "code": f"ST-{number:02d}",
                    "name": f"Station {number:02d}",
                    "plantCode": plant_code,
                    "groupCode": group_code,
                    "cycleTime": 30,
                    "downtimeDetectionMode": "production-cycle",
                },
            ),
            f"POST /api/station (station {number})",
        )
    return api_key


def request_headers(api_key: str) -> dict[str, str]:
    return {"X-API-KEY": api_key, "Content-Type": "application/json"}


def fetch_stations(client: httpx.Client, api_key: str) -> bytes:
    """The answer the benchmark loads, checked: 200, no `errors`, 50 stations each with its group's name."""
    response = client.post(PATH, headers=request_headers(api_key), content=REQUEST_BODY)
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if response.status_code != 200 or not isinstance(payload, dict):
        raise BenchmarkError(f"POST {PATH}: HTTP {response.status_code} {response.text[:2000]}")
    if "errors" in payload:
        raise BenchmarkError(f"POST {PATH}: errors in the answer {payload['errors']!r}")
    data = payload.get("data")
    stations = data.get("stations") if isinstance(data, dict) else None
    if not isinstance(stations, list) or len(stations) != STATION_COUNT:
        count = len(stations) if isinstance(stations, list) else type(stations).__name__
        raise BenchmarkError(f"POST {PATH}: expected {STATION_COUNT} stations, got {count}")
    names = {name for _, name in GROUPS}
    seen: set[str] = set()
    for station in stations:
        group = station.get("group") if isinstance(station, dict) else None
        name = group.get("name") if isinstance(group, dict) else None
        if name not in names or not station.get("code") or not station.get("downtimeDetectionMode"):
            raise BenchmarkError(f"POST {PATH}: station without its fields or group name: {station!r}")
        seen.add(str(name))
    if seen != names:
        raise BenchmarkError(f"POST {PATH}: expected stations in groups {sorted(names)}, got {sorted(seen)}")
    return response.content


# --------------------------------------------------------------------------- baseline side


def baseline_server(workdir: Path, body: bytes) -> ServerProcess:
    body_file = workdir / "graphql_stations.json"
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
    """The baseline must answer the same POST with exactly the gateway's bytes."""
    response = httpx.post(
        server.base_url + PATH, headers=request_headers(api_key), content=REQUEST_BODY, timeout=5
    )
    if response.status_code != 200 or response.content != expected:
        raise BenchmarkError(
            f"baseline answer to POST differs from the gateway's (HTTP {response.status_code}, "
            f"{len(response.content)} vs {len(expected)} bytes)"
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
            print(f"  seeding {len(GROUPS)} station groups and {STATION_COUNT} stations", flush=True)
            api_key = seed_stations(client)
            body = fetch_stations(client, api_key)
        with baseline_server(workdir, body) as baseline:
            baseline.wait_ready(PATH)
            check_same_bytes(baseline, body, api_key)
            # Both get the same request bytes (method, headers, body); the baseline ignores all of it.
            script = write_wrk_script(
                workdir / "graphql_stations.lua",
                method="POST",
                headers=request_headers(api_key),
                body=REQUEST_BODY,
            )
            targets = [
                Target(GATEWAY, gateway.base_url + PATH, script),
                Target(BASELINE, baseline.base_url + PATH, script),
            ]
            log = run_alternating(targets, load)
            # A server that crashed mid-run, or an answer that changed, makes the numbers meaningless.
            gateway.ensure_running()
            baseline.ensure_running()
            with httpx.Client(base_url=gateway.base_url, timeout=10) as client:
                if fetch_stations(client, api_key) != body:
                    raise BenchmarkError(f"POST {PATH}: the gateway's answer changed during the load")
    return log, len(body)


def render(log: RoundLog, load: LoadSettings, body_size: int, value: float) -> str:
    gateway_rps = median([r.req_per_s for r in log.for_label(GATEWAY)])
    baseline_rps = median([r.req_per_s for r in log.for_label(BASELINE)])
    verdict = "Met" if value >= GOAL else "MISSED"
    # The ports are picked per run, so the example shows a placeholder instead.
    example = re.sub(r":\d+/", ":PORT/", log.runs[0][2].command) if log.runs else ""
    return f"""## graphql_stations: `POST {PATH}` (50 stations with their group), gateway vs plain Starlette route

What it measures: the gateway (`andon serve`, SQLite, one uvicorn worker)
answering `POST {PATH}` with a valid `X-API-KEY`, `Content-Type:
application/json` and the body

    {REQUEST_BODY}

for an account holding {STATION_COUNT} stations spread over {len(GROUPS)} station
groups, so every station's `group` is resolved (one DataLoader batch per
request). The query the dashboard wants is
`{WANTED_QUERY}`; `Station` has no `status`
field yet (live status arrives with signal ingestion), so the scalar
`downtimeDetectionMode` stands in for it. The baseline is a one-route
Starlette app (`bench/baseline_app.py`) answering the same POST with the same
{body_size:,} response bytes, under uvicorn with the same options (one
worker, `--log-level warning`, no access log), both on 127.0.0.1. Before
loading, the gateway's answer is checked (200, no `errors`, {STATION_COUNT}
stations, each with its group's name) and the baseline's answer to the same
POST is checked byte for byte against it; after loading, the gateway must
still give the same bytes. Any non-2xx answer or socket error fails the run.

**Ratio (gateway median req/s / baseline median req/s): {value:.3f}. Goal: at least {GOAL}. {verdict}.**

- Date: {utc_now()}
- Command: `{command_line()}`
- Load: `{example}` for each round (the Lua script sets the method, the
  headers and the body), after a {load.warmup_s} s warm-up of each server;
  rounds per server: {load.rounds}, alternating gateway and baseline.
{facts_lines(machine_facts(PACKAGES))}

Medians over the rounds:

{medians_table(log, [GATEWAY, BASELINE])}

Gateway {gateway_rps:,.1f} req/s vs baseline {baseline_rps:,.1f} req/s.

Every round, in the order run:

{rounds_table(log)}
"""


def run(load: LoadSettings, docs: Path | None) -> Outcome:
    return run_gateway_vs_baseline(NAME, GOAL, load, docs, measure, render)
