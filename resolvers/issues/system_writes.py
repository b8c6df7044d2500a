"""Issues the system opens, ends and gives a cause to (detection and signals): call inside a transaction,
publish the returned changes after it commits. Opening and ending write the `issue` emails in that same
transaction (resolvers/mail/outbox.py), as the REST path does: the emails exist exactly when the change does."""

from __future__ import annotations

from datetime import datetime

from models.issues import Issue, IssueEvent
from models.outbox import KIND_ISSUE_ENDED, KIND_ISSUE_STARTED
from resolvers.common.changes import Change
from resolvers.common.revisions import next_revision, record_change
from resolvers.mail.outbox import enqueue_issue_mail


async def open_issue(
    *, account_id: str, station_id: int, type: str, start_at: datetime, sku_id: int | None, now: datetime
) -> tuple[Issue, Change]:
    """Open an issue found at `now` (the detector's moment: its start email is due from then on)."""
    revision = await next_revision(account_id)
    issue = await Issue.create(
        account_id=account_id,
        station_id=station_id,
        type=type,
        start_at=start_at,
        sku_id=sku_id,
        revision=revision,
    )
    await record_change(account_id=account_id, revision=revision, issue_id=issue.id, kind="created")
    await enqueue_issue_mail(issue=issue, kind=KIND_ISSUE_STARTED, now=now)
    return issue, Change("issue", account_id, issue.id, revision)


async def record_end(*, issue: Issue, end_at: datetime) -> Change | None:
    """End an ongoing issue; None when it had already ended (another writer was first)."""
    revision = await next_revision(issue.account_id)
    ended = await Issue.filter(id=issue.id, end_at__isnull=True).update(end_at=end_at, revision=revision)
    if not ended:
        return None
    issue.end_at, issue.revision = end_at, revision
    await record_change(account_id=issue.account_id, revision=revision, issue_id=issue.id, kind="ended")
    await enqueue_issue_mail(issue=issue, kind=KIND_ISSUE_ENDED)
    return Change("issue", issue.account_id, issue.id, revision)


async def set_cause(*, issue: Issue, cause_id: int) -> Change:
    """A system `cause` event (no user): what a device's error_code names."""
    revision = await next_revision(issue.account_id)
    await IssueEvent.create(
        account_id=issue.account_id, issue_id=issue.id, type="cause", cause_id=cause_id, revision=revision
    )
    await Issue.filter(id=issue.id).update(revision=revision)
    await record_change(account_id=issue.account_id, revision=revision, issue_id=issue.id, kind="cause")
    return Change("issue", issue.account_id, issue.id, revision)
