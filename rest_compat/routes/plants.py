"""/api/plant and /api/station-group."""

from __future__ import annotations

from resolvers.catalog import plants
from resolvers.common.bodies import PlantIn, StationGroupIn
from rest_compat.endpoint import Call, endpoint
from rest_compat.routes.queries import PlantFilter


@endpoint("GET", "/api/plant", "List plants", tag="Plant")
async def get_plants(call: Call) -> object:
    return await plants.list_plants(actor=call.actor)


@endpoint(
    "POST", "/api/plant", "Create or update a plant (by code)", tag="Plant", body=PlantIn, envelope="result"
)
async def post_plant(call: Call) -> object:
    return await plants.upsert_plant(actor=call.actor, data=call.body)


@endpoint("GET", "/api/station-group", "List station groups", tag="Station Group", query=PlantFilter)
async def get_station_groups(call: Call) -> object:
    return await plants.list_station_groups(actor=call.actor, plant_code=call.query.plantcode)


@endpoint(
    "POST",
    "/api/station-group",
    "Create or update a station group (by code)",
    tag="Station Group",
    body=StationGroupIn,
    envelope="result",
)
async def post_station_group(call: Call) -> object:
    return await plants.upsert_station_group(actor=call.actor, data=call.body)
