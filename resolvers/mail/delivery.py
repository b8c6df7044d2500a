"""The outbox's delivery state: claiming due emails, recording what happened, stamping notified-at.

Claims are leases: a sender takes due rows by setting claimed_until (Postgres: FOR UPDATE SKIP LOCKED,
so two instances never take the same row; SQLite serialises writers and runs one instance). A row whose
lease ran out (its sender died mid-batch) is due again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.issues import Issue, IssueEvent
from models.outbox import KIND_ESCALATION, KIND_ISSUE_ENDED, KIND_ISSUE_STARTED, OutboxMessage
from resolvers.common.changes import Change, publish
from resolvers.common.revisions import next_revision, record_change

_ERROR_CHARS = 1000


def _due(now: datetime) -> Q:
    return (
        Q(sent_at__isnull=True)
        & Q(failed_at__isnull=True)
        & Q(next_attempt_at__lte=now)
        & (Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
    )


async def claim_due(
    *, now: datetime, limit: int, lease: timedelta, refs: Sequence[str] | None = None
) -> list[OutboxMessage]:
    """Take up to `limit` due emails, oldest first, for `lease`; `refs` narrows to those subjects."""
    query = OutboxMessage.filter(_due(now))
    if refs is not None:
        query = query.filter(subject_ref__in=list(refs))
    # The sender looks on every issue change: a plain read first, so an empty outbox costs no transaction
    # (on SQLite a transaction holds the one connection, and every request waits for it).
    if not await query.exists():
        return []
    async with in_transaction():
        rows = await query.order_by("id").limit(limit).select_for_update(skip_locked=True)
        if rows:
            await OutboxMessage.filter(id__in=[r.id for r in rows]).update(claimed_until=now + lease)
    return rows


async def record_sent(ids: Sequence[int], *, now: datetime) -> None:
    if ids:
        await OutboxMessage.filter(id__in=list(ids), sent_at__isnull=True).update(
            sent_at=now, claimed_until=None, last_error=None
        )


async def record_retry(row: OutboxMessage, *, error: str, now: datetime, max_delay: float) -> None:
    """A transient failure (server down, 4xx): due again after an exponential backoff capped at max_delay."""
    attempts = row.attempts + 1
    delay = min(2.0 ** (attempts - 1), max_delay)
    await OutboxMessage.filter(id=row.id, sent_at__isnull=True).update(
        attempts=attempts,
        next_attempt_at=now + timedelta(seconds=delay),
        claimed_until=None,
        last_error=error[:_ERROR_CHARS],
    )


async def record_failed(row: OutboxMessage, *, error: str, now: datetime) -> None:
    """A permanent refusal (5xx, or an email that cannot be built): recorded, never retried."""
    await OutboxMessage.filter(id=row.id, sent_at__isnull=True).update(
        attempts=row.attempts + 1, failed_at=now, claimed_until=None, last_error=error[:_ERROR_CHARS]
    )


async def pending_count(*, kind: str, refs: Sequence[str]) -> int:
    """Emails of these subjects not yet sent nor refused for good."""
    return await OutboxMessage.filter(
        kind=kind, subject_ref__in=list(refs), sent_at__isnull=True, failed_at__isnull=True
    ).count()


async def backlog() -> int:
    """Emails of every account not yet sent nor refused for good (the index on (sent_at, failed_at, …)
    keeps this cheap)."""
    return await OutboxMessage.filter(sent_at__isnull=True, failed_at__isnull=True).count()


async def stamp_notified(rows: Sequence[OutboxMessage], *, now: datetime) -> None:
    """Set startNotifiedAt / endNotifiedAt / the event's notifiedAt once every email of it was handed over.

    Several senders may finish the last emails of one subject at once: each checks after recording its own,
    so the last one sees none pending; the `…isnull` filter makes a second stamp a no-op."""
    subjects = {(r.kind, r.subject_ref): r for r in rows if r.repeat == 0 and r.kind != "daily-summary"}
    for (kind, ref), row in subjects.items():
        if await pending_count(kind=kind, refs=[ref]):
            continue
        if not await OutboxMessage.filter(subject_ref=ref, kind=kind, sent_at__isnull=False).exists():
            continue  # every email of it was refused: nothing was notified
        await _stamp(kind, row, now)


async def _stamped(kind: str, row: OutboxMessage) -> bool:
    if kind == KIND_ESCALATION:
        return await IssueEvent.filter(id=row.event_id, notified_at__isnull=False).exists()
    column = "start_notified_at__isnull" if kind == KIND_ISSUE_STARTED else "end_notified_at__isnull"
    return await Issue.filter(id=row.issue_id, **{column: False}).exists()


async def _stamp(kind: str, row: OutboxMessage, now: datetime) -> None:
    assert row.issue_id is not None
    if await _stamped(kind, row):
        return
    async with in_transaction():
        revision = await next_revision(row.account_id)
        if kind == KIND_ISSUE_STARTED:
            changed = await Issue.filter(id=row.issue_id, start_notified_at__isnull=True).update(
                start_notified_at=now, revision=revision
            )
        elif kind == KIND_ISSUE_ENDED:
            changed = await Issue.filter(id=row.issue_id, end_notified_at__isnull=True).update(
                end_notified_at=now, revision=revision
            )
        elif kind == KIND_ESCALATION:
            changed = await IssueEvent.filter(id=row.event_id, notified_at__isnull=True).update(
                notified_at=now, revision=revision
            )
            if changed:
                await Issue.filter(id=row.issue_id).update(revision=revision)
        else:
            return
        if not changed:
            # Stamped by another sender in between: this revision stays unused, a gap subscribers
            # tolerate (revisions increase, they are not dense).
            return
        await record_change(
            account_id=row.account_id, revision=revision, issue_id=row.issue_id, kind="notified"
        )
    await publish(Change("issue", row.account_id, row.issue_id, revision))
