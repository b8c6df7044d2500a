"""Health probes of the services the gateway depends on, each cached briefly so /api/health stays cheap."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import aiosmtplib
from tortoise import connections

Probe = Callable[[], Awaitable[str]]
_TIMEOUT = 2.0


def cached(probe: Probe, seconds: float = 5.0) -> Probe:
    """Re-run `probe` at most every `seconds`; concurrent callers share one run."""
    state: dict[str, object] = {"at": 0.0, "value": "unknown"}
    lock = asyncio.Lock()

    async def run() -> str:
        async with lock:
            if time.monotonic() - float(state["at"]) > seconds:  # type: ignore[arg-type]
                state["value"] = await probe()
                state["at"] = time.monotonic()
        return str(state["value"])

    return run


async def database() -> str:
    try:
        await asyncio.wait_for(connections.get("default").execute_query("SELECT 1"), _TIMEOUT)
    except Exception as exc:  # report any failure as the state, never raise from health
        return f"error: {type(exc).__name__}: {exc}"
    return "ok"


def smtp(url: str) -> Probe:
    parts = urlsplit(url)

    async def probe() -> str:
        client = aiosmtplib.SMTP(
            hostname=parts.hostname,
            port=parts.port or (465 if parts.scheme == "smtps" else 25),
            use_tls=parts.scheme == "smtps",
            timeout=_TIMEOUT,
        )
        try:
            await client.connect()
            await client.quit()
        except Exception as exc:
            return f"error: {exc}"
        return "ok"

    return probe


def outbox_folder(folder: Path) -> Probe:
    """The embedded mailer: `ok` while the outbox folder exists (or can be made) and is writable."""

    async def probe() -> str:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return f"error: outbox folder {folder}: {exc}"
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"error: outbox folder {folder} is not writable"
        return "ok"

    return probe


def disabled() -> Probe:
    async def probe() -> str:
        return "disabled"

    return probe


def failing(state: str) -> bool:
    """Whether a probe's answer says the component does not work (`ok` and `disabled` are fine)."""
    return state not in ("ok", "disabled")


class Watched:
    """A probe that remembers since when it has been failing (monotonic), for /api/health's thresholds."""

    def __init__(self, probe: Probe) -> None:
        self._probe = probe
        self.failing_since: float | None = None

    async def __call__(self) -> str:
        state = await self._probe()
        if not failing(state):
            self.failing_since = None
        elif self.failing_since is None:
            self.failing_since = time.monotonic()
        return state
