"""/api/signal and /api/station-window (SPEC section 7)."""

from __future__ import annotations

from typing import Annotated

import orjson
from pydantic import Field, StringConstraints, TypeAdapter

from models.roles import Role
from resolvers.common.bodies import Code
from resolvers.common.errors import invalid
from resolvers.signals import receive
from resolvers.signals.payload import HttpSignalIn
from resolvers.windows import listing
from rest_compat.endpoint import Call, endpoint
from rest_compat.request_body import read_body
from rest_compat.routes.queries import Query

# The body as the handler reads it (one object or an array, each item validated on its own so the
# error names the item): for the OpenAPI document, so clients and fuzzers can send one.
SIGNAL_BODY: TypeAdapter[object] = TypeAdapter(
    HttpSignalIn | Annotated[list[HttpSignalIn], Field(min_length=1, max_length=receive.MAX_SIGNALS)]
)


class WindowQuery(Query):
    stationcodes: Annotated[list[Code], Field(max_length=500)] = Field(default_factory=list)
    rangecode: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None
    ) = None
    plantcode: Code | None = None


@endpoint(
    "POST",
    "/api/signal",
    "Post station signals (one object or an array; device keys and admins)",
    tag="Signal",
    envelope="result",
    description="Every item is validated first: a wrong type answers 400 naming the field and stores "
    "nothing. Items of unknown stations are dropped and listed in `unknownStationCodes`.",
    documented_body=SIGNAL_BODY,
)
async def post_signal(call: Call) -> object:
    # Role first: a device must not learn anything about a body it may not post.
    call.actor.require(Role.DEVICE)
    raw = await read_body(call.request, call.request.app.state.settings.max_body_bytes)
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid(None, f"the body is not valid JSON ({exc})") from None
    return await receive.receive_signals(actor=call.actor, payload=payload)


@endpoint(
    "GET",
    "/api/station-window",
    "Per-minute station windows over a range (default: the last hour), oldest first",
    tag="Signal",
    query=WindowQuery,
)
async def get_station_windows(call: Call) -> object:
    q = call.query
    return await listing.list_station_windows(
        actor=call.actor, station_codes=q.stationcodes, range_code=q.rangecode, plant_code=q.plantcode
    )
