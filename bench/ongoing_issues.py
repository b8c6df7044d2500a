"""ongoing_issues: ``GET /api/issue/ongoing`` for 20 stations, gateway vs a plain Starlette route.

The dashboard board polls this path: 20 stations, each with one ongoing stop
issue carrying three events (acknowledge, estimate, cause). The gateway runs as
deployed (``andon migrate`` then ``andon serve`` on SQLite). Unlike the station
list, the answer is not fixed: ``duration`` and ``durationFormatted`` count up
to the moment of the request, so the baseline serves one captured answer and
the gateway is checked for the answer's shape rather than for the same bytes.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from urllib.parse import quote

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

NAME = "ongoing_issues"
GOAL = 0.25
STATION_COUNT = 20
ROUTE = "/api/issue/ongoing"
CODES = [f"ST-{number:02d}" for number in range(1, STATION_COUNT + 1)]
PATH = f"{ROUTE}?stationcodes={quote(','.join(CODES), safe=',')}"
CAUSE_CODE = "mechanical.conveyor.belt-jam"
# The events every issue carries, in the order they are posted.
EVENTS: tuple[dict[str, object], ...] = (
    {"type": "acknowledge", "operator": "JD"},
    {"type": "estimate", "estimatedTime": 60, "operator": "JD"},
    {"type": "cause", "causeCode": CAUSE_CODE, "operator": "JD"},
)
EVENT_TYPES = [str(event["type"]) for event in EVENTS]
# Issues start this long before seeding; with a 60-minute estimate they stay "Back at HH:MM" for the run.
STARTED_AGO = dt.timedelta(minutes=5)
# No automatic escalation: a timer-raised event mid-run would change the answer and drop the cache.
NO_ESCALATION = {
    "ESCALATE_UNACKNOWLEDGED_AFTER_MINUTES": 0,
    "ESCALATE_UNESTIMATED_AFTER_MINUTES": 0,
    "ESCALATE_ON_ESTIMATE_EXPIRY": False,
}
PACKAGES = ("uvicorn", "uvloop", "httptools", "starlette", "tortoise-orm", "aiosqlite", "orjson")


# --------------------------------------------------------------------------- gateway side


def iso_z(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def seed_issues(client: httpx.Client) -> str:
    """One account, its cause tree, 20 stations each with an ongoing issue and 3 events; returns the API key."""
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
    expect_success(client.post("/api/admin/seedrun", headers=headers), "POST /api/admin/seedrun")
    expect_success(
        client.post("/api/admin/config", headers=headers, json={"config": NO_ESCALATION}),
        "POST /api/admin/config",
    )
    start_at = iso_z(dt.datetime.now(dt.UTC) - STARTED_AGO)
    for code in CODES:
        expect_success(
            client.post(
                "/api/station",
                headers=headers,
                json={
                    "code": code,
                    "name": f"Station {code}",
                    "plantCode": plant_code,
                    "cycleTime": 30,
                    "downtimeDetectionMode": "production-cycle",
                },
            ),
            f"POST /api/station ({code})",
        )
        issue = expect_success(
            client.post(
                "/api/issue", headers=headers, json={"type": "stop", "stationCode": code, "startAt": start_at}
            ),
            f"POST /api/issue ({code})",
        )
        results = issue.get("results")
        if not isinstance(results, list) or len(results) != 1 or not isinstance(results[0], dict):
            raise BenchmarkError(f"POST /api/issue ({code}): unexpected answer {issue!r}")
        issue_id = results[0]["id"]
        for event in EVENTS:
            expect_success(
                client.post(f"/api/issue/{issue_id}/event", headers=headers, json=event),
                f"POST /api/issue/{issue_id}/event ({event['type']})",
            )
    return api_key


def fetch_ongoing(client: httpx.Client, api_key: str) -> bytes:
    """The board the benchmark loads, checked for shape: 200, isSuccess, 20 issues of 3 events each."""
    response = client.get(PATH, headers={"X-API-KEY": api_key})
    payload = expect_success(response, f"GET {ROUTE}")
    results = payload.get("results")
    if not isinstance(results, list) or len(results) != STATION_COUNT:
        count = len(results) if isinstance(results, list) else type(results).__name__
        raise BenchmarkError(f"GET {ROUTE}: expected {STATION_COUNT} results, got {count}")
    stations = sorted(str(issue.get("stationCode")) for issue in results if isinstance(issue, dict))
    if stations != CODES:
        raise BenchmarkError(f"GET {ROUTE}: expected one issue per station {CODES}, got {stations}")
    for issue in results:
        events = issue.get("events")
        types = [e.get("type") for e in events] if isinstance(events, list) else None
        if types != EVENT_TYPES or issue.get("causeCode") != CAUSE_CODE or issue.get("isOngoing") is not True:
            raise BenchmarkError(
                f"GET {ROUTE}: issue {issue.get('id')} of {issue.get('stationCode')} has events {types}, "
                f"cause {issue.get('causeCode')!r}, isOngoing {issue.get('isOngoing')!r}"
            )
    return response.content


# --------------------------------------------------------------------------- baseline side


def baseline_server(workdir: Path, body: bytes) -> ServerProcess:
    body_file = workdir / "ongoing_issues.json"
    body_file.write_bytes(body)
    port = free_port()
    env = dict(os.environ, BENCH_BASELINE_BODY=str(body_file), BENCH_BASELINE_PATH=ROUTE)
    return ServerProcess(
        BASELINE,
        uvicorn_argv("bench.baseline_app:app", port=port),
        env=env,
        cwd=workdir,
        log_path=workdir / "baseline.log",
        base_url=f"http://{LOOPBACK}:{port}",
    )


def check_baseline(server: ServerProcess, expected: bytes) -> None:
    """The baseline must serve the captured answer byte for byte, at the same URL the gateway is loaded on."""
    got = httpx.get(server.base_url + PATH, timeout=5).content
    if got != expected:
        raise BenchmarkError(
            f"baseline body differs from the captured answer ({len(got)} vs {len(expected)} bytes)"
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
        gateway.wait_ready("/api/health", timeout_s=60)
        with httpx.Client(base_url=gateway.base_url, timeout=10) as client:
            print(
                f"  seeding {STATION_COUNT} stations with an ongoing issue and {len(EVENTS)} events each",
                flush=True,
            )
            api_key = seed_issues(client)
            body = fetch_ongoing(client, api_key)
        with baseline_server(workdir, body) as baseline:
            baseline.wait_ready(PATH)
            check_baseline(baseline, body)
            # Both get the same request bytes, key included; the baseline just ignores the header.
            script = write_wrk_script(workdir / "ongoing_issues.lua", headers={"X-API-KEY": api_key})
            targets = [
                Target(GATEWAY, gateway.base_url + PATH, script),
                Target(BASELINE, baseline.base_url + PATH, script),
            ]
            log = run_alternating(targets, load)
            # A server that crashed mid-run, or an answer that changed shape, makes the numbers meaningless.
            gateway.ensure_running()
            baseline.ensure_running()
            with httpx.Client(base_url=gateway.base_url, timeout=10) as client:
                fetch_ongoing(client, api_key)
    return log, len(body)


def render(log: RoundLog, load: LoadSettings, body_size: int, value: float) -> str:
    gateway_rps = median([r.req_per_s for r in log.for_label(GATEWAY)])
    baseline_rps = median([r.req_per_s for r in log.for_label(BASELINE)])
    verdict = "Met" if value >= GOAL else "MISSED"
    example = re.sub(r":\d+/", ":PORT/", log.runs[0][2].command) if log.runs else ""
    return f"""## ongoing_issues: `GET {ROUTE}` (20 stations, 20 ongoing issues), gateway vs plain Starlette route

What it measures: the gateway (`andon serve`, SQLite, one uvicorn worker)
answering `GET {ROUTE}?stationcodes=` with {STATION_COUNT} station codes,
comma-separated, and a valid `X-API-KEY`. Each of the account's {STATION_COUNT}
stations has one ongoing `stop` issue, started {STARTED_AGO.seconds // 60} minutes
before the load, carrying {len(EVENTS)} events: `acknowledge` with operator
initials, `estimate` with `estimatedTime` 60, and `cause`
`{CAUSE_CODE}` from the `POST /api/admin/seedrun` cause tree.
Automatic escalation is switched off in the account config before the issues
are created, so no timer-raised event changes the answer during the run. The
baseline is a one-route Starlette app (`bench/baseline_app.py`) serving
{body_size:,} bytes captured from the gateway, under uvicorn with the same
options (one worker, `--log-level warning`, no access log), both on 127.0.0.1.

The gateway's answer is not fixed bytes: `duration` and `durationFormatted`
of an ongoing issue run until the moment of the request, so the gateway
computes them on every call and the baseline serves one captured answer. The
gateway is therefore checked for shape, before and after the load, not byte
for byte: 200, `isSuccess: true`, {STATION_COUNT} results, one per station, each
ongoing, with the events {", ".join(f"`{t}`" for t in EVENT_TYPES)} and `causeCode` set.
The baseline is checked byte for byte against the captured answer; any
non-2xx answer or socket error fails the run.

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
