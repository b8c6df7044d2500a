"""Creating an issue by hand (POST /api/issue, GraphQL `createIssue`), with its emails."""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise.transactions import in_transaction

from models.issues import Issue
from models.outbox import KIND_ISSUE_ENDED, KIND_ISSUE_STARTED
from models.roles import Role
from models.tenancy import Station
from models.timefmt import utc_now
from resolvers.common.actor import Actor
from resolvers.common.bodies import IssueIn
from resolvers.common.changes import Change, publish
from resolvers.common.errors import conflict, invalid
from resolvers.common.lookups import by_code
from resolvers.common.revisions import next_revision, record_change
from resolvers.issues.views import View, issue_views, issues_query_relations, snapshots
from resolvers.mail.outbox import enqueue_issue_mail
from resolvers.windows.closing import reclose_from

# Clock skew tolerated between a client and the gateway for "not in the future".
_SKEW = timedelta(seconds=5)


async def create_issue(*, actor: Actor, data: IssueIn, now: datetime | None = None) -> View:
    actor.require(Role.MEMBER)
    now = now or utc_now()
    if data.startAt > now + _SKEW:
        raise invalid("startAt", "must not be in the future")
    if data.endAt is not None and data.endAt < data.startAt:
        raise invalid("endAt", "must not be before startAt")
    if data.endAt is not None and data.endAt > now + _SKEW:
        raise invalid("endAt", "must not be in the future")
    station = await by_code(
        Station, "station", account_id=actor.account_id, code=data.stationCode, body_field="stationCode"
    )
    async with in_transaction():
        # Taking the revision first locks the account row: two concurrent creates cannot both pass the check.
        revision = await next_revision(actor.account_id)
        if (
            data.endAt is None
            and await Issue.filter(station_id=station.id, type=data.type, end_at__isnull=True).exists()
        ):
            raise conflict(f"station {station.code} already has an ongoing {data.type} issue", "stationCode")
        issue = await Issue.create(
            account_id=actor.account_id,
            station_id=station.id,
            type=data.type,
            start_at=data.startAt,
            end_at=data.endAt,
            revision=revision,
        )
        await record_change(account_id=actor.account_id, revision=revision, issue_id=issue.id, kind="created")
        # In the same transaction: the emails exist exactly when the issue does.
        await enqueue_issue_mail(issue=issue, kind=KIND_ISSUE_STARTED, now=now)
        if issue.end_at is not None:
            await enqueue_issue_mail(issue=issue, kind=KIND_ISSUE_ENDED, now=now)
    await publish(Change("issue", actor.account_id, issue.id, revision))
    if issue.type == "stop":
        await reclose_from(station_id=station.id, since=issue.start_at)
    return (await _views(actor.account_id, [issue.id], now))[0]


async def _views(account_id: str, ids: list[int], now: datetime) -> list[View]:
    rows = await Issue.filter(account_id=account_id, id__in=ids).select_related(*issues_query_relations())
    return issue_views(await snapshots(account_id, rows), now)
