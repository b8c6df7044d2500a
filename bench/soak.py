"""soak: one gateway process under the plant's whole load for a long time (default 30 minutes).

``python -m bench soak [--minutes M]``. Not part of the default ``make bench`` run (it takes half an
hour); run it by name. On one ``andon serve`` process (SQLite, the embedded default, with MQTT through
a Mosquitto started for the run):

- 2,000 websocket subscribers of ``issueChanged`` (graphql-transport-ws);
- 500 stations publishing ``production_complete_good`` at 1 message/s each over MQTT, QoS 1
  (``bench/mqtt_publisher.py``);
- 200 REST pollers, each reading ``/api/issue/ongoing`` or ``/api/station`` every 2 s;
- one issue change a second (an ``estimate`` event), whose arrival at every subscriber is timed.

Measured: the gateway's RSS every 10 s (table per minute), errors of every kind (REST non-200 and
transport errors, websockets closed or refused, changes not delivered to every subscriber, signals
published but not applied, ERROR lines in the gateway's log), p50/p99 of change-to-socket latency
(POST of the change until the frame is read) and of REST. Goals: no error, and RSS flat after the
warm-up (the first sixth of the run): its highest value at most 10 % above its value at the warm-up's end.

The load clients run in one child process (``python -m bench.soak client PLAN``), so the gateway's
CPU and memory are its own; clients and gateway share the machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.fanout import open_files_limit
from bench.harness import (
    LOOPBACK,
    REPO_ROOT,
    BenchmarkError,
    LoadSettings,
    Outcome,
    ServerProcess,
    facts_lines,
    free_port,
    machine_facts,
    markdown_table,
    rewrite_section,
    run_checked,
    utc_now,
)
from bench.mqtt_ingest import _mosquitto
from bench.station_list import SYSTEM_KEY, andon_argv, expect_success, gateway_env

NAME = "soak"
MINUTES = 30.0
SUBSCRIBERS = int(os.environ.get("BENCH_SOAK_SUBSCRIBERS", "2000"))
STATIONS = int(os.environ.get("BENCH_SOAK_STATIONS", "500"))
POLLERS = int(os.environ.get("BENCH_SOAK_POLLERS", "200"))
POLL_SECONDS = 2.0
CHANGE_SECONDS = 1.0
RSS_SAMPLE_SECONDS = 10.0
RSS_GOAL = 0.10  # highest RSS after the warm-up at most 10 % above the RSS at its end
CHANGE_STATION = "CHG"
HANDSHAKE_BATCH = 100
DRAIN_SECONDS = 10.0  # after the load, for the last frames and signals to arrive
NO_ESCALATION = {
    "ESCALATE_UNACKNOWLEDGED_AFTER_MINUTES": 0,
    "ESCALATE_UNESTIMATED_AFTER_MINUTES": 0,
    "ESCALATE_ON_ESTIMATE_EXPIRY": False,
}
SUBSCRIPTION = f'subscription {{ issueChanged(stationCodes: ["{CHANGE_STATION}"]) {{ id revision }} }}'


# --------------------------------------------------------------------------- the load client (child process)


@dataclass
class Tally:
    """What the client process counts; written as JSON at the end."""

    change_latency: array  # type: ignore[type-arg]  # array('d'): seconds
    rest_latency: array  # type: ignore[type-arg]
    errors: dict[str, int]
    frames: int = 0
    changes: int = 0
    rest_requests: int = 0
    keepalive_retries: int = 0

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


async def _subscriber(
    plan: dict[str, Any],
    tally: Tally,
    starts: dict[int, float],
    ready: asyncio.Event,
    stop: asyncio.Event,
    counter: list[int],
) -> None:
    from websockets.asyncio.client import connect

    try:
        async with connect(
            plan["ws_url"], subprotocols=["graphql-transport-ws"], open_timeout=60, max_size=None
        ) as ws:  # type: ignore[list-item]  # a plain str is the subprotocol
            await ws.send(json.dumps({"type": "connection_init", "payload": {"apiKey": plan["api_key"]}}))
            if json.loads(await ws.recv()).get("type") != "connection_ack":
                tally.error("ws refused")
                return
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}))
            counter[0] += 1
            if counter[0] == plan["subscribers"]:
                ready.set()
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 1.0)
                except TimeoutError:
                    continue
                arrived = time.time()
                message = json.loads(raw)
                if message.get("type") == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                    continue
                if message.get("type") != "next" or "errors" in message.get("payload", {}):
                    tally.error(f"ws {message.get('type')}")
                    continue
                revision = int(message["payload"]["data"]["issueChanged"]["revision"])
                tally.frames += 1
                started = starts.get(revision)
                if started is None:
                    tally.error("frame of an unknown change")
                else:
                    tally.change_latency.append(arrived - started)
    except Exception as exc:  # any failure of a socket is an error of the run, counted by kind
        tally.error(f"ws {type(exc).__name__}")


async def _poller(plan: dict[str, Any], http: httpx.AsyncClient, tally: Tally, stop: asyncio.Event) -> None:
    """A station tablet (the ongoing issues of a few stations, the changing one among them) or a
    dashboard (every station), alternately."""
    watched = [CHANGE_STATION, *(f"B{random.randrange(STATIONS):04d}" for _ in range(4))]
    paths = [f"/api/issue/ongoing?stationcodes={','.join(watched)}", "/api/station"]
    await asyncio.sleep(random.uniform(0, POLL_SECONDS))
    while not stop.is_set():
        started = time.monotonic()
        try:
            response = await _get(http, random.choice(paths), plan["api_key"], tally)
            tally.rest_latency.append(time.monotonic() - started)
            tally.rest_requests += 1
            if response.status_code != 200:
                tally.error(f"REST {response.status_code}: {response.text[:120]}")
        except httpx.HTTPError as exc:
            tally.error(f"REST {type(exc).__name__}")
        await asyncio.sleep(max(0.0, POLL_SECONDS - (time.monotonic() - started)))


async def _get(http: httpx.AsyncClient, path: str, key: str, tally: Tally) -> httpx.Response:
    """GET, sent again once when the connection broke before any response byte arrived. With the
    gateway's 75 s keep-alive and the client pool's 5 s expiry the client is the side that closes idle
    connections, so this should not happen; each such retry is counted apart and reported."""
    try:
        return await http.get(path, headers={"X-API-KEY": key})
    except (httpx.RemoteProtocolError, httpx.ReadError):
        tally.keepalive_retries += 1
        return await http.get(path, headers={"X-API-KEY": key})


async def _changes(
    plan: dict[str, Any], http: httpx.AsyncClient, tally: Tally, starts: dict[int, float], stop: asyncio.Event
) -> None:
    """One estimate event a second; change k is account revision base + k + 1 (nothing else changes)."""
    revision = plan["base_revision"]
    body = {"type": "estimate", "estimatedTime": 5}
    while not stop.is_set():
        due = time.monotonic() + CHANGE_SECONDS
        revision += 1
        starts[revision] = time.time()
        try:
            response = await http.post(plan["change_path"], json=body, headers={"X-API-KEY": plan["api_key"]})
            if response.status_code != 200:
                tally.error(f"change {response.status_code}")
        except httpx.HTTPError as exc:
            tally.error(f"change {type(exc).__name__}")
        tally.changes += 1
        await asyncio.sleep(max(0.0, due - time.monotonic()))


async def _client(plan: dict[str, Any]) -> dict[str, Any]:
    tally = Tally(array("d"), array("d"), {})
    starts: dict[int, float] = {}
    ready, stop, load_stop = asyncio.Event(), asyncio.Event(), asyncio.Event()
    counter = [0]
    limits = httpx.Limits(
        max_connections=POLLERS + 10, max_keepalive_connections=POLLERS + 10, keepalive_expiry=5.0
    )
    async with httpx.AsyncClient(
        base_url=plan["base_url"], timeout=30, limits=limits, trust_env=False
    ) as http:
        subscribers = []
        for start in range(0, plan["subscribers"], HANDSHAKE_BATCH):
            batch = min(HANDSHAKE_BATCH, plan["subscribers"] - start)
            subscribers += [
                asyncio.create_task(_subscriber(plan, tally, starts, ready, stop, counter))
                for _ in range(batch)
            ]
            await asyncio.sleep(0.2)
        await asyncio.wait_for(ready.wait(), 120)
        print("ready", flush=True)  # the parent starts the clock and the MQTT load on this line
        cpu_started = time.process_time()
        load = [asyncio.create_task(_poller(plan, http, tally, load_stop)) for _ in range(plan["pollers"])]
        load.append(asyncio.create_task(_changes(plan, http, tally, starts, load_stop)))
        await asyncio.sleep(plan["seconds"])
        load_stop.set()
        await asyncio.gather(*load)
        cpu_seconds = time.process_time() - cpu_started
        # The last change's frames, then the sockets close.
        expected = tally.changes * plan["subscribers"]
        deadline = time.monotonic() + DRAIN_SECONDS
        while tally.frames < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.gather(*subscribers)
    missing = expected - tally.frames
    if missing > 0:
        tally.errors["change frames not delivered"] = missing
    return {
        "changes": tally.changes,
        "frames": tally.frames,
        "rest_requests": tally.rest_requests,
        "keepalive_retries": tally.keepalive_retries,
        "client_cpu_seconds": cpu_seconds,
        "errors": tally.errors,
        "change_ms": _percentiles(tally.change_latency),
        "rest_ms": _percentiles(tally.rest_latency),
    }


def _percentiles(values: array) -> dict[str, float | None]:  # type: ignore[type-arg]
    ordered = sorted(values)
    if not ordered:
        return {"p50": None, "p99": None, "max": None}

    def at(share: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000, 2)

    return {"p50": at(0.5), "p99": at(0.99), "max": round(ordered[-1] * 1000, 2)}


def client_main(plan_path: str) -> None:
    plan = json.loads(Path(plan_path).read_text())
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    print(json.dumps(asyncio.run(_client(plan))), flush=True)


# --------------------------------------------------------------------------- the run (parent process)


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise BenchmarkError(f"no VmRSS for pid {pid}")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _setup(http: httpx.Client) -> tuple[str, str, int]:
    """The account, its stations and the issue whose events are the changes: (key, account, revision)."""
    created = expect_success(
        http.post(
            "/api/admin/newaccount",
            headers={"X-API-KEY": SYSTEM_KEY},
            json={"domain": "soak.example.com", "plantName": "Main", "accountId": "soak"},
        ),
        "POST /api/admin/newaccount",
    )
    result: dict[str, Any] = created["result"]  # type: ignore[assignment]
    key, plant = str(result["apiKey"]), str(result["plantCode"])
    headers = {"X-API-KEY": key}
    expect_success(http.post("/api/admin/config", headers=headers, json={"config": NO_ESCALATION}), "config")
    for code in [CHANGE_STATION, *(f"B{i:04d}" for i in range(STATIONS))]:
        body = {"code": code, "name": code, "plantCode": plant}
        expect_success(http.post("/api/station", headers=headers, json=body), "POST /api/station")
    start = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    issue = expect_success(
        http.post(
            "/api/issue",
            headers=headers,
            json={"type": "stop", "stationCode": CHANGE_STATION, "startAt": start},
        ),
        "POST /api/issue",
    )
    [row] = issue["results"]  # type: ignore[misc]
    listed = expect_success(http.get(f"/api/issue?id={row['id']}", headers=headers), "GET /api/issue")
    [current] = listed["results"]  # type: ignore[misc]
    return key, str(row["id"]), int(current["revision"])


@dataclass
class Samples:
    """(seconds since the load started, RSS kB) every RSS_SAMPLE_SECONDS."""

    rss: list[tuple[float, int]]


def _sample(pid: int, started: float, samples: Samples, stop: threading.Event) -> None:
    while not stop.wait(RSS_SAMPLE_SECONDS):
        samples.rss.append((time.monotonic() - started, _rss_kb(pid)))


def _publisher(port: int, seconds: float, workdir: Path) -> subprocess.Popen[str]:
    args = [LOOPBACK, str(port), "soak", str(STATIONS), "1", str(seconds)]
    return subprocess.Popen(
        [sys.executable, "-m", "bench.mqtt_publisher", *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=(workdir / "publisher.log").open("w"),
        text=True,
    )


def measure(minutes: float, workdir: Path) -> dict[str, Any]:
    seconds = minutes * 60
    mosquitto, mqtt_port = _mosquitto(workdir)
    try:
        port = free_port()
        env = gateway_env(workdir, port)
        env.update(ANDON_MQTT_URL=f"mqtt://{LOOPBACK}:{mqtt_port}", ANDON_MQTT_CLIENT_ID="soak-gateway")
        run_checked(andon_argv("migrate"), env=env, cwd=workdir)
        with (
            open_files_limit(SUBSCRIBERS + POLLERS + 1024),
            ServerProcess(
                "gateway",
                andon_argv("serve"),
                env=env,
                cwd=workdir,
                log_path=workdir / "gateway.log",
                base_url=f"http://{LOOPBACK}:{port}",
            ) as gateway,
        ):
            gateway.wait_ready("/api/health", timeout_s=60)
            with httpx.Client(base_url=gateway.base_url, timeout=30, trust_env=False) as http:
                key, issue_id, revision = _setup(http)
                plan = {
                    "ws_url": f"ws://{LOOPBACK}:{port}/graphql",
                    "base_url": gateway.base_url,
                    "api_key": key,
                    "subscribers": SUBSCRIBERS,
                    "pollers": POLLERS,
                    "seconds": seconds,
                    "change_path": f"/api/issue/{issue_id}/event",
                    "base_revision": revision,
                }
                (workdir / "plan.json").write_text(json.dumps(plan))
                result = _drive(gateway, http, workdir, mqtt_port, seconds)
            gateway.ensure_running()
            log = (workdir / "gateway.log").read_text(errors="replace")
    finally:
        mosquitto.terminate()
        mosquitto.wait(10)
    result["log_errors"] = sum(
        1 for line in log.splitlines() if " ERROR " in line or line.startswith("Traceback")
    )
    result["minutes"] = minutes
    return result


def _drive(
    gateway: ServerProcess, http: httpx.Client, workdir: Path, mqtt_port: int, seconds: float
) -> dict[str, Any]:
    assert gateway.proc is not None
    client = subprocess.Popen(
        [sys.executable, "-m", "bench.soak", "client", str(workdir / "plan.json")],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=(workdir / "client.log").open("w"),
        text=True,
    )
    assert client.stdout is not None
    if client.stdout.readline().strip() != "ready":
        client.kill()
        raise BenchmarkError(
            f"the load client did not connect its subscribers: {(workdir / 'client.log').read_text()[-2000:]}"
        )
    print(f"  {SUBSCRIBERS:,} subscribers connected; load for {seconds / 60:g} min", flush=True)
    started = time.monotonic()
    samples = Samples([(0.0, _rss_kb(gateway.proc.pid))])
    gateway_cpu = _cpu_seconds(gateway.proc.pid)
    stop = threading.Event()
    sampler = threading.Thread(target=_sample, args=(gateway.proc.pid, started, samples, stop), daemon=True)
    sampler.start()
    publisher = _publisher(mqtt_port, seconds, workdir)
    published = json.loads(publisher.communicate(timeout=seconds + 300)[0].strip().splitlines()[-1])[
        "published"
    ]
    gateway_cpu = _cpu_seconds(gateway.proc.pid) - gateway_cpu
    out, _ = client.communicate(timeout=seconds + 600)
    stop.set()
    sampler.join()
    if client.returncode != 0:
        raise BenchmarkError(f"the load client failed: {(workdir / 'client.log').read_text()[-2000:]}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    # Every published signal applied: the gateway's own counter, once the backlog has drained.
    deadline = time.monotonic() + DRAIN_SECONDS
    while (applied := int(http.get("/api/health").json()["signals"]["applied"])) < published:
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if applied != published:
        result["errors"]["signals published but not applied"] = published - applied
    result.update(published=published, applied=applied, rss=samples.rss, gateway_cpu_seconds=gateway_cpu)
    return result


# --------------------------------------------------------------------------- docs


def _rss_growth(rss: list[tuple[float, int]], seconds: float) -> tuple[int, int, float]:
    """(RSS at the warm-up's end, highest RSS after it, growth as a share)."""
    warm = seconds / 6
    after = [kb for t, kb in rss if t >= warm] or [rss[-1][1]]
    base = after[0]
    peak = max(after)
    return base, peak, (peak - base) / base


def section(result: dict[str, Any]) -> str:
    minutes = result["minutes"]
    seconds = minutes * 60
    base, peak, growth = _rss_growth(result["rss"], seconds)
    errors = sum(result["errors"].values()) + result["log_errors"]
    per_minute: dict[int, int] = {}
    for t, kb in result["rss"]:
        per_minute[int(t // 60)] = kb  # the last sample of each minute
    rss_rows = [[str(m), f"{kb / 1024:,.1f}"] for m, kb in sorted(per_minute.items())]
    error_rows = [[kind, str(count)] for kind, count in sorted(result["errors"].items())]
    error_rows.append(["ERROR lines in the gateway log", str(result["log_errors"])])
    c, r = result["change_ms"], result["rest_ms"]
    summary = markdown_table(
        ["measure", "value", "goal"],
        [
            ["duration", f"{minutes:g} min", "30 min"],
            ["RSS at the warm-up's end / highest after", f"{base / 1024:,.1f} / {peak / 1024:,.1f} MB", ""],
            ["RSS growth after the warm-up", f"{growth * 100:+.1f} %", f"<= {RSS_GOAL * 100:.0f} %"],
            ["errors (all kinds)", str(errors), "0"],
            ["change-to-socket p50 / p99 / max", f"{c['p50']} / {c['p99']} / {c['max']} ms", ""],
            ["REST p50 / p99 / max", f"{r['p50']} / {r['p99']} / {r['max']} ms", ""],
            [
                "changes x subscribers / frames delivered",
                f"{result['changes'] * SUBSCRIBERS:,} / {result['frames']:,}",
                "equal",
            ],
            ["signals published / applied", f"{result['published']:,} / {result['applied']:,}", "equal"],
            ["REST requests", f"{result['rest_requests']:,}", ""],
            ["REST GETs sent again after a broken connection", f"{result['keepalive_retries']:,}", ""],
            [
                "CPU used during the load: gateway / load clients (cores)",
                f"{result['gateway_cpu_seconds'] / seconds:.2f} / {result['client_cpu_seconds'] / seconds:.2f}",
                "",
            ],
        ],
        ["l", "r", "r"],
    )
    return "\n\n".join(
        [
            f"## Soak ({minutes:g}-minute run)",
            f"{SUBSCRIBERS:,} `issueChanged` subscribers, {STATIONS} stations at 1 message/s over MQTT "
            f"(QoS 1), {POLLERS} REST pollers every {POLL_SECONDS:g} s and one issue change a second on one "
            f"`andon serve` process (SQLite), for {minutes:g} minutes. Warm-up: the first sixth of the run. "
            "Run by name only: `python -m bench soak [--minutes M]`. The load clients (one process) share "
            "the machine's cores with the gateway, so the latencies include their queueing.",
            summary,
            "RSS of the gateway process (last sample of each minute of load):",
            markdown_table(["minute", "RSS MB"], rss_rows, ["r", "r"]),
            "Errors by kind:",
            markdown_table(["kind", "count"], error_rows, ["l", "r"]),
            f"Measured {utc_now()}.\n\n{facts_lines(machine_facts(('uvicorn', 'starlette', 'websockets')))}",
        ]
    )


@dataclass(frozen=True)
class SoakOutcome(Outcome):
    """ratio: 1 - RSS growth after the warm-up (goal 0.9); met only with no error as well."""

    errors: int = 0

    @property
    def met(self) -> bool:
        return self.ratio >= self.goal and self.errors == 0


def run(settings: LoadSettings, docs: Path | None, minutes: float = MINUTES) -> Outcome:
    del settings  # the soak's load is its own (the wrk settings do not apply)
    with tempfile.TemporaryDirectory(prefix="andon-soak-") as tmp:
        result = measure(minutes, Path(tmp))
    text = section(result)
    print(text, flush=True)
    if docs is not None:
        rewrite_section(NAME, text, docs)
    _, _, growth = _rss_growth(result["rss"], minutes * 60)
    errors = sum(result["errors"].values()) + result["log_errors"]
    return SoakOutcome(NAME, 1.0 - growth, 1.0 - RSS_GOAL, errors)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.soak")
    parser.add_argument("role", choices=["client"])
    parser.add_argument("plan")
    args = parser.parse_args()
    client_main(args.plan)
