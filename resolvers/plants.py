"""Plants and station groups."""

from __future__ import annotations

from models.roles import Role
from models.tenancy import Plant, StationGroup
from resolvers.actor import Actor
from resolvers.changes import Change, publish
from resolvers.inputs import PlantIn, StationGroupIn
from resolvers.lookups import by_code
from resolvers.upsert import upsert_by_code
from resolvers.views import View, plant_view, station_group_view

_PLANT_COLUMNS = {"name": "name", "timezone": "timezone", "dayStartHour": "day_start_hour"}


async def list_plants(*, actor: Actor) -> list[View]:
    actor.require(Role.READ_ONLY)
    rows = await Plant.filter(account_id=actor.account_id).order_by("code")
    return [plant_view(p) for p in rows]


async def upsert_plant(*, actor: Actor, data: PlantIn) -> View:
    actor.require(Role.MEMBER)
    values = {_PLANT_COLUMNS[k]: v for k, v in data.model_dump().items() if k in _PLANT_COLUMNS}
    update = {_PLANT_COLUMNS[k]: v for k, v in data.given().items() if k in _PLANT_COLUMNS}
    plant = await upsert_by_code(Plant, account_id=actor.account_id, code=data.code, create=values, update=update)
    await publish(Change("plant", actor.account_id, plant.code))
    return plant_view(plant)


async def list_station_groups(*, actor: Actor, plant_code: str | None = None) -> list[View]:
    actor.require(Role.READ_ONLY)
    query = StationGroup.filter(account_id=actor.account_id)
    if plant_code is not None:
        plant = await by_code(Plant, "plant", account_id=actor.account_id, code=plant_code)
        query = query.filter(plant_id=plant.id)
    rows = await query.order_by("code").select_related("plant")
    return [station_group_view(g, g.plant.code) for g in rows]


async def upsert_station_group(*, actor: Actor, data: StationGroupIn) -> View:
    actor.require(Role.MEMBER)
    plant = await by_code(Plant, "plant", account_id=actor.account_id, code=data.plantCode, body_field="plantCode")
    shifts = [s.model_dump() for s in data.shifts]
    create = {"name": data.name, "plant_id": plant.id, "shifts": shifts}
    given = data.given()
    update = {"plant_id": plant.id, **{k: v for k, v in create.items() if k in given}}
    group = await upsert_by_code(
        StationGroup, account_id=actor.account_id, code=data.code, create=create, update=update
    )
    await publish(Change("station_group", actor.account_id, group.code))
    return station_group_view(group, plant.code)
