"""What /api/health reports: each component's state and, when one is failing, why the instance is degraded.

A load balancer takes a degraded instance (503) out of rotation, so a reason is given only for a
failure that makes this instance worse than a healthy one, and only once it has lasted past the
component's threshold: a reconnect blip must not empty the pool (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gateway.probes import Probe, failing
from notifications.sender import OutboxSender
from realtime.bus import Bus
from realtime.leader import Leadership

# The lease holder's every-tick job: when it has not completed for this many timer intervals (plus the
# margin, for a slow tick or a lease renewal), stations are no longer being judged.
WATCHED_JOB = "detection-and-status"
STALE_TICKS = 3
STALE_MARGIN_SECONDS = 2.0


@dataclass
class Health:
    probes: Mapping[str, Probe]
    bus: Bus
    bus_configured: bool
    ingest_problem: Callable[[], str | None]
    sender: OutboxSender
    mailer_failing_seconds: float
    lead: Leadership
    timer_interval: float

    async def report(self) -> tuple[dict[str, str], list[str]]:
        """The state of every component and the reasons the instance is degraded (none: healthy)."""
        values = await asyncio.gather(*(probe() for probe in self.probes.values()))
        state = dict(zip(self.probes, values, strict=True))
        now = time.monotonic()
        reasons: list[str] = []
        if failing(state["database"]):
            reasons.append(f"database: {state['database']}")
        if self.bus_configured and not self.bus.reliable:
            reasons.append(f"bus: unreliable ({self.bus.state()})")
        ingest = self.ingest_problem()
        if ingest is not None:
            reasons.append(f"mqtt: {ingest}")
        mailer = self._mailer_problem(state["mailer"], now)
        if mailer is not None:
            reasons.append(f"mailer: {mailer}")
        stale = self.lead.stale_since(WATCHED_JOB)
        if stale is not None and now - stale > STALE_TICKS * self.timer_interval + STALE_MARGIN_SECONDS:
            reasons.append(
                f"timers: {WATCHED_JOB} has not completed for {now - stale:.0f} s on the lease holder"
            )
        return state, reasons

    def _mailer_problem(self, state: str, now: float) -> str | None:
        probe = self.probes["mailer"]
        starts = [
            s for s in (getattr(probe, "failing_since", None), self.sender.failing_since) if s is not None
        ]
        if not starts or now - min(starts) < self.mailer_failing_seconds:
            return None
        cause = state if failing(state) else "sending fails"
        return f"failing for {now - min(starts):.0f} s ({cause})"
