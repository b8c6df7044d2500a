"""The account's catalogues: SKUs and non-production reasons."""

from __future__ import annotations

from models.roles import Role
from models.tenancy import NonProductionReason, Sku
from resolvers.common.actor import Actor
from resolvers.common.bodies import NonProductionReasonIn, SkuIn
from resolvers.common.changes import Change, publish
from resolvers.common.config_views import View, non_production_reason_view, sku_view
from resolvers.common.upsert import columns, upsert_by_code

_SKU_COLUMNS = {
    "name": "name",
    "cycleTime": "cycle_time",
    "value": "value",
    "downtimeDurationThresholdMultiplier": "downtime_duration_threshold_multiplier",
}


async def list_skus(*, actor: Actor) -> list[View]:
    actor.require(Role.READ_ONLY)
    return [sku_view(k) for k in await Sku.filter(account_id=actor.account_id).order_by("code")]


async def upsert_sku(*, actor: Actor, data: SkuIn) -> View:
    actor.require(Role.MEMBER)
    create, update = columns(data, _SKU_COLUMNS)
    sku = await upsert_by_code(Sku, account_id=actor.account_id, code=data.code, create=create, update=update)
    await publish(Change("sku", actor.account_id, sku.code))
    return sku_view(sku)


async def list_non_production_reasons(*, actor: Actor) -> list[View]:
    actor.require(Role.READ_ONLY)
    rows = await NonProductionReason.filter(account_id=actor.account_id).order_by("code")
    return [non_production_reason_view(r) for r in rows]


async def upsert_non_production_reason(*, actor: Actor, data: NonProductionReasonIn) -> View:
    actor.require(Role.SUPERVISOR)
    values = {"description": data.description}
    reason = await upsert_by_code(
        NonProductionReason, account_id=actor.account_id, code=data.code, create=values, update=values
    )
    await publish(Change("non_production_reason", actor.account_id, reason.code))
    return non_production_reason_view(reason)
