"""The real gateway as a child process: `andon migrate`, then `andon serve` (or `andon demo`) on a free port.

Everything here talks to 127.0.0.1 only, and every process it starts is stopped before the test ends.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from tests.helpers.waiting import poll
from tests.services import BACKEND, create_pg_database, drop_pg_database, free_port

# The console script installed next to the interpreter running the tests (.venv/bin/andon).
ANDON = Path(sys.executable).with_name("andon")
HOST = "127.0.0.1"
READY_SECONDS = 15.0
STOP_SECONDS = 10.0
CLI_SECONDS = 60.0


def andon_env(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any ANDON_* variable, plus `overrides`."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("ANDON_")}
    env.update(overrides or {})
    return env


def run_andon(
    args: Sequence[str], env: Mapping[str, str], cwd: Path, timeout: float = CLI_SECONDS
) -> subprocess.CompletedProcess[str]:
    """Run `andon ARGS` to completion with exactly `env` (see andon_env) in `cwd`."""
    return subprocess.run(
        [str(ANDON), *args],
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def describe(result: subprocess.CompletedProcess[str]) -> str:
    """A completed command's exit code and output, for assertion messages."""
    return f"exit {result.returncode}\n--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"


@contextmanager
def subprocess_database(tmp_path: Path) -> Iterator[str]:
    """An empty database of the run's backend that a child process can open, dropped afterwards."""
    if BACKEND == "postgres":
        url = asyncio.run(create_pg_database())
        try:
            yield url
        finally:
            asyncio.run(drop_pg_database(url))
    else:
        # tmp_path is absolute, so this is sqlite:///abs/path.db.
        yield f"sqlite://{tmp_path / f'andon-{uuid.uuid4().hex[:8]}.db'}"


def result_of(response: httpx.Response) -> Any:
    """The `result` (or `results`) of a successful REST answer: HTTP 200 and isSuccess."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["isSuccess"] is True, body
    return body.get("result", body.get("results"))


def http_client(base_url: str, *, local_address: str | None = None) -> httpx.Client:
    """A client for a gateway on 127.0.0.1; proxy variables are ignored, `local_address` picks the source."""
    transport = httpx.HTTPTransport(local_address=local_address) if local_address else None
    return httpx.Client(base_url=base_url, transport=transport, trust_env=False, timeout=10.0)


class _Lines:
    """Reads one pipe in a thread, so the child never blocks on a full pipe, and keeps every line."""

    def __init__(self, pipe: IO[str]) -> None:
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._pump, args=(pipe,), daemon=True)
        self._thread.start()

    def _pump(self, pipe: IO[str]) -> None:
        with pipe:
            for line in pipe:
                with self._changed:
                    self._lines.append(line)
                    self._changed.notify_all()

    def text(self) -> str:
        with self._changed:
            return "".join(self._lines)

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str] | None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if match := pattern.search("".join(self._lines)):
                    return match
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return None
                self._changed.wait(min(left, 0.2))

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


class Gateway:
    """A running `andon` child process serving on `base_url`."""

    def __init__(self, process: subprocess.Popen[str], base_url: str) -> None:
        assert process.stdout is not None and process.stderr is not None
        self.process = process
        self.base_url = base_url
        self._stdout = _Lines(process.stdout)
        self._stderr = _Lines(process.stderr)

    def stdout(self) -> str:
        return self._stdout.text()

    def stderr(self) -> str:
        return self._stderr.text()

    def output(self) -> str:
        """Both streams so far, for assertion messages."""
        return f"--- stdout ---\n{self.stdout()}\n--- stderr ---\n{self.stderr()}"

    def wait_for_stdout(self, pattern: str, timeout: float) -> re.Match[str]:
        """The first match of `pattern` in stdout; fails the test if it does not appear within `timeout`."""
        match = self._stdout.wait_for(re.compile(pattern), timeout)
        if match is None:
            pytest.fail(f"{pattern!r} did not appear on stdout within {timeout} s\n{self.output()}")
        return match

    def client(self, *, local_address: str | None = None) -> httpx.Client:
        return http_client(self.base_url, local_address=local_address)

    def wait_ready(self, timeout: float) -> None:
        """Poll GET /api/health until it answers 200; fail if the process exits or the time runs out."""
        with self.client() as client:

            def state() -> str:
                """`ready`, `exited`, or what the attempt got instead."""
                if self.process.poll() is not None:
                    return "exited"
                try:
                    response = client.get("/api/health", timeout=2.0)
                except httpx.TransportError as exc:
                    return repr(exc)
                return "ready" if response.status_code == 200 else f"{response.status_code} {response.text}"

            last = poll(state, lambda s: s in ("ready", "exited"), timeout=timeout)
        if last == "exited":
            self.wait_or_kill()  # already gone: collects the rest of its output
            pytest.fail(f"`andon` exited with {self.process.returncode} before serving\n{self.output()}")
        if last != "ready":
            pytest.fail(f"GET /api/health was not 200 within {timeout} s (last: {last})\n{self.output()}")

    def send(self, sig: signal.Signals = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)

    def wait_or_kill(self) -> bool:
        """Wait up to STOP_SECONDS for the process to exit, else SIGKILL it; whether it had to be killed."""
        killed = False
        try:
            self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_SECONDS)
            killed = True
        self._stdout.join(STOP_SECONDS)
        self._stderr.join(STOP_SECONDS)
        return killed

    def wait_stopped(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Wait for the exit `sig` asked for; the exit code. Needing SIGKILL fails the test."""
        if self.wait_or_kill():
            pytest.fail(
                f"`andon` did not exit within {STOP_SECONDS} s of {sig.name}; killed\n{self.output()}"
            )
        return self.process.returncode

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Send `sig` and wait for the exit (see wait_stopped)."""
        self.send(sig)
        return self.wait_stopped(sig)


@contextmanager
def running_gateways(
    env: Mapping[str, str],
    cwd: Path,
    *,
    count: int = 1,
    command: Sequence[str] = ("serve",),
    migrate: bool = True,
    log_level: str | None = "warning",
    ready_seconds: float = READY_SECONDS,
) -> Iterator[list[Gateway]]:
    """`andon migrate` (unless `migrate` is False), then `count` processes of `andon COMMAND`, each on
    a free port of 127.0.0.1, started side by side.

    `env` holds the ANDON_* settings (any other ANDON_* variable of this process is dropped);
    ANDON_HOST, ANDON_PORT and, unless `log_level` is None, ANDON_LOG_LEVEL are added. Yields once
    GET /api/health answers 200 on each; on exit sends SIGTERM to all and fails the test unless each
    is gone within STOP_SECONDS.
    """
    settings = {"ANDON_HOST": HOST, **({"ANDON_LOG_LEVEL": log_level} if log_level else {}), **env}
    if migrate:
        result = run_andon(["migrate"], andon_env(settings), cwd)
        assert result.returncode == 0, f"`andon migrate` failed: {describe(result)}"
    gateways: list[Gateway] = []
    ports: set[int] = set()
    try:
        for _ in range(count):
            while (port := free_port()) in ports:
                pass
            ports.add(port)
            process = subprocess.Popen(
                [str(ANDON), *command],
                env=andon_env({**settings, "ANDON_PORT": str(port)}),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            gateways.append(Gateway(process, f"http://{HOST}:{port}"))
        for gateway in gateways:
            gateway.wait_ready(ready_seconds)
        yield gateways
    finally:
        for gateway in gateways:
            gateway.send()
        killed = [gateway for gateway in gateways if gateway.wait_or_kill()]
        if killed:
            pytest.fail(
                f"`andon` did not exit within {STOP_SECONDS} s of SIGTERM; killed\n"
                + "\n".join(gateway.output() for gateway in killed)
            )


@contextmanager
def running_gateway(
    env: Mapping[str, str],
    cwd: Path,
    *,
    command: Sequence[str] = ("serve",),
    migrate: bool = True,
    log_level: str | None = "warning",
    ready_seconds: float = READY_SECONDS,
) -> Iterator[Gateway]:
    """One gateway process; see running_gateways."""
    with running_gateways(
        env, cwd, command=command, migrate=migrate, log_level=log_level, ready_seconds=ready_seconds
    ) as (gateway,):
        yield gateway
