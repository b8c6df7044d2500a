"""Stations."""

from __future__ import annotations

from collections.abc import Sequence

from models.roles import Role
from models.tenancy import Plant, Station, StationGroup
from resolvers.common.actor import Actor
from resolvers.common.bodies import StationIn
from resolvers.common.changes import Change, publish
from resolvers.common.config_views import View, station_view
from resolvers.common.errors import invalid
from resolvers.common.lookups import by_code
from resolvers.common.read_cache import cached
from resolvers.common.upsert import columns, upsert_by_code

# Wire name → column, for the settings a station carries.
_COLUMNS = {
    "name": "name",
    "cycleTime": "cycle_time",
    "downtimeDetectionMode": "downtime_detection_mode",
    "utilisationDowntimeThreshold": "utilisation_downtime_threshold",
    "downtimeDurationThresholdMultiplier": "downtime_duration_threshold_multiplier",
    "slowDurationThreshold": "slow_duration_threshold",
    "idleCostPerMinute": "idle_cost_per_minute",
    "archivedAt": "archived_at",
}


# A station's view shows its plant's and group's codes, so it depends on those kinds too.
_DEPENDS = frozenset({"station", "plant", "station_group"})


async def list_stations(
    *, actor: Actor, plant_code: str | None = None, station_codes: Sequence[str] = ()
) -> list[View]:
    actor.require(Role.READ_ONLY)
    account = actor.account_id
    if plant_code is not None:
        plant_id = (await by_code(Plant, "plant", account_id=account, code=plant_code)).id
    else:
        plant_id = None

    async def load() -> list[View]:
        query = Station.filter(account_id=account)
        if plant_id is not None:
            query = query.filter(plant_id=plant_id)
        if station_codes:
            query = query.filter(code__in=list(station_codes))
        rows = await query.order_by("code").select_related("plant", "group")
        return [station_view(s, s.plant.code, s.group.code if s.group else None) for s in rows]

    return await cached(account, ("stations", plant_id, tuple(station_codes)), _DEPENDS, load)  # type: ignore[no-any-return]


async def upsert_station(*, actor: Actor, data: StationIn) -> View:
    actor.require(Role.MEMBER)
    account = actor.account_id
    plant = await by_code(Plant, "plant", account_id=account, code=data.plantCode, body_field="plantCode")
    group = None
    if data.groupCode is not None:
        group = await by_code(
            StationGroup, "station group", account_id=account, code=data.groupCode, body_field="groupCode"
        )
        if group.plant_id != plant.id:
            raise invalid("groupCode", f"station group {group.code!r} belongs to another plant")
    refs = {"plant_id": plant.id, "group_id": group.id if group else None}
    create, update = columns(data, _COLUMNS)
    create.update(refs)
    update["plant_id"] = plant.id
    if "groupCode" in data.model_fields_set:
        update["group_id"] = refs["group_id"]
    station = await upsert_by_code(Station, account_id=account, code=data.code, create=create, update=update)
    await publish(Change("station", account, station.code))
    group_code = group.code if group else await _group_code(station)
    return station_view(station, plant.code, group_code)


async def _group_code(station: Station) -> str | None:
    gid = station.group_id
    if gid is None:
        return None
    group = await StationGroup.get(id=gid)
    return group.code
