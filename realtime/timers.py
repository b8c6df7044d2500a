"""Clock-driven work: checks escalation deadlines every second, whatever requests arrive."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from models.timefmt import utc_now
from resolvers.escalation import escalate_due_issues

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


def escalation_ticker(interval: float = 1.0) -> Ticker:
    async def job(now: datetime) -> None:
        await escalate_due_issues(now=now)

    return Ticker("escalation-timer", job, interval)
