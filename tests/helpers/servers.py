"""Throw-away Redis and Mosquitto servers of a test's own, to stop and start again (an outage) without
disturbing the session's services that other tests use."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.waiting import poll
from tests.services import free_port, missing

LISTEN_SECONDS = 10.0


class OwnServer:
    """A server process on a free port of 127.0.0.1, stoppable and restartable on that port."""

    def __init__(self, argv: Callable[[int], list[str]], directory: Path) -> None:
        self.port = free_port()
        self._argv = argv(self.port)
        self._log = directory / f"server-{self.port}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(
                self._argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        process = self._process
        if not poll(self._listening, lambda up: up or process.poll() is not None, timeout=LISTEN_SECONDS):
            pytest.fail(f"{self._argv[0]} did not listen on {self.port}: {self._log.read_text()}")

    def stop(self) -> None:
        """Terminate (killed if it lingers) and wait until the port is closed: an outage has begun."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(LISTEN_SECONDS)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(LISTEN_SECONDS)
        self._process = None
        if poll(self._listening, lambda up: not up, timeout=LISTEN_SECONDS):
            pytest.fail(f"port {self.port} still open after stopping {self._argv[0]}")

    def _listening(self) -> bool:
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin")
    if not found:
        missing(f"{name} is not installed: `make test` installs it (scripts/services.sh ensure_packages)")
    return found


def redis_server(directory: Path) -> OwnServer:
    """A redis-server without persistence (not started yet); its URL is redis://127.0.0.1:PORT/0."""
    return OwnServer(
        lambda port: [
            *(_binary("redis-server"), "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(directory)),
        ],
        directory,
    )


def mosquitto(directory: Path, *, persistent: bool = False) -> OwnServer:
    """A Mosquitto for anonymous clients (not started yet). `persistent`: sessions and their queued QoS 1
    messages survive a restart, as on a production broker, and 1,000 messages may be in flight."""

    def argv(port: int) -> list[str]:
        config = directory / f"mosquitto-{port}.conf"
        kept = (
            f"persistence true\npersistence_location {directory}/\nmax_inflight_messages 1000\n"
            if persistent
            else "persistence false\n"
        )
        config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n{kept}user root\n")
        return [_binary("mosquitto"), "-c", str(config)]

    return OwnServer(argv, directory)
