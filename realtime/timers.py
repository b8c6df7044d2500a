"""Clock-driven work: detection, window closing, live status and escalation, whatever requests arrive."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from models.timefmt import utc_now
from realtime.leader import Leadership
from resolvers.detection import detect_issues, refresh_statuses
from resolvers.escalation import escalate_due_issues
from resolvers.window_closing import close_windows

log = logging.getLogger(__name__)


class Ticker:
    """Runs `job(now)` every `interval` seconds in a background task; a failure is logged, never fatal."""

    def __init__(
        self, name: str, job: Callable[[datetime], Awaitable[object]], interval: float = 1.0
    ) -> None:
        self.name = name
        self._job = job
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                await self._job(utc_now())
            except Exception:
                log.exception("%s failed; retrying in %.0f s", self.name, self._interval)
            await asyncio.sleep(self._interval)


def leadership(
    *, offline_after: float, window_grace: float, lease_ttl: float, lease_renew: float
) -> Leadership:
    """The lease-guarded jobs: each runs on one instance at a time (see docs/signals.md)."""

    async def detect(now: datetime) -> None:
        await detect_issues(now=now)

    async def statuses(now: datetime) -> None:
        await refresh_statuses(now=now, offline_after=timedelta(seconds=offline_after))

    async def windows(now: datetime) -> None:
        await close_windows(now=now, grace=timedelta(seconds=window_grace))

    async def escalate(now: datetime) -> None:
        await escalate_due_issues(now=now)

    # Detection and status every tick (latency after a threshold); window closing works per minute and
    # escalation is due within 5 s, so once a second is enough and keeps the idle database load low.
    jobs = [
        ("detection", detect, 0.0),
        ("station-status", statuses, 0.0),
        ("window-closing", windows, 1.0),
        ("escalation-timer", escalate, 1.0),
    ]
    return Leadership(jobs, ttl=lease_ttl, renew=lease_renew)


def leader_ticker(lead: Leadership, interval: float) -> Ticker:
    return Ticker("leader-timer", lead.tick, interval)
