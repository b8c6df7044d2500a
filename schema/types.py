"""GraphQL object types. Each is built from the resolvers' wire view of the same entity (`from_view`),
so REST and GraphQL show the same fields with the same values."""

from __future__ import annotations

from typing import Any, Self

import strawberry
from strawberry.types import Info

from schema.scalars import Long

JSON = strawberry.scalars.JSON


def _from_view(cls: type[Any], view: dict[str, Any]) -> Any:
    # Every key of the view must be a field: a field added to a view and not here fails loudly.
    return cls(**view)


class FromView:
    """A type built from the resolvers' wire view of the same entity."""

    @classmethod
    def from_view(cls, view: dict[str, Any]) -> Self:
        return _from_view(cls, view)  # type: ignore[no-any-return]


@strawberry.type
class Plant(FromView):
    code: str
    name: str
    timezone: str
    dayStartHour: int
    accountId: str
    createdAt: str
    updatedAt: str


@strawberry.type
class Shift:
    weekDay: int
    startHour: float
    duration: float


@strawberry.type
class StationGroup:
    code: str
    name: str
    plantCode: str
    shifts: list[Shift]
    accountId: str
    createdAt: str
    updatedAt: str

    @classmethod
    def from_view(cls, view: dict[str, Any]) -> Self:
        shifts = [Shift(**s) for s in view["shifts"]]
        return _from_view(cls, {**view, "shifts": shifts})  # type: ignore[no-any-return]


@strawberry.type
class Sku(FromView):
    code: str
    name: str
    cycleTime: float | None
    value: float | None
    downtimeDurationThresholdMultiplier: float | None
    accountId: str
    createdAt: str
    updatedAt: str


@strawberry.type
class CauseCrumb:
    code: str
    description: str
    parentCauseCode: str | None


@strawberry.type
class Cause(FromView):
    code: str
    description: str
    parentCauseCode: str | None
    accountId: str
    createdAt: str
    updatedAt: str

    @strawberry.field(description="The parent cause, null for a root.")
    async def parent(self, info: Info) -> Cause | None:
        from schema.loaders import cause_by_code

        return await cause_by_code(info, self.parentCauseCode) if self.parentCauseCode else None

    @strawberry.field(description="Direct children, ordered by code.")
    async def children(self, info: Info) -> list[Cause]:
        from schema.loaders import cause_children

        return await cause_children(info, self.code)

    @strawberry.field(description="Root → this cause.")
    async def breadcrumb(self, info: Info) -> list[CauseCrumb]:
        from schema.loaders import cause_breadcrumb

        return await cause_breadcrumb(info, self.code)


@strawberry.type
class IssueEvent(FromView):
    id: int
    downtimeId: int
    type: str
    userId: int | None
    estimateEndAt: str | None
    notifiedAt: str | None
    causeCode: str | None
    accountId: str
    createdAt: str
    updatedAt: str
    operatorInitials: str | None
    userEmail: str | None


@strawberry.type
class Issue:
    id: int
    type: str
    stationCode: str
    startAt: str
    endAt: str | None
    createdAt: str
    updatedAt: str
    startNotifiedAt: str | None
    endNotifiedAt: str | None
    accountId: str
    excludedAt: str | None
    events: list[IssueEvent]
    isOngoing: bool
    isAcknowledged: bool
    isEstimated: bool
    isEscalated: bool
    hasCause: bool
    causeCode: str | None
    estimateEndAt: str | None
    ragStatus: str
    statusText: str
    stationName: str
    causeBreadcrumb: list[CauseCrumb]
    startAtTimestamp: Long
    endAtTimestamp: Long | None
    duration: Long
    durationFormatted: str
    skuCode: str | None
    skuName: str | None
    revision: Long

    @classmethod
    def from_view(cls, view: dict[str, Any]) -> Self:
        return _from_view(
            cls,
            {  # type: ignore[no-any-return]
                **view,
                "events": [IssueEvent.from_view(e) for e in view["events"]],
                "causeBreadcrumb": [CauseCrumb(**c) for c in view["causeBreadcrumb"]],
            },
        )

    @strawberry.field
    async def station(self, info: Info) -> Station:
        from schema.loaders import station_by_code

        station = await station_by_code(info, self.stationCode)
        assert station is not None  # an issue's station exists in its account
        return station

    @strawberry.field
    async def cause(self, info: Info) -> Cause | None:
        from schema.loaders import cause_by_code

        return await cause_by_code(info, self.causeCode) if self.causeCode else None

    @strawberry.field
    async def sku(self, info: Info) -> Sku | None:
        from schema.loaders import sku_by_code

        return await sku_by_code(info, self.skuCode) if self.skuCode else None


@strawberry.type
class Station(FromView):
    code: str
    name: str
    plantCode: str
    groupCode: str | None
    cycleTime: float | None
    downtimeDetectionMode: str
    utilisationDowntimeThreshold: float | None
    downtimeDurationThresholdMultiplier: float
    slowDurationThreshold: float | None
    idleCostPerMinute: float | None
    archivedAt: str | None
    accountId: str
    createdAt: str
    updatedAt: str

    @strawberry.field(description="The station's group, null when it has none.")
    async def group(self, info: Info) -> StationGroup | None:
        from schema.loaders import group_by_code

        return await group_by_code(info, self.groupCode) if self.groupCode else None

    @strawberry.field(
        description="Live status: running, stopped, idle (out of shift or non-production) or offline."
    )
    async def status(self, info: Info) -> str:
        from schema.signals import status_of

        return await status_of(info, self.code)

    @strawberry.field(description="The station's newest ongoing issue, null while it runs without one.")
    async def current_issue(self, info: Info) -> Issue | None:
        from schema.loaders import ongoing_by_station

        ongoing = await ongoing_by_station(info, self.code)
        return ongoing[0] if ongoing else None


@strawberry.type
class Range:
    from_: Long = strawberry.field(name="from")
    to: Long
    duration: Long
    fromIso: str
    toIso: str
    durationFormatted: str


@strawberry.type
class UnreportedCount:
    stationCode: str
    count: int


@strawberry.type
class Me:
    accountId: str
    role: str
    email: str | None
    userId: int | None
    via: str
