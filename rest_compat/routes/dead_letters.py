"""/api/signal/dead-letter: MQTT messages of the caller's account that were set aside (admin)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from resolvers.signals import dead_letters
from rest_compat.endpoint import Call, endpoint
from rest_compat.routes.queries import Query


class DeadLetterQuery(Query):
    limit: Annotated[int, Field(ge=1, le=dead_letters.MAX_LIMIT)] = 100
    before: Annotated[int, Field(ge=1, lt=2**63)] | None = None


@endpoint(
    "GET",
    "/api/signal/dead-letter",
    "MQTT messages of the account acknowledged without being applied, newest first (admin)",
    tag="Signal",
    query=DeadLetterQuery,
    description=(
        "Each entry: topic, stationCode, reason (the drop kind, `apply_failed` or `internal`), detail, "
        "receivedAt, the payload's first 1024 bytes (`payload`, non-UTF-8 bytes as \\xNN), payloadBytes, "
        "payloadTruncated. Page with `limit` (1-1000, default 100) and `before` (the last id seen). "
        "The newest 1000 per account are kept."
    ),
)
async def get_dead_letters(call: Call) -> object:
    return await dead_letters.list_dead_letters(
        actor=call.actor, limit=call.query.limit, before=call.query.before
    )
