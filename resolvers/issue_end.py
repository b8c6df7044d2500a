"""Ending an ongoing issue (the first output after a stop, SPEC section 7): the write and its emails."""

from __future__ import annotations

from datetime import datetime

from tortoise.transactions import in_transaction

from models.issues import Issue
from models.outbox import KIND_ISSUE_ENDED
from resolvers.changes import Change, publish
from resolvers.errors import conflict, invalid, not_found
from resolvers.outbox import enqueue_issue_mail
from resolvers.revisions import next_revision, record_change


async def end_issue(*, account_id: str, issue_id: int, end_at: datetime) -> Issue:
    """Set `endAt` of an ongoing issue and, in the same transaction, write its `issue ended` emails.

    For system writers (downtime detection); 409 when it has already ended."""
    async with in_transaction():
        revision = await next_revision(account_id)
        issue = await Issue.select_for_update().get_or_none(account_id=account_id, id=issue_id)
        if issue is None:
            raise not_found("issue", issue_id)
        if issue.end_at is not None:
            raise conflict(f"issue {issue_id} has already ended", "endAt")
        if end_at < issue.start_at:
            raise invalid("endAt", "must not be before startAt")
        issue.end_at = end_at
        issue.revision = revision
        await issue.save(update_fields=["end_at", "revision", "updated_at"])
        await record_change(account_id=account_id, revision=revision, issue_id=issue.id, kind="ended")
        await enqueue_issue_mail(issue=issue, kind=KIND_ISSUE_ENDED)
    await publish(Change("issue", account_id, issue.id, revision))
    return issue
