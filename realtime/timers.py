"""Clock-driven work: detection, window closing, live status and escalation, whatever requests arrive."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from models.timefmt import utc_now
from realtime.leader import Leadership, Schedule
from resolvers.issues.escalation import escalate_due_issues
from resolvers.signals.detection import detect_and_refresh
from resolvers.signals.watermarks import judged_until, record_mark
from resolvers.windows.closing import close_windows

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


Watermark = Callable[[], datetime | None]


@dataclass
class _Judged:
    """The tick's judging moment: the clock, or the oldest unapplied receipt of any instance."""

    at: datetime | None = None


def leadership(
    *,
    offline_after: float,
    window_grace: float,
    lease_ttl: float,
    lease_renew: float,
    behind_since: Watermark | None = None,
    more: Schedule = (),
) -> Leadership:
    """The lease-guarded jobs: each runs on one instance at a time (see docs/signals.md).

    `behind_since` is this instance's ingestion watermark; other instances' come from the database.
    `more`: jobs composed in by the gateway (notifications, outbox retention), run after these."""
    judged = _Judged()
    lead: Leadership

    async def watermark(now: datetime) -> None:
        judged.at = None  # a failed read leaves the jobs below on the clock, as without ingestion
        own = behind_since() if behind_since is not None else None
        judged.at = await judged_until(now, own=own, instance=lead.holder, fresh=timedelta(seconds=lease_ttl))
        if judged.at < now - timedelta(seconds=1):
            log.debug(
                "ingestion %.1f s behind: judging stations at %s",
                (now - judged.at).total_seconds(),
                judged.at,
            )

    async def detect(now: datetime) -> None:
        await detect_and_refresh(now=judged.at or now, offline_after=timedelta(seconds=offline_after))

    async def windows(now: datetime) -> None:
        await close_windows(now=judged.at or now, grace=timedelta(seconds=window_grace))

    async def escalate(now: datetime) -> None:
        await escalate_due_issues(now=now)

    # Detection and live status every tick (latency after a threshold); window closing works per minute and
    # escalation is due within 5 s, so once a second is enough and keeps the idle database load low.
    # The watermark runs first: the jobs after it judge stations at the moment it found.
    jobs = [
        ("ingest-watermark", watermark, 0.0),
        ("detection-and-status", detect, 0.0),
        ("window-closing", windows, 1.0),
        ("escalation-timer", escalate, 1.0),
        *more,
    ]
    lead = Leadership(jobs, ttl=lease_ttl, renew=lease_renew)
    return lead


def ingest_mark_ticker(holder: str, behind_since: Watermark, interval: float) -> Ticker:
    """Every instance with MQTT ingestion writes its watermark for whichever instance leads."""

    written: list[datetime | None] = []  # the last value written; empty before the first write

    async def record(now: datetime) -> None:
        mark = behind_since()
        # Caught up and known to be: no write (an idle gateway leaves the database alone). Behind: the
        # write also refreshes seen_at, which keeps the mark counting.
        if mark is None and written == [None]:
            return
        await record_mark(instance=holder, behind_since=mark, now=now)
        written[:] = [mark]

    return Ticker("ingest-mark", record, interval)


def leader_ticker(lead: Leadership, interval: float) -> Ticker:
    return Ticker("leader-timer", lead.tick, interval)
