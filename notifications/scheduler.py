"""Clock-driven emails: escalation reminders and daily summaries, written into the outbox when due.

The gateway runs `reminders` and `summaries` among the lease holder's jobs (realtime/timers.py); the
outbox's unique key is what makes one email per (reminder or plant day, recipient) even when two
instances overlap (a lease changing hands). The reminder set only spares this process repeated work. Summaries are re-checked at
every run while their plant day is the due one, so a subscriber added during the day still gets it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from resolvers.analysis.daily_summary import due_summaries, enqueue_plant_summary
from resolvers.mail.reminders import enqueue_due_reminders

log = logging.getLogger(__name__)
_FORGET_AFTER = 10_000


class NotificationSchedule:
    def __init__(self, wake: Callable[[], None]) -> None:
        self._wake = wake
        self._reminders: set[tuple[int, int]] = set()

    async def reminders(self, now: datetime) -> None:
        if len(self._reminders) > _FORGET_AFTER:
            self._reminders.clear()
        if await enqueue_due_reminders(now=now, done=self._reminders):
            self._wake()

    async def summaries(self, now: datetime) -> None:
        written = 0
        for account_id, plant_id, day in await due_summaries(now=now):
            count = await enqueue_plant_summary(account_id=account_id, plant_id=plant_id, day=day, now=now)
            if count:
                written += count
                log.info("daily summary of plant %s for %s: %d new recipient(s)", plant_id, day, count)
        if written:
            self._wake()
