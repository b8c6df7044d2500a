"""Writing emails into the outbox, inside the transaction of the change that causes them.

The rows are the promise: once the change commits, its emails exist, whatever happens to the process
next. The sender (notifications.sender) delivers them; the unique key (kind, subject_ref, recipient)
makes a second writer of the same email (a retry, another gateway instance) a no-op.
"""

from __future__ import annotations

from datetime import date, datetime

from models.issues import Issue, IssueEvent
from models.outbox import (
    KIND_DAILY_SUMMARY,
    KIND_ESCALATION,
    KIND_ISSUE_ENDED,
    KIND_ISSUE_STARTED,
    OutboxMessage,
    day_ref,
    event_ref,
    issue_ref,
)
from models.timefmt import utc_now
from resolvers.mail.recipients import Recipients, issue_recipients

# The preference kind (SPEC section 9) each email kind is sent under.
PREFERENCE_OF = {KIND_ISSUE_STARTED: "issue", KIND_ISSUE_ENDED: "issue", KIND_ESCALATION: "escalation"}


async def _insert(rows: list[OutboxMessage]) -> int:
    if rows:
        # ignore_conflicts: an email someone already wrote stays the one row (INSERT … ON CONFLICT DO NOTHING).
        await OutboxMessage.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _rows(recipients: Recipients, now: datetime, **fields: object) -> list[OutboxMessage]:
    return [
        OutboxMessage(recipient=email, user_id=user_id, next_attempt_at=now, **fields)
        for email, user_id in sorted(recipients.items())
    ]


async def _station_group(issue_id: int) -> int | None:
    rows = await Issue.filter(id=issue_id).values_list("station__group_id", flat=True)
    return rows[0] if rows else None  # type: ignore[return-value]  # flat values_list yields the column


async def enqueue_issue_mail(*, issue: Issue, kind: str, now: datetime | None = None) -> int:
    """Call inside the transaction that starts (KIND_ISSUE_STARTED) or ends (KIND_ISSUE_ENDED) the issue.

    Returns the number of emails written; an issue nobody follows writes none (its notified-at stays null)."""
    recipients = await issue_recipients(
        account_id=issue.account_id,
        issue_id=issue.id,
        group_id=await _station_group(issue.id),
        preference=PREFERENCE_OF[kind],
    )
    rows = _rows(
        recipients,
        now or utc_now(),
        account_id=issue.account_id,
        kind=kind,
        subject_ref=issue_ref(issue.id),
        issue_id=issue.id,
    )
    return await _insert(rows)


async def enqueue_escalation(*, event: IssueEvent, repeat: int = 0, now: datetime | None = None) -> int:
    """Call inside the transaction that writes the `escalate` event (repeat 0) or decides reminder `repeat`."""
    recipients = await issue_recipients(
        account_id=event.account_id,
        issue_id=event.issue_id,
        group_id=await _station_group(event.issue_id),
        preference="escalation",
    )
    rows = _rows(
        recipients,
        now or utc_now(),
        account_id=event.account_id,
        kind=KIND_ESCALATION,
        subject_ref=event_ref(event.id, repeat),
        issue_id=event.issue_id,
        event_id=event.id,
        repeat=repeat,
    )
    return await _insert(rows)


async def enqueue_daily_summary(
    *,
    account_id: str,
    plant_id: int,
    day: date,
    recipients: dict[str, tuple[int, list[int]]],
    now: datetime | None = None,
    suffix: str = "",
) -> int:
    """One daily-summary email per recipient (email → (user id, station group ids)) for the plant day;
    returns how many recipients were new (the timers call this again and again during the day)."""
    moment = now or utc_now()
    ref = day_ref(plant_id, day, suffix)
    have = set(
        await OutboxMessage.filter(kind=KIND_DAILY_SUMMARY, subject_ref=ref).values_list(
            "recipient", flat=True
        )
    )
    rows = [
        OutboxMessage(
            account_id=account_id,
            kind=KIND_DAILY_SUMMARY,
            subject_ref=ref,
            recipient=email,
            user_id=user_id,
            plant_id=plant_id,
            day=day,
            group_ids=groups,
            next_attempt_at=moment,
        )
        for email, (user_id, groups) in sorted(recipients.items())
        if email not in have
    ]
    return await _insert(rows)
