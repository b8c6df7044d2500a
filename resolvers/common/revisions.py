"""The per-account issue revision: stamped on every issue change, the position subscriptions resume from."""

from __future__ import annotations

from tortoise.expressions import F

from models.issues import IssueChange
from models.tenancy import Account


async def next_revision(account_id: str) -> int:
    """Call inside the change's transaction: the account row stays locked until it commits (Postgres),
    so revisions commit in increasing order."""
    await Account.filter(id=account_id).update(revision=F("revision") + 1)
    # The row exists: the caller is authenticated into this account.
    [value] = await Account.filter(id=account_id).values_list("revision", flat=True)
    return int(value)  # type: ignore[call-overload]  # flat values_list yields the column values


async def record_change(*, account_id: str, revision: int, issue_id: int, kind: str) -> None:
    """Log the change in its transaction, so a subscriber resuming after any revision can replay it."""
    await IssueChange.create(account_id=account_id, revision=revision, issue_id=issue_id, kind=kind)
