"""mqtt_ingest: sustained MQTT signal ingestion into one gateway process through Mosquitto.

N stations (default 500) each publish R messages/s (default 10) for S seconds (default 60) at QoS 1
through a Mosquitto started for the run (``bench/mqtt_publisher.py``, a separate process). Measured on
one ``andon serve`` process (SQLite, the embedded default; stations in ``production-cycle`` mode with a
1 s cycle so detection and window closing run as in production):

- sustained rate: messages applied to windows per second while the load runs (from 5 s after the
  first publish to the last publish, the gateway's ``signals.applied`` counter in ``GET /api/health``);
  it cannot exceed the offered rate, so it is met at 98 % of it (the sampling's resolution at the
  window's ends), and the end-to-end rate (first publish until the last message is applied) is shown
  beside it;
- publish-to-window lag: sampled every 100 ms as the age of the newest applied message (the time
  since the publisher had published as many messages as were applied then); p50/p99 over the run;
- reconciliation: the windows' good counts and signal counts against the messages published;
- mass stop: every station goes silent when the load ends; ``createdAt - (startAt + threshold)`` of
  those stops (all of them open in the same ticks);
- detection latency: once those are open, 20 stations produce once more and go silent; for each of
  their stop issues ``createdAt - (startAt + threshold)``.

Baseline in the same run, same broker and same load: a bare aiomqtt subscriber that only decodes the
JSON (``bench/mqtt_baseline.py``). The ratio is the gateway's sustained rate over the baseline's.

Environment knobs for quick trials: BENCH_MQTT_STATIONS, BENCH_MQTT_RATE, BENCH_MQTT_SECONDS.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
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
)

NAME = "mqtt_ingest"
GOAL_RATIO = 0.9
GOAL_RATE = 5000.0
GOAL_LAG_P99 = 1.0
GOAL_DETECTION = 1.0
SYSTEM_KEY = "bench-system-key-" + uuid.uuid4().hex
CYCLE_SECONDS = 1.0
THRESHOLD_SECONDS = 1.5 * CYCLE_SECONDS
DETECT_STATIONS = 20


@dataclass
class Load:
    stations: int = int(os.environ.get("BENCH_MQTT_STATIONS", "500"))
    rate: float = float(os.environ.get("BENCH_MQTT_RATE", "10"))
    seconds: float = float(os.environ.get("BENCH_MQTT_SECONDS", "60"))

    @property
    def offered(self) -> float:
        return self.stations * self.rate


@dataclass
class Result:
    label: str
    received: int
    published: int
    seconds: float
    lag_p50: float | None
    lag_p99: float | None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.received / self.seconds if self.seconds > 0 else 0.0


def _mosquitto(tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        raise BenchmarkError("mosquitto not found: apt-get install -y mosquitto")
    port = free_port()
    conf = tmp / "mosquitto.conf"
    # Unlimited in-flight and queued QoS 1 messages: the gateway acknowledges after each batch commits
    # (docs/signals.md), which Mosquitto's default of 20 in flight would throttle.
    conf.write_text(
        f"listener {port} {LOOPBACK}\nallow_anonymous true\npersistence false\n"
        "max_inflight_messages 0\nmax_queued_messages 0\nuser root\n"
    )
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    if proc.poll() is not None:
        raise BenchmarkError("mosquitto did not start")
    return proc, port


def _publish(port: int, account: str, load: Load) -> dict[str, Any]:
    args = [LOOPBACK, str(port), account, str(load.stations), str(load.rate), str(load.seconds)]
    done = subprocess.run(
        [sys.executable, "-m", "bench.mqtt_publisher", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=load.seconds + 120,
        check=False,
    )
    if done.returncode != 0:
        raise BenchmarkError(f"publisher failed: {done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def baseline_round(port: int, load: Load) -> Result:
    expected = int(load.offered * load.seconds)
    sub = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.mqtt_baseline",
            LOOPBACK,
            str(port),
            str(expected),
            str(load.seconds + 60),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert sub.stdout is not None
    if sub.stdout.readline().strip() != "ready":
        raise BenchmarkError("baseline subscriber did not start")
    published = _publish(port, "baseline", load)
    out, _ = sub.communicate(timeout=120)
    summary = json.loads(out.strip().splitlines()[-1])
    if summary["received"] < published["published"]:
        print(f"{NAME}: the baseline received {summary['received']} of {published['published']} in time")
    return Result(
        "bare aiomqtt + JSON decode",
        summary["received"],
        published["published"],
        summary["seconds"],
        summary["p50"],
        summary["p99"],
    )


class Sampler:
    """Polls the gateway's applied-signal counter every 100 ms in a thread."""

    def __init__(self, base_url: str) -> None:
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(base_url,), daemon=True)

    def _run(self, base_url: str) -> None:
        with httpx.Client(base_url=base_url, timeout=5.0, trust_env=False) as http:
            while not self._stop.is_set():
                body = http.get("/api/health").json()
                self.samples.append((time.time(), int(body["signals"]["applied"])))
                time.sleep(0.1)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def _lags(samples: list[tuple[float, int]], schedule: list[tuple[float, int]], total: int) -> list[float]:
    """Per sample: how long ago the publisher had published as many messages as were applied."""
    lags = []
    for at, applied in samples:
        if applied <= 0 or applied >= total:
            continue
        published_at = next((t for t, count in schedule if count >= applied), None)
        if published_at is not None and at >= published_at:
            lags.append(at - published_at)
    return lags


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def gateway_round(port: int, load: Load, tmp: Path) -> Result:
    http_port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("ANDON_")},
        "ANDON_DATABASE_URL": f"sqlite://{tmp / 'bench.db'}",
        "ANDON_MQTT_URL": f"mqtt://{LOOPBACK}:{port}",
        "ANDON_MQTT_CLIENT_ID": "bench-gateway",
        "ANDON_SYSTEM_API_KEY": SYSTEM_KEY,
        "ANDON_HOST": LOOPBACK,
        "ANDON_PORT": str(http_port),
        "ANDON_LOG_LEVEL": "warning",
    }
    andon = str(Path(sys.executable).with_name("andon"))
    run_checked([andon, "migrate"], env=env, cwd=tmp)
    base = f"http://{LOOPBACK}:{http_port}"
    with ServerProcess(
        "gateway", [andon, "serve"], env=env, cwd=tmp, log_path=tmp / "gateway.log", base_url=base
    ) as gw:
        gw.wait_ready("/api/health")
        with httpx.Client(base_url=base, timeout=30.0, trust_env=False) as http:
            key = _setup(http, load)
            with Sampler(base) as sampler:
                published = _publish(port, "bench", load)
                total = published["published"]
                deadline = time.time() + 120
                while (not sampler.samples or sampler.samples[-1][1] < total) and time.time() < deadline:
                    time.sleep(0.1)
            # Detection on its own, backlog drained: every station stops with the load's end (the mass
            # stop); once those stops are open, DETECT_STATIONS of them produce once more (ending their
            # stop) and go silent again.
            _wait_all_stopped(http, key, load.stations, timeout=THRESHOLD_SECONDS + 60)
            time.sleep(1.0)
            probe_from = time.time()
            _publish(port, "bench", Load(DETECT_STATIONS, 1.0, 1.0))
            time.sleep(THRESHOLD_SECONDS + 3)
            return _gateway_result(http, key, sampler.samples, published, probe_from, gw)


def _setup(http: httpx.Client, load: Load) -> str:
    made = http.post(
        "/api/admin/newaccount",
        json={"domain": "bench.example.com", "plantName": "Main", "accountId": "bench"},
        headers={"X-API-KEY": SYSTEM_KEY},
    )
    if made.status_code != 200:
        raise BenchmarkError(f"newaccount: {made.status_code} {made.text}")
    key = made.json()["result"]["apiKey"]
    headers = {"X-API-KEY": key}
    for i in range(load.stations):
        body = {
            "code": f"B{i:04d}",
            "name": f"B{i:04d}",
            "plantCode": "main",
            "cycleTime": CYCLE_SECONDS,
            "downtimeDetectionMode": "production-cycle",
        }
        if http.post("/api/station", json=body, headers=headers).status_code != 200:
            raise BenchmarkError("station creation failed")
    deadline = time.time() + 20
    while http.get("/api/health").json()["mqtt"] != "ok":
        if time.time() > deadline:
            raise BenchmarkError("the gateway did not subscribe")
        time.sleep(0.1)
    return str(key)


def _ongoing_stops(http: httpx.Client, key: str) -> int:
    body = http.get("/api/issue?plantcode=main&limit=1000", headers={"X-API-KEY": key}).json()
    return sum(1 for issue in body["results"] if issue["endAt"] is None and issue["type"] == "stop")


def _wait_all_stopped(http: httpx.Client, key: str, stations: int, timeout: float) -> None:
    deadline = time.time() + timeout
    while _ongoing_stops(http, key) < stations:
        if time.time() > deadline:
            raise BenchmarkError(f"not every station had a stop {timeout:.0f} s after the load")
        time.sleep(0.2)


def _applied_at(samples: list[tuple[float, int]], moment: float) -> tuple[float, int]:
    """The first sample at or after `moment`."""
    return next(((t, n) for t, n in samples if t >= moment), samples[-1])


def _in_window_rate(samples: list[tuple[float, int]], schedule: list[tuple[float, int]]) -> float:
    start, end = schedule[0][0] + 5.0, schedule[-1][0]
    (t1, a1), (t2, a2) = _applied_at(samples, start), _applied_at(samples, end)
    return (a2 - a1) / (t2 - t1) if t2 > t1 else 0.0


def _gateway_result(
    http: httpx.Client,
    key: str,
    samples: list[tuple[float, int]],
    published: dict[str, Any],
    probe_from: float,
    gw: ServerProcess,
) -> Result:
    headers = {"X-API-KEY": key}
    total = int(published["published"])
    first_publish = published["schedule"][0][0]
    done = next((t for t, applied in samples if applied >= total), samples[-1][0])
    applied = samples[-1][1]
    lags = _lags(samples, published["schedule"], total)
    windows = http.get("/api/station-window?plantcode=main&rangecode=last-24-hours", headers=headers).json()
    if not windows.get("isSuccess"):
        raise BenchmarkError(f"windows: {windows}\n{gw.log_tail()}")
    good = sum(int(w["productionGoodCount"]) for w in windows["results"])
    signals = sum(int(w["signalCount"]) for w in windows["results"])
    issues = http.get("/api/issue?plantcode=main&limit=1000", headers=headers).json()["results"]
    detection, mass, early = [], [], 0
    load_end = published["schedule"][-1][0]
    for issue in issues:
        start = datetime.fromisoformat(issue["startAt"].replace("Z", "+00:00")).timestamp()
        created = datetime.fromisoformat(issue["createdAt"].replace("Z", "+00:00")).timestamp()
        if start >= probe_from:
            detection.append(created - (start + THRESHOLD_SECONDS))
        elif start < load_end - 1.0:
            early += 1  # opened while the load still ran: the backlog outgrew the threshold
        else:
            mass.append(created - (start + THRESHOLD_SECONDS))
    return Result(
        "andon serve (SQLite)",
        applied,
        total,
        done - first_publish,
        _percentile(lags, 0.5),
        _percentile(lags, 0.99),
        {
            "window_good": good,
            "window_signals": signals,
            "detected": len(detection),
            "detection_p50": _percentile(detection, 0.5),
            "detection_p99": _percentile(detection, 0.99),
            "detection_max": max(detection) if detection else None,
            "mass_stops": len(mass),
            "mass_p50": _percentile(mass, 0.5),
            "mass_max": max(mass) if mass else None,
            "early_stops": early,
            "in_window_rate": _in_window_rate(samples, published["schedule"]),
        },
    )


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _section(load: Load, base: Result, gw: Result) -> str:
    x = gw.extra
    rows = [
        [
            r.label,
            f"{r.published:,}",
            f"{r.received:,}",
            f"{r.seconds:.1f}",
            f"{r.rate:,.0f}",
            _fmt(r.lag_p50),
            _fmt(r.lag_p99),
        ]
        for r in (base, gw)
    ]
    table = markdown_table(
        ["subscriber", "published", "received/applied", "seconds", "msg/s", "lag p50 s", "lag p99 s"],
        rows,
        ["l", "r", "r", "r", "r", "r", "r"],
    )
    ratio = gw.rate / base.rate if base.rate else 0.0
    sustained = min(float(x["in_window_rate"]), load.offered)
    goals = [
        f"- sustained rate while the load ran {x['in_window_rate']:,.0f} msg/s (goal {GOAL_RATE:,.0f}, met at "
        f"98 % of it; offered {load.offered:,.0f}): "
        + ("met" if sustained >= 0.98 * GOAL_RATE else "MISSED")
        + f"; end to end, until the last message was applied, {gw.rate:,.0f} msg/s",
        f"- lag p99 {_fmt(gw.lag_p99)} s (goal ≤ {GOAL_LAG_P99} s): "
        + ("met" if gw.lag_p99 is not None and gw.lag_p99 <= GOAL_LAG_P99 else "MISSED"),
        f"- reconciliation: {gw.published:,} published, {gw.received:,} applied, windows hold "
        f"{x['window_good']:,} good units in {x['window_signals']:,} signals: "
        + (
            "none lost, none doubled"
            if x["window_good"] == gw.published + DETECT_STATIONS == x["window_signals"]
            else "the gateway had not caught up with its backlog when the run stopped waiting (120 s after the load)"
            if gw.received < gw.published
            else "MISMATCH"
        )
        + f" (the windows also hold the {DETECT_STATIONS} detection-probe messages)",
        f"- detection latency after the threshold ({x['detected']} stations going silent once the backlog "
        "was drained): p50 "
        f"{_fmt(x['detection_p50'])} s, p99 {_fmt(x['detection_p99'])} s, max {_fmt(x['detection_max'])} s "
        f"(goal ≤ {GOAL_DETECTION} s; Busroot's loop runs once a minute); stops opened during the load "
        f"on stations still producing: {x['early_stops']}",
        f"- mass stop ({x['mass_stops']} stations going silent together when the load ended): their stops "
        f"opened p50 {_fmt(x['mass_p50'])} s, max {_fmt(x['mass_max'])} s after the threshold",
        f"- ratio gateway / bare subscriber: {ratio:.3f} (goal ≥ {GOAL_RATIO})",
    ]
    return "\n".join(
        [
            f"## MQTT signal ingestion (mqtt_ingest, {load.stations} x {load.rate:g}/s x {load.seconds:g} s)",
            "",
            f"{load.stations} stations x {load.rate:g} msg/s for {load.seconds:g} s at QoS 1 through Mosquitto "
            "(max_inflight_messages 0), one `andon serve` process on SQLite; the publisher, Mosquitto, the "
            "gateway and the baseline share the machine. Run "
            f"{utc_now()} with `{command_line()}`.",
            "",
            table,
            "",
            *goals,
            "",
            facts_lines(machine_facts(("aiomqtt", "paho-mqtt", "tortoise-orm"))),
        ]
    )


def run(settings: LoadSettings, docs: Path | None) -> Outcome:
    del settings  # rounds/duration/warm-up of the HTTP benchmarks do not apply
    load = Load()
    with tempfile.TemporaryDirectory(prefix="andon-bench-mqtt-") as name:
        tmp = Path(name)
        broker, port = _mosquitto(tmp)
        try:
            base = baseline_round(port, load)
            print(f"{NAME}: baseline {base.rate:,.0f} msg/s", flush=True)
            gw = gateway_round(port, load, tmp)
            print(
                f"{NAME}: gateway {gw.rate:,.0f} msg/s, lag p99 {_fmt(gw.lag_p99)} s, {gw.extra}", flush=True
            )
        finally:
            broker.terminate()
            broker.wait(10)
    section = _section(load, base, gw)
    print(section)
    if docs is not None:
        # A run with other knobs gets a section of its own, so the default figures stay.
        default = Load(500, 10, 60)
        name = NAME if load == default else f"{NAME}-{load.stations}x{load.rate:g}x{load.seconds:g}"
        rewrite_section(name, section, docs)
    return Outcome(NAME, gw.rate / base.rate if base.rate else 0.0, GOAL_RATIO)
