"""Mutation root fields: the same resolvers and rules as REST; failures are errors with a stable code."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from resolvers.catalog import causes
from resolvers.common.bodies import CauseIn, IssueEventIn, IssueIn
from resolvers.common.validation import parse
from resolvers.issues import creation, events, listing
from schema import types
from schema.queries import _actor


def _given(**values: Any) -> dict[str, Any]:
    """Arguments the client actually sent (UNSET left out, explicit null kept)."""
    return {k: v for k, v in values.items() if v is not strawberry.UNSET}


async def _event(info: Info, issue_id: int, **body: Any) -> types.Issue:
    actor = _actor(info)
    await events.add_issue_event(actor=actor, issue_id=issue_id, data=parse(IssueEventIn, _given(**body)))
    [view] = await listing.list_issues(actor=actor, issue_id=issue_id)
    return types.Issue.from_view(view)


@strawberry.type
class IssueMutation:
    @strawberry.mutation(description="Create an issue by hand (member).")
    async def create_issue(
        self, info: Info, type: str, station_code: str, start_at: str, end_at: str | None = strawberry.UNSET
    ) -> types.Issue:
        data = parse(IssueIn, _given(type=type, stationCode=station_code, startAt=start_at, endAt=end_at))
        return types.Issue.from_view(await creation.create_issue(actor=_actor(info), data=data))

    @strawberry.mutation(description="Add any event; the per-type mutations below are shorthands.")
    async def add_issue_event(
        self,
        info: Info,
        issue_id: int,
        type: str,
        estimated_time: float | None = strawberry.UNSET,
        cause_code: str | None = strawberry.UNSET,
        operator: str | None = strawberry.UNSET,
    ) -> types.Issue:
        return await _event(
            info, issue_id, type=type, estimatedTime=estimated_time, causeCode=cause_code, operator=operator
        )

    @strawberry.mutation
    async def acknowledge_issue(
        self, info: Info, issue_id: int, operator: str | None = strawberry.UNSET
    ) -> types.Issue:
        return await _event(info, issue_id, type="acknowledge", operator=operator)

    @strawberry.mutation(description="Expected back in `minutes` (1 to 10080).")
    async def estimate_issue(
        self, info: Info, issue_id: int, minutes: float, operator: str | None = strawberry.UNSET
    ) -> types.Issue:
        return await _event(info, issue_id, type="estimate", estimatedTime=minutes, operator=operator)

    @strawberry.mutation
    async def escalate_issue(
        self, info: Info, issue_id: int, operator: str | None = strawberry.UNSET
    ) -> types.Issue:
        return await _event(info, issue_id, type="escalate", operator=operator)

    @strawberry.mutation
    async def set_issue_cause(
        self, info: Info, issue_id: int, cause_code: str, operator: str | None = strawberry.UNSET
    ) -> types.Issue:
        return await _event(info, issue_id, type="cause", causeCode=cause_code, operator=operator)

    @strawberry.mutation
    async def watch_issue(self, info: Info, issue_id: int) -> types.Issue:
        return await _event(info, issue_id, type="watch")

    @strawberry.mutation
    async def exclude_issue(self, info: Info, issue_id: int) -> types.Issue:
        return await _event(info, issue_id, type="exclude")

    @strawberry.mutation
    async def include_issue(self, info: Info, issue_id: int) -> types.Issue:
        return await _event(info, issue_id, type="include")


@strawberry.type
class CauseMutation:
    @strawberry.mutation(description="Create or update a cause by code (supervisor).")
    async def upsert_cause(
        self, info: Info, code: str, description: str, parent_cause_code: str | None = strawberry.UNSET
    ) -> types.Cause:
        data = parse(CauseIn, _given(code=code, description=description, parentCauseCode=parent_cause_code))
        return types.Cause.from_view(await causes.upsert_cause(actor=_actor(info), data=data))

    @strawberry.mutation(description="Delete a cause with no children that no event names (supervisor).")
    async def delete_cause(self, info: Info, code: str) -> bool:
        await causes.delete_cause(actor=_actor(info), code=code)
        return True
