"""Production and non-production schedules of stations (SPEC section 5): list, create, delete.

Entries of one station never overlap, whatever their kind: a planned maintenance is its own block on the
station's timeline, and a production run around it is two entries. The check runs with the station row
locked so two concurrent posts cannot both pass it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from tortoise.transactions import in_transaction

from models.roles import Role
from models.tenancy import NonProductionReason, Sku, Station
from models.timefmt import iso_ms, utc_now
from models.windows import NonProductionSchedule, ProductionSchedule
from resolvers.common.actor import Actor
from resolvers.common.bodies import ScheduleIn
from resolvers.common.changes import Change, publish
from resolvers.common.config_views import View
from resolvers.common.errors import conflict, not_found
from resolvers.common.lookups import by_code
from resolvers.common.scope import plant_for, stations_by_codes, time_range

ScheduleKind = Literal["production", "non-production"]
KINDS: tuple[ScheduleKind, ...] = ("production", "non-production")
MAX_LIMIT = 5000


def production_view(row: ProductionSchedule) -> View:
    return {
        "id": row.id,
        "type": "production",
        "stationCode": row.station.code,
        "skuCode": row.sku.code,
        "nonProductionReasonCode": None,
        "plannedStartAt": iso_ms(row.planned_start_at),
        "plannedEndAt": iso_ms(row.planned_end_at),
        "plannedQuantity": row.planned_quantity,
        "accountId": row.account_id,
        "createdAt": iso_ms(row.created_at),
        "updatedAt": iso_ms(row.updated_at),
    }


def non_production_view(row: NonProductionSchedule) -> View:
    return {
        "id": row.id,
        "type": "non-production",
        "stationCode": row.station.code,
        "skuCode": None,
        "nonProductionReasonCode": row.reason.code,
        "plannedStartAt": iso_ms(row.planned_start_at),
        "plannedEndAt": iso_ms(row.planned_end_at),
        "plannedQuantity": None,
        "accountId": row.account_id,
        "createdAt": iso_ms(row.created_at),
        "updatedAt": iso_ms(row.updated_at),
    }


async def list_schedules(
    *,
    actor: Actor,
    plant_code: str | None = None,
    station_codes: Sequence[str] = (),
    range_code: str | None = None,
    kind: ScheduleKind | None = None,
    limit: int = 1000,
    now: datetime | None = None,
) -> list[View]:
    """Entries overlapping the range (all of them without one), by planned start then station."""
    actor.require(Role.READ_ONLY)
    account = actor.account_id
    stations = await stations_by_codes(account, station_codes) if station_codes else []
    filters: dict[str, object] = {"account_id": account}
    if stations:
        filters["station_id__in"] = [s.id for s in stations]
    if plant_code is not None or range_code is not None:
        plant = await plant_for(account, plant_code, stations)
        if plant_code is not None and not stations:
            filters["station__plant_id"] = plant.id
        if range_code is not None:
            span = await time_range(
                range_code=range_code,
                plant=plant,
                stations=stations,
                now=now or utc_now(),
                default=timedelta(0),
            )
            filters["planned_start_at__lt"] = span.end
            filters["planned_end_at__gt"] = span.start
    views: list[View] = []
    if kind in (None, "production"):
        rows = await ProductionSchedule.filter(**filters).select_related("station", "sku").limit(limit)
        views += [production_view(r) for r in rows]
    if kind in (None, "non-production"):
        others = (
            await NonProductionSchedule.filter(**filters).select_related("station", "reason").limit(limit)
        )
        views += [non_production_view(r) for r in others]
    views.sort(key=lambda v: (v["plannedStartAt"], v["stationCode"], v["type"], v["id"]))
    return views[:limit]


async def create_schedule(*, actor: Actor, data: ScheduleIn) -> View:
    """One entry; 400 for unknown codes in the body, 409 when it overlaps an entry of the station."""
    actor.require(Role.MEMBER)
    account = actor.account_id
    station = await by_code(
        Station, "station", account_id=account, code=data.stationCode, body_field="stationCode"
    )
    sku = reason = None
    if data.skuCode is not None:
        sku = await by_code(Sku, "SKU", account_id=account, code=data.skuCode, body_field="skuCode")
    else:
        assert data.nonProductionReasonCode is not None  # ScheduleIn holds exactly one of the two
        reason = await by_code(
            NonProductionReason,
            "non-production reason",
            account_id=account,
            code=data.nonProductionReasonCode,
            body_field="nonProductionReasonCode",
        )
    span = {"planned_start_at": data.plannedStartAt, "planned_end_at": data.plannedEndAt}
    async with in_transaction():
        # Serialises schedule writers of one station (Postgres; SQLite serialises writers anyway).
        await Station.select_for_update().get(id=station.id)
        await _refuse_overlap(station, data.plannedStartAt, data.plannedEndAt)
        common: dict[str, Any] = {"account_id": account, "station_id": station.id, **span}
        if sku is not None:
            row: ProductionSchedule | NonProductionSchedule = await ProductionSchedule.create(
                sku_id=sku.id, planned_quantity=data.plannedQuantity, **common
            )
        else:
            assert reason is not None
            row = await NonProductionSchedule.create(reason_id=reason.id, **common)
    await publish(Change("schedule", account, row.id))
    if isinstance(row, ProductionSchedule):
        await row.fetch_related("station", "sku")
        return production_view(row)
    await row.fetch_related("station", "reason")
    return non_production_view(row)


async def _refuse_overlap(station: Station, start: datetime, end: datetime) -> None:
    for model, kind in ((ProductionSchedule, "production"), (NonProductionSchedule, "non-production")):
        clash = await model.filter(
            station_id=station.id, planned_start_at__lt=end, planned_end_at__gt=start
        ).first()
        if clash is not None:
            raise conflict(
                f"station {station.code} already has a {kind} schedule entry {clash.id} from "
                f"{iso_ms(clash.planned_start_at)} to {iso_ms(clash.planned_end_at)} overlapping this one",
                "plannedStartAt",
            )


async def delete_schedule(*, actor: Actor, schedule_id: int, kind: ScheduleKind) -> None:
    """Remove one entry; another account's id or an unknown one → 404."""
    actor.require(Role.MEMBER)
    model = ProductionSchedule if kind == "production" else NonProductionSchedule
    deleted = await model.filter(account_id=actor.account_id, id=schedule_id).delete()
    if not deleted:
        raise not_found(f"{kind} schedule", schedule_id)
    await publish(Change("schedule", actor.account_id, schedule_id))
