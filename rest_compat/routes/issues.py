"""The Issue page of the seeds: /api/issue…, causes, CSVs, and the /api/downtime analysis."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints
from starlette.responses import Response

from resolvers.analysis import downtime
from resolvers.catalog import causes
from resolvers.common.bodies import CauseCode, CauseIn, Code, IssueEventIn, IssueIn
from resolvers.issues import creation, events, listing
from rest_compat.csv_out import csv_response
from rest_compat.endpoint import Call, endpoint
from rest_compat.responses import results
from rest_compat.routes.queries import Query

RangeCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
StationCodes = Annotated[list[Code], Field(max_length=500)]


class IssueQuery(Query):
    stationcodes: StationCodes = Field(default_factory=list)
    rangecode: RangeCode | None = None
    plantcode: Code | None = None
    id: Annotated[int, Field(ge=1, lt=2**31)] | None = None
    limit: Annotated[int, Field(ge=1, le=listing.MAX_LIMIT)] = 100


class IssueCsvQuery(Query):
    plantcode: Code
    rangecode: RangeCode
    stationcodes: StationCodes = Field(default_factory=list)


class OngoingQuery(Query):
    stationcodes: Annotated[list[Code], Field(min_length=1, max_length=500)]


class UnreportedQuery(Query):
    stationcodes: Annotated[list[Code], Field(min_length=1, max_length=500)]
    rangecode: RangeCode


class CauseQuery(Query):
    codes: Annotated[list[CauseCode], Field(max_length=500)] = Field(default_factory=list)


@endpoint(
    "GET",
    "/api/issue",
    "List issues, newest first (default: the last 24 hours)",
    tag="Issue",
    query=IssueQuery,
)
async def get_issues(call: Call) -> object:
    q = call.query
    return await listing.list_issues(
        actor=call.actor,
        station_codes=q.stationcodes,
        range_code=q.rangecode,
        plant_code=q.plantcode,
        issue_id=q.id,
        limit=q.limit,
    )


@endpoint("POST", "/api/issue", "Create an issue by hand", tag="Issue", body=IssueIn)
async def post_issue(call: Call) -> object:
    return [await creation.create_issue(actor=call.actor, data=call.body)]


@endpoint(
    "GET",
    "/api/issue/csv",
    "Issues of a plant over a range as CSV",
    tag="Issue",
    query=IssueCsvQuery,
    envelope="raw",
    produces="text/csv",
)
async def get_issue_csv(call: Call) -> Response:
    q = call.query
    rows = await listing.issue_csv_rows(
        actor=call.actor, plant_code=q.plantcode, range_code=q.rangecode, station_codes=q.stationcodes
    )
    return csv_response("listing.csv", listing.CSV_COLUMNS, rows)


@endpoint("GET", "/api/issue/ongoing", "Ongoing issues of the stations", tag="Issue", query=OngoingQuery)
async def get_ongoing(call: Call) -> object:
    return await listing.list_ongoing_issues(actor=call.actor, station_codes=call.query.stationcodes)


@endpoint(
    "GET",
    "/api/issue/unreported-downtime/count",
    "Issues without a cause per station",
    tag="Issue",
    query=UnreportedQuery,
)
async def get_unreported(call: Call) -> object:
    q = call.query
    return await listing.count_unreported_downtime(
        actor=call.actor, station_codes=q.stationcodes, range_code=q.rangecode
    )


@endpoint("GET", "/api/issue/cause", "List causes", tag="Issue", query=CauseQuery)
async def get_causes(call: Call) -> object:
    return await causes.list_causes(actor=call.actor, codes=call.query.codes)


@endpoint(
    "POST",
    "/api/issue/cause",
    "Create or update a cause (by code)",
    tag="Issue",
    body=CauseIn,
    envelope="result",
)
async def post_cause(call: Call) -> object:
    return await causes.upsert_cause(actor=call.actor, data=call.body)


@endpoint("GET", "/api/issue/cause/csv", "Causes as CSV", tag="Issue", envelope="raw", produces="text/csv")
async def get_cause_csv(call: Call) -> Response:
    return csv_response("causes.csv", causes.CSV_COLUMNS, await causes.cause_csv_rows(actor=call.actor))


@endpoint("DELETE", "/api/issue/cause/{code}", "Delete a cause", tag="Issue", envelope="empty")
async def delete_cause(call: Call) -> object:
    await causes.delete_cause(actor=call.actor, code=call.path("code"))
    return None


@endpoint(
    "POST", "/api/issue/{id}/event", "Add an event to an issue", tag="Issue", body=IssueEventIn, envelope="ok"
)
async def post_issue_event(call: Call) -> object:
    await events.add_issue_event(actor=call.actor, issue_id=call.path_int("id"), data=call.body)
    return None


class DowntimeQuery(Query):
    plantcode: Code
    rangecode: RangeCode
    stationcodes: StationCodes = Field(default_factory=list)
    skucodes: Annotated[list[Code], Field(max_length=500)] = Field(default_factory=list)
    aggregatewindow: Literal["none", "hour", "day", "week", "shift"] = "none"
    includefuture: bool = False
    inshiftaverages: bool = False


@endpoint(
    "GET",
    "/api/downtime",
    "OEE and downtime analysis per station (and per hour, day, week or shift)",
    tag="Issue",
    query=DowntimeQuery,
    envelope="raw",
)
async def get_downtime(call: Call) -> Response:
    q = call.query
    answer = await downtime.downtime_analysis(
        actor=call.actor,
        plant_code=q.plantcode,
        range_code=q.rangecode,
        station_codes=q.stationcodes,
        sku_codes=q.skucodes,
        aggregate_window=q.aggregatewindow,
        include_future=q.includefuture,
        in_shift_averages=q.inshiftaverages,
    )
    return results(answer["results"], range=answer["range"])
