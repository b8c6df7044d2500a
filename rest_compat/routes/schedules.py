"""/api/schedule: production and non-production schedule entries of stations."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from resolvers.catalog import schedules
from resolvers.common.bodies import Code, ScheduleIn
from rest_compat.endpoint import Call, endpoint
from rest_compat.routes.issues import RangeCode, StationCodes
from rest_compat.routes.queries import Query


class ScheduleQuery(Query):
    plantcode: Code | None = None
    stationcodes: StationCodes = Field(default_factory=list)
    rangecode: RangeCode | None = None
    type: Literal["production", "non-production"] | None = None
    limit: Annotated[int, Field(ge=1, le=schedules.MAX_LIMIT)] = 1000


class ScheduleDeleteQuery(Query):
    type: Literal["production", "non-production"] = "production"


@endpoint(
    "GET",
    "/api/schedule",
    "List schedule entries (production and non-production) overlapping a range",
    tag="Schedule",
    query=ScheduleQuery,
)
async def get_schedules(call: Call) -> object:
    q = call.query
    return await schedules.list_schedules(
        actor=call.actor,
        plant_code=q.plantcode,
        station_codes=q.stationcodes,
        range_code=q.rangecode,
        kind=q.type,
        limit=q.limit,
    )


@endpoint(
    "POST",
    "/api/schedule",
    "Create a schedule entry: production with skuCode, non-production with nonProductionReasonCode",
    tag="Schedule",
    body=ScheduleIn,
    envelope="result",
    extra_responses={409: "The entry overlaps another entry of the station"},
)
async def post_schedule(call: Call) -> object:
    return await schedules.create_schedule(actor=call.actor, data=call.body)


@endpoint(
    "DELETE",
    "/api/schedule/{id}",
    "Delete a schedule entry (type=non-production for a non-production entry)",
    tag="Schedule",
    query=ScheduleDeleteQuery,
    envelope="empty",
)
async def delete_schedule(call: Call) -> object:
    await schedules.delete_schedule(actor=call.actor, schedule_id=call.path_int("id"), kind=call.query.type)
    return None
