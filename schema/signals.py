"""GraphQL: per-minute station windows (SPEC section 7)."""

from __future__ import annotations

from collections.abc import Sequence

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from resolvers.signals.status import station_statuses
from resolvers.windows import listing
from schema.context import Context
from schema.scalars import Long
from schema.types import FromView


@strawberry.type
class StationWindow(FromView):
    stationCode: str
    windowStartAt: str
    windowStartTimestamp: Long
    totalMs: int
    shiftMs: int
    scheduledProductionMs: int
    scheduledNonProductionMs: int
    productiveMs: int
    downtimeMs: int
    productionGoodCount: int
    productionBadCount: int
    cycleTimeAvg: float | None
    lineSpeedAvg: float | None
    electricalKwh: float | None
    rssiAvg: float | None
    isAlive: bool
    skuCode: str | None
    signalCount: int


@strawberry.type
class SignalQuery:
    @strawberry.field(description="Per-minute windows of the stations over a range (default: the last hour).")
    async def station_windows(
        self,
        info: Info,
        station_codes: list[str] | None = None,
        range_code: str | None = None,
        plant_code: str | None = None,
    ) -> list[StationWindow]:
        context: Context = info.context
        context.cacheable = False  # windows fill in every second
        views = await listing.list_station_windows(
            actor=context.caller(),
            station_codes=station_codes or (),
            range_code=range_code,
            plant_code=plant_code,
        )
        return [StationWindow.from_view(v) for v in views]


async def status_of(info: Info, code: str) -> str:
    """A station's live status, fetched once per request for every station the result shows."""
    context: Context = info.context
    context.cacheable = False  # changes with the clock, not with a change of the account's data

    async def batch(codes: Sequence[str]) -> list[str]:
        found = await station_statuses(actor=context.caller(), station_codes=codes)
        return [str(found.get(c, {}).get("status") or "offline") for c in codes]

    loader: DataLoader[str, str] = context.loader("station_status", lambda: DataLoader(batch))
    return await loader.load(code)
