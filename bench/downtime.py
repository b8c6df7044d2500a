"""downtime: ``GET /api/downtime`` for a whole plant (50 stations x 30 days of windows) on Postgres.

The gateway runs as deployed (``andon migrate`` then ``andon serve``) against a throw-away Postgres
started by ``scripts/services.sh`` (as the test suite starts it). 2.16 M station windows (one per
station per minute), a stop issue every couple of hours per station (half with a cause) and a daily
break per station as a non-production schedule are written straight into the tables with COPY; the
plant, its group with two shifts Monday to Saturday and the stations go through the REST API.

Measured, alternately and sequentially: the analysis over the last 30 days and the last 7 days,
and the baseline in the same run, one ``SELECT count(*)`` over the same windows (asyncpg, no HTTP).
Goals (the issue's): 30 days in at most 1 s, 7 days in at most 300 ms (medians). The runner's ratio
is the smaller headroom of the two (goal ÷ median, met when at least 1).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.harness import (
    LOOPBACK,
    REPO_ROOT,
    BenchmarkError,
    LoadSettings,
    Outcome,
    ServerProcess,
    command_line,
    facts_lines,
    free_port,
    machine_facts,
    median,
    rewrite_section,
    run_checked,
    utc_now,
)
from bench.station_list import SYSTEM_KEY, andon_argv, expect_success

NAME = "downtime"
STATIONS = 50
DAYS = 30
GOAL_30_MS = 1000.0
GOAL_7_MS = 300.0
REPEATS = 7
SHIFTS = [{"weekDay": day, "startHour": start, "duration": 8} for day in range(6) for start in (6, 14)]
PACKAGES = ("uvicorn", "starlette", "tortoise-orm", "asyncpg", "orjson")
WINDOW_COLUMNS = (
    "account_id",
    "station_id",
    "window_start_at",
    "total_ms",
    "shift_ms",
    "scheduled_production_ms",
    "scheduled_non_production_ms",
    "productive_ms",
    "downtime_ms",
    "production_good_count",
    "production_bad_count",
    "cycle_time_avg",
    "is_alive",
    "line_speed_samples",
    "rssi_samples",
    "signal_count",
)


# --------------------------------------------------------------------------- Postgres


def start_postgres(workdir: Path) -> tuple[str, Path]:
    """A throw-away Postgres from scripts/services.sh: its server DSN and the folder to stop."""
    services = workdir / "services"
    services.mkdir()
    # Postgres runs as the postgres user, which must reach the data folder through the temp folder.
    workdir.chmod(0o755)
    script = REPO_ROOT / "scripts" / "services.sh"
    run_checked(["bash", str(script), "start", str(services)], env=os.environ, cwd=REPO_ROOT, timeout_s=180)
    for line in (services / "env.sh").read_text().splitlines():
        if line.startswith("export ANDON_TEST_PG_DSN="):
            return line.split("=", 1)[1], services
    raise BenchmarkError("scripts/services.sh started no Postgres (see its output)")


def stop_services(services: Path) -> None:
    script = REPO_ROOT / "scripts" / "services.sh"
    subprocess.run(["bash", str(script), "stop", str(services)], cwd=REPO_ROOT, check=False, timeout=120)


# --------------------------------------------------------------------------- seeding


def seed_layout(client: httpx.Client) -> tuple[str, str]:
    """Account, plant, group with shifts, 50 stations, a break reason: (account id, API key)."""
    created = expect_success(
        client.post(
            "/api/admin/newaccount",
            headers={"X-API-KEY": SYSTEM_KEY},
            json={"domain": "bench.example", "plantName": "Bench Plant"},
        ),
        "POST /api/admin/newaccount",
    )["result"]
    assert isinstance(created, dict)
    key = {"X-API-KEY": str(created["apiKey"])}
    plant = created["plantCode"]
    calls: list[tuple[str, dict[str, Any]]] = [
        ("/api/station-group", {"code": "LINE", "name": "Line", "plantCode": plant, "shifts": SHIFTS}),
        ("/api/non-production-reason", {"code": "BREAK", "description": "Break"}),
    ]
    calls += [
        (
            "/api/station",
            {
                "code": f"ST-{n:02d}",
                "name": f"Station {n:02d}",
                "plantCode": plant,
                "groupCode": "LINE",
                "cycleTime": 30,
                "idleCostPerMinute": 3,
            },
        )
        for n in range(1, STATIONS + 1)
    ]
    for path, body in calls:
        expect_success(client.post(path, headers=key, json=body), f"POST {path}")
    expect_success(client.post("/api/admin/seedrun", headers=key), "POST /api/admin/seedrun")
    return str(created["accountId"]), str(created["apiKey"])


def in_shift(moment: dt.datetime) -> bool:
    return moment.weekday() < 6 and 6 <= moment.hour < 22


async def seed_history(dsn: str, account: str, end: dt.datetime) -> int:
    """Windows, issues (with cause events) and daily breaks, written with COPY; answers the window count."""
    conn = await asyncpg.connect(dsn)
    try:
        stations = [
            r["id"] for r in await conn.fetch("SELECT id FROM station WHERE account_id = $1", account)
        ]
        causes = [r["id"] for r in await conn.fetch("SELECT id FROM cause WHERE account_id = $1", account)]
        reason = await conn.fetchval("SELECT id FROM non_production_reason WHERE account_id = $1", account)
        start = end - dt.timedelta(days=DAYS)
        minutes = DAYS * 24 * 60
        total = 0
        for index, station in enumerate(stations):
            stops = _stops(index, start)
            stopped = {m for first, length in stops for m in range(first, first + length)}
            rows = []
            for m in range(minutes):
                moment = start + dt.timedelta(minutes=m)
                shift = in_shift(moment)
                running = shift and m not in stopped
                units = 2 if running and (m + index) % 7 else (1 if running else 0)
                bad = 1 if running and (m + index) % 53 == 0 else 0
                rows.append(
                    (
                        account,
                        station,
                        moment,
                        60000,
                        60000 if shift else 0,
                        60000 if shift else 0,
                        0,
                        60000 if running else 0,
                        60000 if shift and not running else 0,
                        units - bad if units else 0,
                        bad if units else 0,
                        60.0 / units if units else None,
                        True,
                        0,
                        0,
                        units,
                    )
                )
            await conn.copy_records_to_table("station_window", records=rows, columns=WINDOW_COLUMNS)
            total += len(rows)
            await _issues(conn, account, station, start, stops, causes)
            await _breaks(conn, account, station, reason, start)
        # A database in service has been vacuumed (visibility map, hint bits): measure that state.
        await conn.execute("VACUUM ANALYZE")
        return total
    finally:
        await conn.close()


def _stops(index: int, start: dt.datetime) -> list[tuple[int, int]]:
    """(first minute, length) of the station's stops: about every 2 hours in shift, 5-24 minutes long."""
    found = []
    for m in range(0, DAYS * 24 * 60, 127):
        moment = start + dt.timedelta(minutes=m + index)
        if in_shift(moment):
            found.append((m + index, 5 + (m + index) % 20))
    return found


async def _issues(
    conn: asyncpg.Connection,
    account: str,
    station: int,
    start: dt.datetime,
    stops: list[tuple[int, int]],
    causes: list[int],
) -> None:
    """The stops as ended issues (one pipelined batch), then a cause event on every other one."""
    now = dt.datetime.now(dt.UTC)
    rows = [
        (
            now,
            start + dt.timedelta(minutes=first),
            start + dt.timedelta(minutes=first + length),
            account,
            station,
        )
        for first, length in stops
    ]
    await conn.executemany(
        "INSERT INTO issue (created_at, updated_at, type, start_at, end_at, revision, account_id, station_id)"
        " VALUES ($1, $1, 'stop', $2, $3, 0, $4, $5)",
        rows,
    )
    await conn.execute(
        "INSERT INTO issue_event (created_at, updated_at, type, revision, account_id, cause_id, issue_id)"
        " SELECT $1, $1, 'cause', 0, account_id, ($3::int[])[1 + id % array_length($3::int[], 1)], id"
        " FROM issue WHERE station_id = $2 AND id % 2 = 0",
        now,
        station,
        causes,
    )


async def _breaks(
    conn: asyncpg.Connection, account: str, station: int, reason: int, start: dt.datetime
) -> None:
    now = dt.datetime.now(dt.UTC)
    rows = [
        (
            now,
            now,
            start + dt.timedelta(days=d, hours=12),
            start + dt.timedelta(days=d, hours=12, minutes=30),
            account,
            reason,
            station,
        )
        for d in range(DAYS)
    ]
    await conn.copy_records_to_table(
        "non_production_schedule",
        records=rows,
        columns=(
            "created_at",
            "updated_at",
            "planned_start_at",
            "planned_end_at",
            "account_id",
            "reason_id",
            "station_id",
        ),
    )


# --------------------------------------------------------------------------- measuring


def interval(end: dt.datetime, days: int) -> str:
    def z(moment: dt.datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    return f"{z(end - dt.timedelta(days=days))}/{z(end)}"


def timed_get(client: httpx.Client, key: str, rangecode: str) -> float:
    began = time.perf_counter()
    response = client.get(
        "/api/downtime",
        params={"plantcode": "bench-plant", "rangecode": rangecode},
        headers={"X-API-KEY": key},
    )
    elapsed = (time.perf_counter() - began) * 1000
    payload = expect_success(response, "GET /api/downtime")
    results = payload["results"]
    if not isinstance(results, list) or len(results) != STATIONS or results[0]["oee"]["oee"] is None:
        raise BenchmarkError(f"GET /api/downtime: unexpected answer {response.text[:1000]}")
    return elapsed


async def timed_count(dsn: str, account: str, end: dt.datetime, days: int) -> list[float]:
    conn = await asyncpg.connect(dsn)
    try:
        sql = "SELECT count(*) FROM station_window WHERE account_id = $1 AND window_start_at >= $2 AND window_start_at < $3"
        samples = []
        for _ in range(REPEATS + 1):
            began = time.perf_counter()
            await conn.fetchval(sql, account, end - dt.timedelta(days=days), end)
            samples.append((time.perf_counter() - began) * 1000)
        return samples[1:]  # the first run warms the cache
    finally:
        await conn.close()


def measure(workdir: Path) -> dict[str, Any]:
    server_dsn, services = start_postgres(workdir)
    try:
        dsn = f"{server_dsn}/bench_{uuid.uuid4().hex[:8]}"
        asyncio.run(_create_database(server_dsn, dsn.rsplit("/", 1)[1]))
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANDON_")}
        env.update(
            ANDON_DATABASE_URL=dsn,
            ANDON_HOST=LOOPBACK,
            ANDON_PORT=str(port),
            ANDON_SYSTEM_API_KEY=SYSTEM_KEY,
            ANDON_LOG_LEVEL="warning",
            ANDON_OUTBOX_DIR=str(workdir / "outbox"),
        )
        run_checked(andon_argv("migrate"), env=env, cwd=workdir)
        server = ServerProcess(
            "gateway",
            andon_argv("serve"),
            env=env,
            cwd=workdir,
            log_path=workdir / "gateway.log",
            base_url=f"http://{LOOPBACK}:{port}",
        )
        with server, httpx.Client(base_url=server.base_url, timeout=60) as client:
            server.wait_ready("/api/health")
            account, key = seed_layout(client)
            end = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            began = time.perf_counter()
            rows = asyncio.run(seed_history(dsn, account, end))
            seeded_s = time.perf_counter() - began
            print(f"  seeded {rows:,} windows in {seeded_s:.1f}s", flush=True)
            month, week = interval(end, 30), interval(end, 7)
            timed_get(client, key, month)
            timed_get(client, key, week)
            samples: dict[str, list[float]] = {"30": [], "7": []}
            for _ in range(REPEATS):
                samples["30"].append(timed_get(client, key, month))
                samples["7"].append(timed_get(client, key, week))
            count30 = asyncio.run(timed_count(dsn, account, end, 30))
            count7 = asyncio.run(timed_count(dsn, account, end, 7))
        return {
            "rows": rows,
            "seeded_s": seeded_s,
            "a30": samples["30"],
            "a7": samples["7"],
            "c30": count30,
            "c7": count7,
        }
    finally:
        stop_services(services)


async def _create_database(server_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(f"{server_dsn}/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def render(figures: dict[str, Any], headroom: float) -> str:
    a30, a7, c30, c7 = (median(figures[k]) for k in ("a30", "a7", "c30", "c7"))
    rows = [
        ("30 days (2.16 M windows)", a30, GOAL_30_MS, c30),
        ("7 days (504 k windows)", a7, GOAL_7_MS, c7),
    ]
    table = "\n".join(
        f"| {label} | {value:.1f} | {goal:.0f} | {'met' if value <= goal else 'MISSED'} | {count:.1f} | {value / count:.1f} |"
        for label, value, goal, count in rows
    )
    samples = "\n".join(
        f"- {name}: " + ", ".join(f"{v:.1f}" for v in figures[key])
        for name, key in (
            ("analysis 30 d", "a30"),
            ("analysis 7 d", "a7"),
            ("count 30 d", "c30"),
            ("count 7 d", "c7"),
        )
    )
    return f"""## downtime: `GET /api/downtime` for a whole plant (50 stations) on Postgres, vs `SELECT count(*)`

{STATIONS} stations x {DAYS} days of per-minute windows ({figures["rows"]:,} rows, seeded with COPY in
{figures["seeded_s"]:.1f} s), a stop about every two hours in shift per station (half with a cause),
a daily 30-minute break schedule, two shifts Monday to Saturday. Each figure is the median of
{REPEATS} sequential requests over HTTP (`andon serve`, Postgres from `scripts/services.sh`) after one
warm-up; the baseline is `SELECT count(*)` over the same windows through asyncpg, same run.

| range | analysis median ms | goal ms | verdict | count(*) median ms | analysis ÷ count(*) |
| --- | --- | --- | --- | --- | --- |
{table}

Headroom (smaller of goal ÷ median): {headroom:.2f} (met when at least 1).

Samples (ms):

{samples}

Run: {utc_now()}, `{command_line()}`

{facts_lines(machine_facts(PACKAGES))}
"""


def run(load: LoadSettings, docs: Path | None) -> Outcome:
    """Seed, measure, then rewrite this benchmark's section of ``docs`` (None: print only).

    The wrk load settings do not apply: the analysis is measured one request at a time.
    """
    del load
    print(f"{NAME}: {STATIONS} stations x {DAYS} days on Postgres", flush=True)
    with tempfile.TemporaryDirectory(prefix="andon-bench-") as tmp:
        figures = measure(Path(tmp))
    headroom = min(GOAL_30_MS / median(figures["a30"]), GOAL_7_MS / median(figures["a7"]))
    print(
        f"  30 d: {median(figures['a30']):.1f} ms (count {median(figures['c30']):.1f}), "
        f"7 d: {median(figures['a7']):.1f} ms (count {median(figures['c7']):.1f})",
        flush=True,
    )
    if docs is not None:
        rewrite_section(NAME, render(figures, headroom), docs)
    return Outcome(NAME, headroom, 1.0)
