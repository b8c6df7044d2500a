"""fanout: one change delivered to N live subscriptions, gateway vs a raw websocket broadcast.

N subscribers (500, 2,000 and 10,000 by default) hold one graphql-transport-ws socket
each to one ``andon serve`` process (SQLite), each subscribed to
``issueChanged(stationCodes: ["S1"]) { id revision isAcknowledged }`` with the
account's API key in ``connection_init``. Then M ``estimate`` events are posted
on the station's ongoing issue through the REST API, and every subscriber must
receive every change. The baseline is a plain Starlette websocket broadcast
(``bench/ws_baseline_app.py``) under uvicorn with the same options, sending the
very frames the gateway sent to the same number of sockets, triggered by a POST
in the same way; the figures are judged as ratios against it.

The client is a separate process (``bench/fanout_client.py``); see there for the
phases and the latency's definition. Settings (the published figures use the
defaults; the environment variables exist for quick trials):

    BENCH_FANOUT_SUBSCRIBERS  comma-separated N values   (default 500,2000,10000)
    BENCH_FANOUT_CHANGES      measured changes per run   (default 20)
    BENCH_FANOUT_INTERVAL_MS  time between changes       (default 300)

``python -m bench fanout`` runs it with the other benchmarks' runner (its
``--rounds``/``--duration``/``--warmup`` do not apply here).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    markdown_table,
    rewrite_section,
    run_checked,
    utc_now,
    uvicorn_argv,
)
from bench.ongoing_issues import NO_ESCALATION, iso_z
from bench.station_list import SYSTEM_KEY, andon_argv, expect_success, gateway_env

NAME = "fanout"
GATEWAY = "gateway"
BASELINE = "baseline"
DEFAULT_SUBSCRIBERS = (500, 2000, 10000)
DEFAULT_CHANGES = 20
DEFAULT_INTERVAL_MS = 300
STATION = "S1"
QUERY = f'subscription {{ issueChanged(stationCodes: ["{STATION}"]) {{ id revision isAcknowledged }} }}'
SUBSCRIPTION_ID = "1"  # every socket uses the same id, so every subscriber gets the same bytes
ESTIMATE = {"type": "estimate", "estimatedTime": 5}
WARMUP_SUBSCRIBERS = 20
HANDSHAKE_BATCH = 100
SETTLE_S = 2.0

# Goals from the issue. The p99 goals apply at the subscriber counts they name; RSS at every count.
P99_GOALS_MS = {2000: 100.0, 10000: 600.0}
RATIO_GOAL_AT = 2000
P99_RATIO_GOAL = 1.5  # gateway p99 at most 1.5 x the raw broadcast's
RSS_GOAL_KB = 40.0  # per idle subscriber
PACKAGES = (
    "uvicorn",
    "uvloop",
    "websockets",
    "starlette",
    "strawberry-graphql",
    "graphql-core",
    "tortoise-orm",
    "aiosqlite",
)


@dataclass(frozen=True)
class Settings:
    subscribers: tuple[int, ...]
    changes: int
    interval_ms: int


def _positive_ints(raw: str, what: str) -> tuple[int, ...]:
    try:
        values = tuple(int(part) for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise BenchmarkError(f"{what}: expected comma-separated integers, got {raw!r}") from exc
    if not values or min(values) < 1:
        raise BenchmarkError(f"{what}: expected positive integers, got {raw!r}")
    return values


def _positive_int(name: str, default: int) -> int:
    values = _positive_ints(os.environ.get(name, str(default)), name)
    if len(values) != 1:
        raise BenchmarkError(f"{name}: expected one positive integer, got {values}")
    return values[0]


def settings_from_env() -> Settings:
    subscribers = _positive_ints(
        os.environ.get("BENCH_FANOUT_SUBSCRIBERS", ",".join(map(str, DEFAULT_SUBSCRIBERS))),
        "BENCH_FANOUT_SUBSCRIBERS",
    )
    return Settings(
        subscribers,
        _positive_int("BENCH_FANOUT_CHANGES", DEFAULT_CHANGES),
        _positive_int("BENCH_FANOUT_INTERVAL_MS", DEFAULT_INTERVAL_MS),
    )


# --------------------------------------------------------------------------- one run's figures


@dataclass(frozen=True)
class Run:
    """One server with N subscribers, reduced to what the docs report."""

    server: str
    subscribers: int
    changes: int
    delivered: int
    connect_s: float
    phase_s: float
    posting_s: float
    post_p50_ms: float
    post_max_ms: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    first_p50_ms: float
    spread_p50_ms: float
    server_cpu_s: float
    client_cpu_s: float
    rss_before_kb: int
    rss_idle_kb: int
    rss_after_kb: int
    frame_bytes: int

    @property
    def expected(self) -> int:
        return self.subscribers * self.changes

    @property
    def cpu_us_per_msg(self) -> float:
        return self.server_cpu_s / self.delivered * 1e6

    @property
    def client_cpu_us_per_msg(self) -> float:
        return self.client_cpu_s / self.delivered * 1e6

    @property
    def rss_per_sub_kb(self) -> float:
        return (self.rss_idle_kb - self.rss_before_kb) / self.subscribers


def percentile(sorted_values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        raise BenchmarkError("percentile of no values")
    rank = max(1, math.ceil(share * len(sorted_values)))
    return float(sorted_values[rank - 1])


def reduce_run(server: str, result: dict[str, Any]) -> Run:
    n, m = int(result["subscribers"]), int(result["changes"])
    latencies = sorted(float(v) for v in result["latencies_ms"])
    delivered = int(result["delivered"])
    # The client already checked every subscriber's sequence; this is the loud summary of it.
    if delivered != n * m or len(latencies) != n * m:
        raise BenchmarkError(f"{server}, {n} subscribers: {delivered:,} of {n * m:,} messages delivered")
    firsts = sorted(float(v) for v in result["first_ms"])
    spreads = sorted(float(v) for v in result["spread_ms"])
    posts = sorted(float(v) for v in result["post_ms"])
    return Run(
        server=server,
        subscribers=n,
        changes=m,
        delivered=delivered,
        connect_s=float(result["connect_s"]),
        phase_s=float(result["phase_s"]),
        posting_s=float(result["posting_s"]),
        post_p50_ms=percentile(posts, 0.50),
        post_max_ms=posts[-1],
        p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99),
        max_ms=latencies[-1],
        first_p50_ms=percentile(firsts, 0.50),
        spread_p50_ms=percentile(spreads, 0.50),
        server_cpu_s=float(result["server_cpu_s"]),
        client_cpu_s=float(result["client_cpu_s"]),
        rss_before_kb=int(result["rss_before_kb"]),
        rss_idle_kb=int(result["rss_idle_kb"]),
        rss_after_kb=int(result["rss_after_kb"]),
        frame_bytes=len(result["frames"][-1].encode()),
    )


# --------------------------------------------------------------------------- processes


@contextlib.contextmanager
def open_files_limit(needed: int) -> Iterator[None]:
    """Raise this process's soft open-files limit for the servers and the client it starts (they inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise BenchmarkError(
            f"{needed:,} open files are needed per process and the hard limit is {hard:,}: "
            "lower BENCH_FANOUT_SUBSCRIBERS or raise the limit (ulimit -Hn)"
        )
    if soft == resource.RLIM_INFINITY or soft >= needed:
        yield
        return
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def gateway_server(workdir: Path, port: int, n: int) -> ServerProcess:
    return ServerProcess(
        GATEWAY,
        andon_argv("serve"),
        env=gateway_env(workdir, port),
        cwd=workdir,
        log_path=workdir / f"gateway-{n}.log",
        base_url=f"http://{LOOPBACK}:{port}",
    )


def baseline_server(workdir: Path, n: int) -> ServerProcess:
    port = free_port()
    return ServerProcess(
        BASELINE,
        uvicorn_argv("bench.ws_baseline_app:app", port=port),
        env=dict(os.environ),
        cwd=workdir,
        log_path=workdir / f"baseline-{n}.log",
        base_url=f"http://{LOOPBACK}:{port}",
    )


def client_timeouts(n: int, changes: int) -> dict[str, float]:
    """Bounds for every wait of the client, generous for the noisy machine but finite."""
    drain = 30 + n * changes * 0.004
    probe = 30 + n * 0.01
    quiet = 60.0
    overall = 60 + n * 0.02 + 3 * quiet + 2 * probe + drain
    return {
        "handshake_timeout_s": 30.0,
        "quiet_timeout_s": quiet,
        "probe_timeout_s": probe,
        "drain_timeout_s": drain,
        "post_timeout_s": 60.0,
        "overall_timeout_s": overall,
    }


def run_client(plan: dict[str, Any], workdir: Path, label: str) -> dict[str, Any]:
    plan_path, result_path = workdir / f"{label}.plan.json", workdir / f"{label}.result.json"
    plan_path.write_text(json.dumps(plan))
    result_path.unlink(missing_ok=True)
    log_path = workdir / f"{label}.client.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.fanout_client", str(plan_path), str(result_path)],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            proc.wait(timeout=plan["overall_timeout_s"] + 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            raise BenchmarkError(
                f"{label}: the client did not finish in {plan['overall_timeout_s'] + 30:.0f}s"
            ) from None
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    if not result_path.exists():
        output = log_path.read_text(errors="replace")[-4000:]
        raise BenchmarkError(f"{label}: the client exited {proc.returncode} without a result\n{output}")
    result: dict[str, Any] = json.loads(result_path.read_text())
    if "error" in result:
        raise BenchmarkError(f"{label}: {result['error']}")
    return result


# --------------------------------------------------------------------------- gateway side


def seed(client: httpx.Client, n: int) -> tuple[str, int]:
    """A fresh account per run (same state for every N): station S1 with one ongoing stop issue."""
    created = expect_success(
        client.post(
            "/api/admin/newaccount",
            headers={"X-API-KEY": SYSTEM_KEY},
            json={"domain": f"fanout-{n}.example", "plantName": "Fan-out Plant"},
        ),
        "POST /api/admin/newaccount",
    )
    result = created.get("result")
    if not isinstance(result, dict) or not {"apiKey", "plantCode"} <= result.keys():
        raise BenchmarkError(f"POST /api/admin/newaccount: unexpected result {created!r}")
    api_key, plant_code = str(result["apiKey"]), result["plantCode"]
    headers = {"X-API-KEY": api_key}
    # Timer-raised escalations would be changes nobody posted: off.
    expect_success(
        client.post("/api/admin/config", headers=headers, json={"config": NO_ESCALATION}),
        "POST /api/admin/config",
    )
    expect_success(
        client.post(
            "/api/station",
            headers=headers,
            json={
                "code": STATION,
                "name": "Station 1",
                "plantCode": plant_code,
                "cycleTime": 30,
                "downtimeDetectionMode": "production-cycle",
            },
        ),
        "POST /api/station",
    )
    issue = expect_success(
        client.post(
            "/api/issue",
            headers=headers,
            json={"type": "stop", "stationCode": STATION, "startAt": iso_z(dt.datetime.now(dt.UTC))},
        ),
        "POST /api/issue",
    )
    results = issue.get("results")
    if not isinstance(results, list) or len(results) != 1 or not isinstance(results[0], dict):
        raise BenchmarkError(f"POST /api/issue: unexpected answer {issue!r}")
    return api_key, int(results[0]["id"])


def base_plan(ws_url: str, api_key: str, n: int, settings: Settings, pid: int) -> dict[str, Any]:
    return {
        "ws_url": ws_url,
        "subprotocol": "graphql-transport-ws",
        "connection_init": json.dumps({"type": "connection_init", "payload": {"apiKey": api_key}}),
        "subscribe": json.dumps({"id": SUBSCRIPTION_ID, "type": "subscribe", "payload": {"query": QUERY}}),
        "subscribers": n,
        "warmup_subscribers": WARMUP_SUBSCRIBERS,
        "batch": HANDSHAKE_BATCH,
        "settle_s": SETTLE_S,
        "interval_s": settings.interval_ms / 1000,
        "server_pid": pid,
        **client_timeouts(n, settings.changes),
    }


def server_pid(server: ServerProcess) -> int:
    if server.proc is None:
        raise BenchmarkError(f"{server.name} is not running")
    return server.proc.pid


def run_gateway(workdir: Path, n: int, settings: Settings) -> dict[str, Any]:
    port = free_port()
    with gateway_server(workdir, port, n) as gateway:
        gateway.wait_ready("/api/health", timeout_s=60)
        with httpx.Client(base_url=gateway.base_url, timeout=10, trust_env=False) as client:
            api_key, issue_id = seed(client, n)
        change = {
            "url": f"{gateway.base_url}/api/issue/{issue_id}/event",
            "headers": {"X-API-KEY": api_key, "Content-Type": "application/json"},
            "body": json.dumps(ESTIMATE),
        }
        plan = base_plan(f"ws://{LOOPBACK}:{port}/graphql", api_key, n, settings, server_pid(gateway))
        plan.update(warmup=change, probe=change, changes=[change] * settings.changes)
        print(f"  gateway, {n:,} subscribers", flush=True)
        result = run_client(plan, workdir, f"gateway-{n}")
        gateway.ensure_running()
    return result


def run_baseline(workdir: Path, n: int, settings: Settings, frames: Sequence[str]) -> dict[str, Any]:
    """The same frames the gateway sent (probe first), broadcast by the plain app to the same N."""
    with baseline_server(workdir, n) as baseline:
        baseline.wait_ready("/health")
        url = f"{baseline.base_url}/publish"

        def trigger(frame: str) -> dict[str, Any]:
            return {"url": url, "headers": {"Content-Type": "application/json"}, "body": frame}

        ws_url = f"ws://{LOOPBACK}:{baseline.base_url.rsplit(':', 1)[1]}/graphql"
        plan = base_plan(ws_url, "not-checked", n, settings, server_pid(baseline))
        plan.update(
            warmup=trigger(frames[0]), probe=trigger(frames[0]), changes=[trigger(f) for f in frames[1:]]
        )
        print(f"  baseline, {n:,} subscribers", flush=True)
        result = run_client(plan, workdir, f"baseline-{n}")
        baseline.ensure_running()
    if result["frames"] != list(frames):
        raise BenchmarkError(f"baseline, {n} subscribers: the frames received differ from the gateway's")
    return result


def measure(workdir: Path, settings: Settings) -> list[tuple[Run, Run]]:
    """Per N: the gateway (fresh process, fresh account), then the baseline with the gateway's frames."""
    env = gateway_env(workdir, free_port())
    print("  andon migrate", flush=True)
    run_checked(andon_argv("migrate"), env=env, cwd=workdir)
    pairs: list[tuple[Run, Run]] = []
    with open_files_limit(max(settings.subscribers) + WARMUP_SUBSCRIBERS + 256):
        for n in settings.subscribers:
            gateway_result = run_gateway(workdir, n, settings)
            gateway_run = reduce_run(GATEWAY, gateway_result)
            say(gateway_run)
            baseline_run = reduce_run(BASELINE, run_baseline(workdir, n, settings, gateway_result["frames"]))
            say(baseline_run)
            pairs.append((gateway_run, baseline_run))
    return pairs


def say(run: Run) -> None:
    print(
        f"    {run.server}: {run.delivered:,}/{run.expected:,} delivered, p50 {run.p50_ms:.1f} ms, "
        f"p99 {run.p99_ms:.1f} ms, max {run.max_ms:.1f} ms, {run.cpu_us_per_msg:.1f} us CPU/msg, "
        f"{run.rss_per_sub_kb:.1f} kB RSS/idle subscriber",
        flush=True,
    )


# --------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class Goal:
    text: str
    measured: str
    met: bool


def goals(pairs: Sequence[tuple[Run, Run]]) -> list[Goal]:
    found: list[Goal] = []
    for gateway, baseline in pairs:
        n = gateway.subscribers
        if n in P99_GOALS_MS:
            limit = P99_GOALS_MS[n]
            found.append(
                Goal(
                    f"p99 at {n:,} subscribers ≤ {limit:.0f} ms",
                    f"{gateway.p99_ms:,.1f} ms",
                    gateway.p99_ms <= limit,
                )
            )
        if n == RATIO_GOAL_AT:
            value = gateway.p99_ms / baseline.p99_ms
            found.append(
                Goal(
                    f"p99 at {n:,} subscribers ≤ {P99_RATIO_GOAL} x the raw broadcast's",
                    f"{value:.2f} x",
                    value <= P99_RATIO_GOAL,
                )
            )
        found.append(
            Goal(
                f"RSS per idle subscriber at {n:,} ≤ {RSS_GOAL_KB:.0f} kB",
                f"{gateway.rss_per_sub_kb:.1f} kB",
                gateway.rss_per_sub_kb <= RSS_GOAL_KB,
            )
        )
    return found


def judged_pair(pairs: Sequence[tuple[Run, Run]]) -> tuple[Run, Run]:
    """The subscriber count the ratio goal names, else the largest measured."""
    for pair in pairs:
        if pair[0].subscribers == RATIO_GOAL_AT:
            return pair
    return max(pairs, key=lambda pair: pair[0].subscribers)


@dataclass(frozen=True)
class FanoutOutcome(Outcome):
    """The runner's ratio is "higher is better": raw broadcast p99 / gateway p99, goal 1/1.5.

    Met only if every other goal (absolute p99, RSS per subscriber) is met too.
    """

    others_met: bool = True

    @property
    def met(self) -> bool:
        return self.ratio >= self.goal and self.others_met


# --------------------------------------------------------------------------- docs


def latency_table(pairs: Sequence[tuple[Run, Run]], interval_ms: int) -> str:
    rows = []
    for pair in pairs:
        for run in pair:
            rows.append(
                [
                    run.server,
                    f"{run.subscribers:,}",
                    f"{run.delivered:,}/{run.expected:,}",
                    f"{run.connect_s:.2f}",
                    f"{run.posting_s:.1f} ({(run.changes - 1) * interval_ms / 1000:.1f})",
                    f"{run.post_p50_ms:,.1f} / {run.post_max_ms:,.1f}",
                    f"{run.p50_ms:,.1f}",
                    f"{run.p99_ms:,.1f}",
                    f"{run.max_ms:,.1f}",
                    f"{run.first_p50_ms:,.1f}",
                    f"{run.spread_p50_ms:,.1f}",
                ]
            )
    return markdown_table(
        [
            "server",
            "subscribers",
            "delivered",
            "connect s",
            "changes posted in s (schedule)",
            "POST answer p50 / max ms",
            "p50 ms",
            "p99 ms",
            "max ms",
            "first p50 ms",
            "spread p50 ms",
        ],
        rows,
        ["l", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r"],
    )


def cost_table(pairs: Sequence[tuple[Run, Run]]) -> str:
    rows = []
    for pair in pairs:
        for run in pair:
            rows.append(
                [
                    run.server,
                    f"{run.subscribers:,}",
                    f"{run.server_cpu_s:,.2f}",
                    f"{run.cpu_us_per_msg:,.1f}",
                    f"{run.client_cpu_us_per_msg:,.1f}",
                    f"{run.rss_before_kb / 1024:,.1f} / {run.rss_idle_kb / 1024:,.1f} / "
                    f"{run.rss_after_kb / 1024:,.1f}",
                    f"{run.rss_per_sub_kb:,.1f}",
                ]
            )
    return markdown_table(
        [
            "server",
            "subscribers",
            "server CPU s",
            "server CPU µs/msg",
            "client CPU µs/msg",
            "RSS MB before / idle / after",
            "RSS kB per idle subscriber",
        ],
        rows,
        ["l", "r", "r", "r", "r", "r", "r"],
    )


def ratios_table(pairs: Sequence[tuple[Run, Run]]) -> str:
    rows = [
        [
            f"{g.subscribers:,}",
            f"{g.p50_ms / b.p50_ms:.2f}",
            f"{g.p99_ms / b.p99_ms:.2f}",
            f"{g.cpu_us_per_msg / b.cpu_us_per_msg:.2f}",
            f"{g.rss_per_sub_kb / b.rss_per_sub_kb:.2f}" if b.rss_per_sub_kb > 0 else "n/a",
        ]
        for g, b in pairs
    ]
    return markdown_table(
        ["subscribers", "p50 ratio", "p99 ratio", "CPU/msg ratio", "RSS/sub ratio"],
        rows,
        ["r", "r", "r", "r", "r"],
    )


def goals_table(found: Sequence[Goal]) -> str:
    rows = [[goal.text, goal.measured, "met" if goal.met else "**MISSED**"] for goal in found]
    return markdown_table(["goal", "measured", "verdict"], rows, ["l", "r", "l"])


def render(pairs: Sequence[tuple[Run, Run]], settings: Settings, found: Sequence[Goal]) -> str:
    gateway, baseline = judged_pair(pairs)
    n = gateway.subscribers
    p99_ratio = gateway.p99_ms / baseline.p99_ms
    cpu_ratio = gateway.cpu_us_per_msg / baseline.cpu_us_per_msg
    verdict = "All goals met" if all(goal.met for goal in found) else "MISSED"
    facts = machine_facts(PACKAGES)
    facts.pop("wrk", None)
    counts = ", ".join(f"{run.subscribers:,}" for run, _ in pairs)
    measured = {run.subscribers for run, _ in pairs}
    unmeasured = "".join(
        f"\nNot measured in this run: p99 at {count:,} subscribers ≤ {limit:.0f} ms "
        f"(`BENCH_FANOUT_SUBSCRIBERS` adds {count:,}).\n"
        for count, limit in P99_GOALS_MS.items()
        if count not in measured
    )
    return f"""## fanout: one change to N live subscriptions, gateway vs raw websocket broadcast

What it measures: N subscribers ({counts}) on one gateway process (`andon
serve`, SQLite, one uvicorn worker, `ANDON_LOG_LEVEL=warning`), each holding
its own graphql-transport-ws socket to `/graphql` with the account's API key in
`connection_init` and one subscription (`id` "{SUBSCRIPTION_ID}"):

    {QUERY}

Then {settings.changes} changes, one every {settings.interval_ms} ms (a POST is
sent only once the previous one has answered): `POST /api/issue/ID/event`
with `{json.dumps(ESTIMATE)}` on the station's one ongoing issue. Each N gets a
fresh gateway process and a fresh account (station `{STATION}`, one ongoing `stop`
issue, automatic escalation switched off), so every run starts from the same
state. The baseline is a plain Starlette websocket app
(`bench/ws_baseline_app.py`) under uvicorn with the same options: it answers
the same handshake minimally (`connection_ack`, then the `subscribe` adds the
socket to its set) and on `POST /publish` sends the request body, as one text
frame, to every socket from one loop. The client posts it the very frames the
gateway sent in the same run ({gateway.frame_bytes} bytes each), so both
servers write the same bytes to the same number of sockets.

Method:

- Client: one separate Python process (`bench/fanout_client.py`, websockets
  asyncio client on uvloop), handshakes {HANDSHAKE_BATCH} at a time (connect,
  `connection_init`, wait for `connection_ack`, `subscribe`);
  permessage-deflate is **off** in both runs (the client offers no
  compression). Client and servers share the machine's cores.
- Warm-up: {WARMUP_SUBSCRIBERS} subscribers and one change first, then they
  disconnect; the server's RSS is read after that ("before").
- Readiness: there is no subscriber count to read, and `issueChanged` without
  `since` sends nothing on subscribe. After the last `subscribe` the client
  waits {SETTLE_S:.0f} s and until the server's CPU is quiet (under 10 % of a core
  over 250 ms), reads the RSS ("idle"), then posts one probe change that every
  subscriber must receive before the measured changes start; the probe is
  not measured.
- Latency of a message: the client's clock when a subscriber's `recv`
  returned minus the client's clock just before it sent the POST that made
  the change (one process, one monotonic clock). It therefore includes the
  REST call (for the gateway: auth, the transaction, the bus), the fan-out,
  loopback, and the client's own queueing while it reads N frames.
  "first" is when the first subscriber had the change, "spread" the time from
  the first to the last subscriber, both per change (median over changes).
- Schedule: change k is due {settings.interval_ms} ms x k after the first, and
  its POST waits until the previous POST has answered. When the server cannot
  keep up, the POSTs themselves queue behind the fan-out and the schedule
  slips: "changes posted in" shows how long posting took (the schedule in
  brackets). Latency counts from the actual send, so a slipped schedule hides
  that waiting from p99 (coordinated omission): p99 is a lower bound then.
- Delivery: every subscriber must receive the probe and every change exactly
  once, in order, as the same bytes (checked frame by frame); a loss, a
  duplicate, an error frame or a closed socket fails the run.
- Server CPU per message: utime + stime of the server process
  (`/proc/PID/stat`, all threads) from just before the first measured POST to
  the last receipt, divided by the messages delivered; it includes serving the
  {settings.changes} POSTs. RSS per idle subscriber: (VmRSS idle - VmRSS
  before) / N. "after" is VmRSS once every change was delivered (a high-water mark).

**{n:,} subscribers: gateway p99 / raw broadcast p99 = {p99_ratio:.2f} (goal ≤ {P99_RATIO_GOAL}); server CPU per message {cpu_ratio:.1f} x the broadcast's. {verdict}.**

{goals_table(found)}
{unmeasured}
The runner's one-line verdict shows the same p99 goal the other way up (raw
broadcast p99 / gateway p99, goal ≥ {1 / P99_RATIO_GOAL:.3f}, as its ratios are
"higher is better"), and counts as met only if every goal above is met.

- Date: {utc_now()}
- Command: `{command_line()}`
- Changes per run: {settings.changes}, one every {settings.interval_ms} ms; subscribers: {counts}
{facts_lines(facts)}

Every run, in the order run (gateway first, then the baseline, per N).
Delivery and latency:

{latency_table(pairs, settings.interval_ms)}

Cost on the server (and the client's own CPU, for scale):

{cost_table(pairs)}

Gateway / baseline:

{ratios_table(pairs)}
"""


def run(load: LoadSettings, docs: Path | None) -> Outcome:
    """Measure, then rewrite this benchmark's section of ``docs`` (None: print only)."""
    settings = settings_from_env()
    counts = ", ".join(f"{n:,}" for n in settings.subscribers)
    print(f"{NAME}: gateway vs raw websocket broadcast, {counts} subscribers", flush=True)
    with tempfile.TemporaryDirectory(prefix="andon-bench-") as tmp:
        pairs = measure(Path(tmp), settings)
    found = goals(pairs)
    if docs is not None:
        rewrite_section(NAME, render(pairs, settings, found), docs)
    gateway, baseline = judged_pair(pairs)
    return FanoutOutcome(
        NAME,
        baseline.p99_ms / gateway.p99_ms,
        round(1 / P99_RATIO_GOAL, 3),
        others_met=all(goal.met for goal in found),
    )
