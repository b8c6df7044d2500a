"""/api/station."""

from __future__ import annotations

from resolvers.catalog import stations
from resolvers.common.bodies import StationIn
from rest_compat.endpoint import Call, endpoint
from rest_compat.routes.queries import StationFilter


@endpoint("GET", "/api/station", "List stations", tag="Station", query=StationFilter)
async def get_stations(call: Call) -> object:
    q = call.query
    return await stations.list_stations(
        actor=call.actor, plant_code=q.plantcode, station_codes=q.stationcodes
    )


@endpoint(
    "POST",
    "/api/station",
    "Create or update a station (by code)",
    tag="Station",
    body=StationIn,
    envelope="result",
)
async def post_station(call: Call) -> object:
    return await stations.upsert_station(actor=call.actor, data=call.body)
