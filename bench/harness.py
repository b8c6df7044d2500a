"""Reusable pieces for the benchmarks: server processes, wrk runs, medians, docs sections.

Nothing here knows about a particular benchmark. A benchmark module starts the
servers it compares (``ServerProcess``), loads them alternately with wrk
(``run_alternating``), and writes what it measured into its own section of
docs/benchmarks.md (``rewrite_section``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import TracebackType

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCS_PATH = REPO_ROOT / "docs" / "benchmarks.md"
LOOPBACK = "127.0.0.1"

# wrk has to be present; the Makefile installs it, this message says how by hand.
WRK_MISSING = "wrk not found on PATH: apt-get install -y wrk (Debian package 'wrk')"


class BenchmarkError(RuntimeError):
    """A benchmark could not produce trustworthy figures; the message says why."""


# --------------------------------------------------------------------------- load settings


@dataclass(frozen=True)
class LoadSettings:
    """How hard and how long each server is loaded.

    The defaults are the documented method: wrk -t2 -c50 -d10s after a 3 s warm-up,
    three alternating rounds per server.
    """

    threads: int = 2
    connections: int = 50
    duration_s: int = 10
    warmup_s: int = 3
    rounds: int = 3
    # wrk's per-request timeout; a request slower than this counts as a timeout, not a sample.
    timeout_s: int = 5

    def wrk_flags(self, duration_s: int | None = None) -> list[str]:
        seconds = self.duration_s if duration_s is None else duration_s
        return [
            f"-t{self.threads}",
            f"-c{self.connections}",
            f"-d{seconds}s",
            f"--timeout={self.timeout_s}s",
            "--latency",
        ]


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    """A loopback port nobody listens on right now (the kernel picks it for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def bin_path(name: str) -> str:
    """An executable from the running interpreter's environment, else from PATH.

    The venv's bin/ comes first so ``python -m bench`` uses the project's own
    console scripts even when the venv is not activated.
    """
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise BenchmarkError(f"{name} not found next to {sys.executable} nor on PATH")
    return found


def run_checked(argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, timeout_s: float = 120) -> str:
    """Run a short command to completion; raise with its output if it fails."""
    done = subprocess.run(
        list(argv), env=dict(env), cwd=cwd, capture_output=True, text=True, timeout=timeout_s, check=False
    )
    if done.returncode != 0:
        output = f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
        raise BenchmarkError(f"{shlex.join(argv)} exited {done.returncode}\n{output}")
    return done.stdout


class ServerProcess:
    """A long-running server started for one benchmark and always stopped afterwards.

    Output goes to a log file (not a pipe, which could fill up and stall the
    server under load); its tail is quoted when the server fails to come up.
    Use as a context manager so the process is stopped even when the benchmark fails.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        log_path: Path,
        base_url: str,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.cwd = cwd
        self.log_path = log_path
        self.base_url = base_url
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServerProcess:
        log = self.log_path.open("wb")
        try:
            # A session of its own, so a stray child can be killed with the group if SIGTERM is ignored.
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            log.close()  # the child holds its own copy of the descriptor
        return self

    def log_tail(self, max_chars: int = 4000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return text[-max_chars:] if text else "(empty log)"

    def ensure_running(self) -> None:
        if self.proc is None:
            raise BenchmarkError(f"{self.name} was never started")
        code = self.proc.poll()
        if code is not None:
            raise BenchmarkError(f"{self.name} exited with {code}\n--- log tail\n{self.log_tail()}")

    def wait_ready(self, path: str, *, timeout_s: float = 30.0) -> None:
        """Poll ``path`` until it answers 200; fail early if the process dies."""
        url = self.base_url + path
        deadline = time.monotonic() + timeout_s
        last = "no answer yet"
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                self.ensure_running()
                try:
                    response = client.get(url)
                except httpx.TransportError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                else:
                    if response.status_code == 200:
                        return
                    last = f"HTTP {response.status_code}: {response.text[:500]}"
                time.sleep(0.1)
        raise BenchmarkError(
            f"{self.name}: {url} not ready after {timeout_s:.0f}s ({last})\n--- log tail\n{self.log_tail()}"
        )

    def stop(self, *, grace_s: float = 15.0) -> None:
        """SIGTERM and wait (a clean shutdown is part of the contract); SIGKILL the group if it hangs."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
            print(f"warning: {self.name} ignored SIGTERM for {grace_s:.0f}s and was killed", file=sys.stderr)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def uvicorn_argv(app: str, *, port: int, app_dir: Path = REPO_ROOT) -> list[str]:
    """uvicorn as the gateway runs it: one worker, warnings only, no access log."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--app-dir",
        str(app_dir),
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--workers",
        "1",
        "--log-level",
        "warning",
        "--no-access-log",
    ]


# --------------------------------------------------------------------------- wrk

# A done() hook prints one machine-readable line, so parsing does not depend on
# wrk's human units ("1.23ms", "12.3k").
_DONE_HOOK = """
done = function(summary, latency, requests)
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_us=%d bytes=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d "
    .. "connect=%d read=%d write=%d status=%d timeout=%d\\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout))
end
"""

_RESULT_LINE = re.compile(r"^BENCH_RESULT (.*)$", re.MULTILINE)
_HEADER_VALUE = re.compile(r"^[\x20-\x7e]*$")


def _lua_string(value: str) -> str:
    if not _HEADER_VALUE.match(value):
        raise BenchmarkError(f"header value is not printable ASCII: {value!r}")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_wrk_script(
    path: Path, *, method: str = "GET", headers: Mapping[str, str] | None = None, body: str | None = None
) -> Path:
    """A wrk Lua script with a fixed request (static, so wrk needs no per-request Lua call)."""
    lines = [f"wrk.method = {_lua_string(method)}"]
    for name, value in (headers or {}).items():
        lines.append(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}")
    if body is not None:
        lines.append(f"wrk.body = {_lua_string(body)}")
    path.write_text("\n".join(lines) + "\n" + _DONE_HOOK)
    return path


@dataclass(frozen=True)
class WrkRun:
    """One wrk run, reduced to the numbers the docs report."""

    requests: int
    duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    bytes_read: int
    errors_connect: int
    errors_read: int
    errors_write: int
    non_2xx_3xx: int
    timeouts: int
    command: str = ""

    @property
    def req_per_s(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def socket_errors(self) -> int:
        return self.errors_connect + self.errors_read + self.errors_write


def parse_wrk_output(text: str, command: str = "") -> WrkRun:
    """Read the done() hook's line out of wrk's stdout."""
    matches = _RESULT_LINE.findall(text)
    if not matches:
        raise BenchmarkError(f"wrk printed no BENCH_RESULT line; output was:\n{text}")
    fields = dict(pair.split("=", 1) for pair in matches[-1].split())
    number = {key: int(value) for key, value in fields.items()}
    return WrkRun(
        requests=number["requests"],
        duration_s=number["duration_us"] / 1e6,
        p50_ms=number["p50_us"] / 1000,
        p90_ms=number["p90_us"] / 1000,
        p99_ms=number["p99_us"] / 1000,
        max_ms=number["max_us"] / 1000,
        bytes_read=number["bytes"],
        errors_connect=number["connect"],
        errors_read=number["read"],
        errors_write=number["write"],
        non_2xx_3xx=number["status"],
        timeouts=number["timeout"],
        command=command,
    )


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise BenchmarkError(WRK_MISSING)
    return found


def run_wrk(url: str, script: Path, load: LoadSettings, *, duration_s: int | None = None) -> WrkRun:
    """One wrk run against ``url``; raises if wrk fails or any request was refused or errored."""
    argv = [wrk_binary(), *load.wrk_flags(duration_s), "-s", str(script), url]
    seconds = load.duration_s if duration_s is None else duration_s
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=seconds + load.timeout_s + 60, check=False
    )
    # The recorded command names the script by file name only: its directory is a throwaway temp dir.
    shown = shlex.join(["wrk", *load.wrk_flags(duration_s), "-s", script.name, url])
    if done.returncode != 0:
        raise BenchmarkError(f"{shown} exited {done.returncode}\n{done.stdout}\n{done.stderr}")
    run = parse_wrk_output(done.stdout, shown)
    check_run(run, url)
    return run


def check_run(run: WrkRun, url: str) -> None:
    """A throughput figure only counts if every answer was a success."""
    if run.requests == 0:
        raise BenchmarkError(f"wrk completed no request against {url}")
    if run.non_2xx_3xx:
        raise BenchmarkError(f"{run.non_2xx_3xx} of {run.requests} responses from {url} were not 2xx/3xx")
    if run.socket_errors:
        raise BenchmarkError(
            f"socket errors against {url}: connect {run.errors_connect}, read {run.errors_read}, "
            f"write {run.errors_write}"
        )


@dataclass(frozen=True)
class Outcome:
    """What a benchmark hands back to the runner: its ratio and the goal it is judged by."""

    name: str
    ratio: float
    goal: float

    @property
    def met(self) -> bool:
        return self.ratio >= self.goal


@dataclass(frozen=True)
class Target:
    """One server under load: a label for the docs, the URL, and its wrk script."""

    label: str
    url: str
    script: Path


@dataclass
class RoundLog:
    """Every run in the order it happened, so the docs can show the interleaving."""

    runs: list[tuple[int, Target, WrkRun]] = field(default_factory=list)

    def for_label(self, label: str) -> list[WrkRun]:
        return [run for _, target, run in self.runs if target.label == label]


def run_alternating(targets: Sequence[Target], load: LoadSettings, *, progress: bool = True) -> RoundLog:
    """Warm each target up, then load them in turn, round after round.

    Interleaving spreads the machine's background noise over every target
    instead of letting one target absorb a noisy minute.
    """
    for target in targets:
        if load.warmup_s > 0:
            _say(progress, f"  warm-up {target.label} ({load.warmup_s}s)")
            run_wrk(target.url, target.script, load, duration_s=load.warmup_s)
    log = RoundLog()
    for round_no in range(1, load.rounds + 1):
        for target in targets:
            run = run_wrk(target.url, target.script, load)
            log.runs.append((round_no, target, run))
            _say(
                progress,
                f"  round {round_no} {target.label}: {run.req_per_s:,.1f} req/s, "
                f"p50 {run.p50_ms:.2f} ms, p99 {run.p99_ms:.2f} ms",
            )
    return log


def _say(enabled: bool, message: str) -> None:
    if enabled:
        print(message, flush=True)


# --------------------------------------------------------------------------- statistics


# The two servers of the HTTP benchmarks, as labelled in their rounds and docs.
GATEWAY = "gateway"
BASELINE = "baseline"
Measure = Callable[["LoadSettings", Path], tuple["RoundLog", int]]  # the rounds and the body's size
Render = Callable[["RoundLog", "LoadSettings", int, float], str]  # the docs section, given the ratio


def run_gateway_vs_baseline(
    name: str, goal: float, load: LoadSettings, docs: Path | None, measure: Measure, render: Render
) -> Outcome:
    """An HTTP benchmark's run: measure, then rewrite its section of ``docs`` (None: print only). The
    ratio is the gateway's median req/s over the baseline's."""
    print(f"{name}: gateway vs baseline, {load.rounds} rounds each", flush=True)
    # Everything the run creates (database, logs, body, Lua script) goes away with this directory.
    with tempfile.TemporaryDirectory(prefix="andon-bench-") as tmp:
        log, body_size = measure(load, Path(tmp))
    value = ratio(
        median([r.req_per_s for r in log.for_label(GATEWAY)]),
        median([r.req_per_s for r in log.for_label(BASELINE)]),
    )
    if docs is not None:
        rewrite_section(name, render(log, load, body_size, value), docs)
    return Outcome(name, value, goal)


def median(values: Sequence[float]) -> float:
    if not values:
        raise BenchmarkError("median of no values")
    return float(statistics.median(values))


def ratio(numerator: float, denominator: float) -> float:
    if denominator <= 0:
        raise BenchmarkError("baseline measured zero throughput")
    return numerator / denominator


# --------------------------------------------------------------------------- machine facts


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _wrk_version() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        return "not installed"
    done = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False)
    first = (done.stdout or done.stderr).splitlines()
    return first[0].split(" [")[0].replace("wrk ", "", 1) if first else "unknown"


def _nproc() -> int:
    # What this process may use (affinity), which is what nproc prints.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 0


def machine_facts(packages: Sequence[str] = ("uvicorn", "starlette")) -> dict[str, str]:
    """Facts that explain the absolute numbers; the ratios are what carry across machines."""
    facts = {
        "nproc": str(_nproc()),
        "CPU": _cpu_model(),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "wrk": _wrk_version(),
    }
    for package in packages:
        facts[package] = _version(package)
    return facts


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def command_line() -> str:
    """How this run was started, as someone would type it."""
    return shlex.join(["python", "-m", "bench", *sys.argv[1:]])


# --------------------------------------------------------------------------- markdown

DOCS_INTRO = """# Benchmarks

Each section below is rewritten by its benchmark when `make bench`
(`python -m bench`) runs; text outside the `<!-- bench:NAME -->` markers is kept.
Run a single benchmark with `python -m bench NAME`.

The machines this project builds on are small and shared (2 cores, other work
running), so absolute requests per second move by tens of percent from one run
to the next. Every benchmark therefore measures its baseline in the same run,
alternating rounds between the two servers so noise hits both, and judges the
ratio of the medians, not the raw numbers.
"""


def markdown_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], align: Sequence[str] | None = None
) -> str:
    """A GitHub table; ``align`` holds 'l' or 'r' per column."""
    marks = ["---:" if a == "r" else "---" for a in (align or ["l"] * len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def rounds_table(log: RoundLog) -> str:
    """Every round as it ran, with the numbers wrk reported."""
    rows = [
        [
            str(round_no),
            target.label,
            f"{run.req_per_s:,.1f}",
            f"{run.p50_ms:.2f}",
            f"{run.p99_ms:.2f}",
            f"{run.requests:,}",
            str(run.non_2xx_3xx),
            str(run.timeouts),
        ]
        for round_no, target, run in log.runs
    ]
    return markdown_table(
        ["round", "server", "req/s", "p50 ms", "p99 ms", "requests", "non-2xx/3xx", "timeouts"],
        rows,
        ["r", "l", "r", "r", "r", "r", "r", "r"],
    )


def medians_table(log: RoundLog, labels: Sequence[str]) -> str:
    rows = []
    for label in labels:
        runs = log.for_label(label)
        rows.append(
            [
                label,
                f"{median([r.req_per_s for r in runs]):,.1f}",
                f"{median([r.p50_ms for r in runs]):.2f}",
                f"{median([r.p99_ms for r in runs]):.2f}",
            ]
        )
    return markdown_table(
        ["server", "median req/s", "median p50 ms", "median p99 ms"], rows, ["l", "r", "r", "r"]
    )


def facts_lines(facts: Mapping[str, str]) -> str:
    return "\n".join(f"- {key}: {value}" for key, value in facts.items())


def section_markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"


def rewrite_section(name: str, body: str, path: Path = DOCS_PATH) -> None:
    """Replace the text between this benchmark's markers, or append a new section.

    Other sections and any hand-written text outside the markers are left alone.
    """
    start, end = section_markers(name)
    block = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text() if path.exists() else DOCS_INTRO
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write-then-rename so an interrupted run never leaves a half-written file.
    scratch = path.with_suffix(path.suffix + ".tmp")
    scratch.write_text(text)
    scratch.replace(path)
