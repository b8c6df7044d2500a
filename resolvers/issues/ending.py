"""Ending an ongoing issue by id (the first output after a stop, SPEC section 7), with its emails."""

from __future__ import annotations

from datetime import datetime

from tortoise.transactions import in_transaction

from models.issues import Issue
from resolvers.common.changes import publish
from resolvers.common.errors import conflict, invalid, not_found
from resolvers.issues.system_writes import record_end
from resolvers.windows.closing import reclose_from


async def end_issue(*, account_id: str, issue_id: int, end_at: datetime) -> Issue:
    """Set `endAt` of an ongoing issue and, in the same transaction, write its `issue ended` emails.

    For system writers; 409 when it has already ended. Detection ends issues through
    `resolvers.issues.system_writes.record_end` inside its own transaction: this is the same write on its own."""
    async with in_transaction():
        # No row lock here: `record_end` takes the account's revision lock first and then ends
        # the row only if it is still ongoing, the lock order every issue writer uses.
        issue = await Issue.get_or_none(account_id=account_id, id=issue_id)
        if issue is None:
            raise not_found("issue", issue_id)
        if end_at < issue.start_at:
            raise invalid("endAt", "must not be before startAt")
        change = await record_end(issue=issue, end_at=end_at)
        if change is None:
            raise conflict(f"issue {issue_id} has already ended", "endAt")
    await publish(change)
    if issue.type == "stop":
        await reclose_from(station_id=issue.station_id, since=end_at)  # closed while it was ongoing
    return issue
