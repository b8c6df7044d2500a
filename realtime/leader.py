"""The clock-driven work that must run on exactly one gateway instance, guarded by a database lease."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta

from models.timefmt import utc_now
from resolvers.common.leases import hold_lease, release_lease
from resolvers.common.metrics import LEADER_JOB_LAST_RUN

log = logging.getLogger(__name__)

LEASE_NAME = "timers"
# A job this slow delays the tick's next jobs (detection latency): worth a line in the log.
SLOW_JOB_SECONDS = 0.5
Job = Callable[[datetime], Awaitable[object]]
# (name, job, seconds between runs: 0 runs it every tick)
Schedule = Sequence[tuple[str, Job, float]]


def instance_id() -> str:
    """Unique per process: host, pid and a random suffix (a restarted process is a new holder)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Leadership:
    """Runs the jobs only while this instance holds the lease; renews it every `renew` seconds."""

    def __init__(self, jobs: Schedule, *, ttl: float, renew: float, holder: str | None = None) -> None:
        self.holder = holder or instance_id()
        self._jobs = jobs
        self._last_run: dict[str, float] = {}
        self._ttl = timedelta(seconds=ttl)
        self._renew = renew
        self._held_until = 0.0  # monotonic deadline up to which the lease is ours without asking
        self.leading = False
        # Monotonic instants for /api/health: when this instance took the lease, and each job's last
        # run that finished without an error (a job that keeps failing leaves its entry behind).
        self.leading_since = 0.0
        self.succeeded: dict[str, float] = {}

    async def tick(self, now: datetime) -> None:
        if not await self._hold(now):
            return
        for name, job, every in self._jobs:
            started = time.monotonic()
            if started - self._last_run.get(name, float("-inf")) < every:
                continue
            self._last_run[name] = started
            try:
                await job(now)
            except Exception:
                log.exception("%s failed; retrying next tick", name)
            else:
                self.succeeded[name] = time.monotonic()
                LEADER_JOB_LAST_RUN.labels(job=name).set(time.time())
            took = time.monotonic() - started
            if took >= SLOW_JOB_SECONDS:  # the jobs after it in the tick waited as long
                log.warning("%s took %.2f s", name, took)

    async def _hold(self, now: datetime) -> bool:
        if self.leading and time.monotonic() < self._held_until:
            return True
        started = time.monotonic()
        held = await hold_lease(name=LEASE_NAME, holder=self.holder, now=now, ttl=self._ttl)
        if held and not self.leading:
            self.leading_since = started
        if held != self.leading:
            log.info("%s the %s lease (%s)", "took" if held else "lost", LEASE_NAME, self.holder)
        self.leading = held
        # Renew well before expiry: the deadline counts from before the round trip.
        self._held_until = started + self._renew if held else 0.0
        return held

    def stale_since(self, name: str) -> float | None:
        """Monotonic instant since which job `name` has not succeeded while this instance leads
        (None on a standby instance)."""
        if not self.leading:
            return None
        return max(self.succeeded.get(name, self.leading_since), self.leading_since)

    async def resign(self) -> None:
        if self.leading:
            await release_lease(name=LEASE_NAME, holder=self.holder, now=utc_now())
            self.leading = False
