"""Escalation reminders (SPEC section 9): while an escalated issue is not acknowledged, its escalation
email goes out again every ESCALATION_REPEAT_MINUTES (0 = never).

Reminder n of an issue is due at its first escalation + n x the interval. Only the latest due reminder is
written (a gateway that was down does not send the missed ones in a burst), and the outbox key
(event:ID:repeat:n, recipient) makes each reminder number go out once across instances and restarts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from models.issues import IssueEvent
from resolvers.identity.account_config import config_values_for
from resolvers.mail.outbox import enqueue_escalation


def due_reminder(*, first_escalation_at: datetime, every_minutes: float, now: datetime) -> int:
    """The number of the latest reminder due at `now` (0: none yet, or reminders are off)."""
    if every_minutes <= 0 or now < first_escalation_at:
        return 0
    return int((now - first_escalation_at) / timedelta(minutes=every_minutes))


async def enqueue_due_reminders(*, now: datetime, done: set[tuple[int, int]]) -> int:
    """Write the due reminders of every escalated, unacknowledged, ongoing issue; returns how many
    reminders were considered new. `done` remembers (event id, n) this process already wrote."""
    escalations = await (
        IssueEvent.filter(type="escalate", issue__end_at__isnull=True, issue__excluded_at__isnull=True)
        .order_by("created_at", "id")
        .values("id", "issue_id", "account_id", "created_at")
    )
    if not escalations:
        return 0
    first: dict[int, dict[str, object]] = {}
    for row in escalations:
        first.setdefault(row["issue_id"], row)
    acknowledged = set(
        await IssueEvent.filter(issue_id__in=list(first), type="acknowledge").values_list(
            "issue_id", flat=True
        )
    )
    configs = await config_values_for({str(r["account_id"]) for r in first.values()})
    written = 0
    for issue_id, row in first.items():
        if issue_id in acknowledged:
            continue
        every = float(configs[str(row["account_id"])]["ESCALATION_REPEAT_MINUTES"])
        n = due_reminder(first_escalation_at=row["created_at"], every_minutes=every, now=now)  # type: ignore[arg-type]
        if n == 0 or (int(row["id"]), n) in done:  # type: ignore[call-overload]
            continue
        event = await IssueEvent.get(id=row["id"])
        async with in_transaction():
            await enqueue_escalation(event=event, repeat=n, now=now)
        done.add((event.id, n))
        written += 1
    return written
