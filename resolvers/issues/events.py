"""POST /api/issue/{id}/event: the lifecycle rules of SPEC section 4."""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from models.issue_status import ONGOING_ONLY
from models.issues import Issue, IssueEvent, IssueWatcher
from models.roles import Role
from models.timefmt import utc_now
from resolvers.catalog.cause_tree import cause_tree
from resolvers.common.actor import Actor
from resolvers.common.bodies import IssueEventIn
from resolvers.common.changes import Change, publish
from resolvers.common.errors import conflict, invalid, not_found
from resolvers.common.revisions import next_revision, record_change
from resolvers.mail.outbox import enqueue_escalation
from resolvers.windows.closing import reclose_from


def _check_fields(data: IssueEventIn) -> None:
    if data.type == "estimate" and data.estimatedTime is None:
        raise invalid("estimatedTime", "is required for an estimate (minutes, 1 to 10080)")
    if data.type == "cause" and data.causeCode is None:
        raise invalid("causeCode", "is required for a cause")


async def add_issue_event(
    *, actor: Actor, issue_id: int, data: IssueEventIn, now: datetime | None = None
) -> None:
    actor.require(Role.OPERATOR)
    _check_fields(data)
    if data.type == "watch" and actor.user_id is None:
        raise invalid("type", "watching needs a user's API key (an access code has no mailbox)")
    now = now or utc_now()
    cause_id = None
    if data.type == "cause":
        node = (await cause_tree(actor.account_id)).by_code.get(data.causeCode or "")
        if node is None:
            raise invalid("causeCode", f"no cause with code {data.causeCode!r} in this account")
        cause_id = node.id
    async with in_transaction():
        revision = await next_revision(actor.account_id)
        issue = await Issue.select_for_update().get_or_none(account_id=actor.account_id, id=issue_id)
        if issue is None:
            raise not_found("issue", issue_id)
        await _apply(issue, data, actor, now)
        event = await IssueEvent.create(
            account_id=actor.account_id,
            issue_id=issue.id,
            type=data.type,
            user_id=actor.user_id,
            user_email=actor.email,
            operator_initials=data.operator,
            cause_id=cause_id,
            revision=revision,
            # `now` is the event's moment: a caller replaying history (the demo week) passes its own.
            created_at=now,
            estimate_end_at=now + timedelta(minutes=data.estimatedTime) if data.type == "estimate" else None,  # type: ignore[arg-type]
        )
        await record_change(account_id=actor.account_id, revision=revision, issue_id=issue.id, kind=data.type)
        if data.type == "escalate":
            await enqueue_escalation(event=event, now=now)
        issue.revision = revision
        await issue.save(update_fields=["revision", "excluded_at", "updated_at"])
    await publish(Change("issue", actor.account_id, issue.id, revision))
    if data.type in ("exclude", "include") and issue.type == "stop":
        await reclose_from(station_id=issue.station_id, since=issue.start_at)  # its downtime counts or not


async def _apply(issue: Issue, data: IssueEventIn, actor: Actor, now: datetime) -> None:
    """Check the event against the issue's state and make its effect on the issue row."""
    if data.type in ONGOING_ONLY and issue.end_at is not None:
        raise conflict(f"issue {issue.id} has ended: {data.type} applies to ongoing issues only", "type")
    if data.type == "acknowledge" and await IssueEvent.filter(issue_id=issue.id, type="acknowledge").exists():
        raise conflict(f"issue {issue.id} is already acknowledged", "type")
    if data.type == "exclude":
        issue.excluded_at = issue.excluded_at or now
    elif data.type == "include":
        issue.excluded_at = None
    elif data.type == "watch":
        await IssueWatcher.get_or_create(
            account_id=actor.account_id, issue_id=issue.id, user_id=actor.user_id
        )
