"""Query root fields, composed per area."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import strawberry
from strawberry.types import Info

from resolvers.catalog import causes, plants, skus_and_reasons, stations
from resolvers.common.errors import invalid
from resolvers.issues import listing
from schema import types
from schema.context import Context


def _actor(info: Info) -> Any:
    context: Context = info.context
    return context.caller()


def _live(info: Info) -> Any:
    """The caller, for a field whose answer depends on the clock: such an answer is never cached."""
    context: Context = info.context
    context.cacheable = False
    return context.caller()


def encode_cursor(view: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(f"{view['startAtTimestamp']}:{view['id']}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        ms_text, id_text = base64.urlsafe_b64decode(cursor.encode()).decode().split(":")
        ms, issue_id = int(ms_text), int(id_text)
        if not (0 <= ms < 253_402_300_800_000 and 0 < issue_id < 2**31):  # year 9999, 32-bit ids
            raise ValueError("out of range")
        return datetime.fromtimestamp(ms / 1000, UTC), issue_id
    except (ValueError, UnicodeDecodeError, OverflowError, OSError):
        raise invalid("after", "not a cursor this API gave out") from None


@strawberry.type
class IssueEdge:
    cursor: str
    node: types.Issue


@strawberry.type
class PageInfo:
    hasNextPage: bool
    endCursor: str | None


@strawberry.type
class IssueConnection:
    edges: list[IssueEdge]
    pageInfo: PageInfo

    @strawberry.field(description="The issues of this page, without edges.")
    def nodes(self) -> list[types.Issue]:
        return [e.node for e in self.edges]


@strawberry.type
class TenancyQuery:
    @strawberry.field(description="The caller: account, role and how they authenticated.")
    def me(self, info: Info) -> types.Me:
        a = _actor(info)
        return types.Me(accountId=a.account_id, role=a.role.value, email=a.email, userId=a.user_id, via=a.via)

    @strawberry.field
    async def plants(self, info: Info) -> list[types.Plant]:
        return [types.Plant.from_view(v) for v in await plants.list_plants(actor=_actor(info))]

    @strawberry.field
    async def station_groups(self, info: Info, plant_code: str | None = None) -> list[types.StationGroup]:
        views = await plants.list_station_groups(actor=_actor(info), plant_code=plant_code)
        return [types.StationGroup.from_view(v) for v in views]

    @strawberry.field
    async def stations(
        self, info: Info, plant_code: str | None = None, station_codes: list[str] | None = None
    ) -> list[types.Station]:
        views = await stations.list_stations(
            actor=_actor(info), plant_code=plant_code, station_codes=station_codes or ()
        )
        return [types.Station.from_view(v) for v in views]

    @strawberry.field
    async def station(self, info: Info, code: str) -> types.Station | None:
        views = await stations.list_stations(actor=_actor(info), station_codes=[code])
        return types.Station.from_view(views[0]) if views else None

    @strawberry.field
    async def skus(self, info: Info) -> list[types.Sku]:
        return [types.Sku.from_view(v) for v in await skus_and_reasons.list_skus(actor=_actor(info))]


@strawberry.type
class IssueQuery:
    @strawberry.field(
        description="Issues newest first, with the REST filters; page with `first` and `after`."
    )
    async def issues(
        self,
        info: Info,
        station_codes: list[str] | None = None,
        range_code: str | None = None,
        plant_code: str | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> IssueConnection:
        if not 1 <= first <= listing.MAX_LIMIT:
            raise invalid("first", f"must be between 1 and {listing.MAX_LIMIT}")
        views = await listing.list_issues(
            actor=_live(info),
            station_codes=station_codes or (),
            range_code=range_code,
            plant_code=plant_code,
            # One more than asked tells whether there is a next page.
            limit=first + 1,
            before=decode_cursor(after) if after else None,
        )
        page = views[:first]
        edges = [IssueEdge(cursor=encode_cursor(v), node=types.Issue.from_view(v)) for v in page]
        return IssueConnection(
            edges=edges,
            pageInfo=PageInfo(hasNextPage=len(views) > first, endCursor=edges[-1].cursor if edges else None),
        )

    @strawberry.field
    async def issue(self, info: Info, id: int) -> types.Issue | None:
        [view] = await listing.list_issues(actor=_live(info), issue_id=id)
        return types.Issue.from_view(view)

    @strawberry.field
    async def ongoing_issues(self, info: Info, station_codes: list[str]) -> list[types.Issue]:
        views = await listing.list_ongoing_issues(actor=_live(info), station_codes=station_codes)
        return [types.Issue.from_view(v) for v in views]

    @strawberry.field
    async def unreported_downtime_counts(
        self, info: Info, station_codes: list[str], range_code: str
    ) -> list[types.UnreportedCount]:
        rows = await listing.count_unreported_downtime(
            actor=_live(info), station_codes=station_codes, range_code=range_code
        )
        return [types.UnreportedCount(stationCode=str(r["stationCode"]), count=int(r["count"])) for r in rows]  # type: ignore[call-overload]

    @strawberry.field
    async def causes(self, info: Info, codes: list[str] | None = None) -> list[types.Cause]:
        return [
            types.Cause.from_view(v) for v in await causes.list_causes(actor=_live(info), codes=codes or ())
        ]
