"""uvicorn, stopped by SIGTERM/SIGINT with exit status 0 once the graceful shutdown has completed."""

from __future__ import annotations

import contextlib
from collections.abc import Generator

import uvicorn


class GatewayServer(uvicorn.Server):
    """uvicorn re-raises the stop signal after shutting down, so the process would die of it (143/130).

    A requested stop that completed cleanly is a success for service managers and scripts: forget
    the captured signals before uvicorn replays them.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()
