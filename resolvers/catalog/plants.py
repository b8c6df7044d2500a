"""Plants and station groups."""

from __future__ import annotations

from models.roles import Role
from models.tenancy import Plant, Station, StationGroup
from resolvers.common.actor import Actor
from resolvers.common.bodies import PlantIn, StationGroupIn
from resolvers.common.changes import Change, publish
from resolvers.common.config_views import View, plant_view, station_group_view
from resolvers.common.errors import conflict
from resolvers.common.lookups import by_code
from resolvers.common.read_cache import cached
from resolvers.common.upsert import columns, upsert_by_code

_PLANT_COLUMNS = {"name": "name", "timezone": "timezone", "dayStartHour": "day_start_hour"}
_GROUP_COLUMNS = {"name": "name", "shifts": "shifts"}


async def list_plants(*, actor: Actor) -> list[View]:
    actor.require(Role.READ_ONLY)
    rows = await Plant.filter(account_id=actor.account_id).order_by("code")
    return [plant_view(p) for p in rows]


async def upsert_plant(*, actor: Actor, data: PlantIn) -> View:
    actor.require(Role.MEMBER)
    create, update = columns(data, _PLANT_COLUMNS)
    plant = await upsert_by_code(
        Plant, account_id=actor.account_id, code=data.code, create=create, update=update
    )
    await publish(Change("plant", actor.account_id, plant.code))
    return plant_view(plant)


async def list_station_groups(*, actor: Actor, plant_code: str | None = None) -> list[View]:
    actor.require(Role.READ_ONLY)
    account = actor.account_id
    plant_id = (await by_code(Plant, "plant", account_id=account, code=plant_code)).id if plant_code else None

    async def load() -> list[View]:
        query = StationGroup.filter(account_id=account)
        if plant_id is not None:
            query = query.filter(plant_id=plant_id)
        rows = await query.order_by("code").select_related("plant")
        return [station_group_view(g, g.plant.code) for g in rows]

    # A group's view shows its plant's code, so it depends on plants too.
    return await cached(account, ("station_groups", plant_id), frozenset({"station_group", "plant"}), load)  # type: ignore[no-any-return]


async def upsert_station_group(*, actor: Actor, data: StationGroupIn) -> View:
    actor.require(Role.MEMBER)
    plant = await by_code(
        Plant, "plant", account_id=actor.account_id, code=data.plantCode, body_field="plantCode"
    )
    await _refuse_stranding_stations(actor.account_id, data.code, plant.id)
    create, update = columns(data, _GROUP_COLUMNS)
    create["plant_id"] = update["plant_id"] = plant.id
    group = await upsert_by_code(
        StationGroup, account_id=actor.account_id, code=data.code, create=create, update=update
    )
    await publish(Change("station_group", actor.account_id, group.code))
    return station_group_view(group, plant.code)


async def _refuse_stranding_stations(account_id: str, group_code: str, plant_id: int) -> None:
    """A group may move to another plant only if none of its stations stays behind in the old one."""
    stranded = (
        await Station.filter(account_id=account_id, group__code=group_code)
        .exclude(plant_id=plant_id)
        .exists()
    )
    if stranded:
        raise conflict(
            f"station group {group_code!r} has stations in another plant; move them first", "plantCode"
        )
