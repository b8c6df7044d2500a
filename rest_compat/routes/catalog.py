"""/api/sku and /api/non-production-reason."""

from __future__ import annotations

from resolvers.catalog import skus_and_reasons
from resolvers.common.bodies import NonProductionReasonIn, SkuIn
from rest_compat.endpoint import Call, endpoint


@endpoint("GET", "/api/sku", "List SKUs", tag="Sku")
async def get_skus(call: Call) -> object:
    return await skus_and_reasons.list_skus(actor=call.actor)


@endpoint("POST", "/api/sku", "Create or update a SKU (by code)", tag="Sku", body=SkuIn, envelope="result")
async def post_sku(call: Call) -> object:
    return await skus_and_reasons.upsert_sku(actor=call.actor, data=call.body)


@endpoint("GET", "/api/non-production-reason", "List non-production reasons", tag="Non Production Reason")
async def get_reasons(call: Call) -> object:
    return await skus_and_reasons.list_non_production_reasons(actor=call.actor)


@endpoint(
    "POST",
    "/api/non-production-reason",
    "Create or update a non-production reason (by code)",
    tag="Non Production Reason",
    body=NonProductionReasonIn,
    envelope="result",
)
async def post_reason(call: Call) -> object:
    return await skus_and_reasons.upsert_non_production_reason(actor=call.actor, data=call.body)
