"""GraphQL `downtimeAnalysis` (SPEC sections 8 and 11): the same resolver and numbers as GET /api/downtime."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from resolvers.analysis import downtime
from schema.queries import _live
from schema.scalars import Long
from schema.types import Range


def _range(view: dict[str, Any]) -> Range:
    return Range(
        from_=view["from"],
        to=view["to"],
        duration=view["duration"],
        fromIso=view["fromIso"],
        toIso=view["toIso"],
        durationFormatted=view["durationFormatted"],
    )


@strawberry.type
class ReliabilityData:
    runningsCount: int
    stopsCount: int
    totalRunningTime: Long
    totalStoppedTime: Long
    mtbf: Long | None
    mttr: Long | None


@strawberry.type
class StationCycleTimes:
    stationCode: str
    stationName: str
    avg: float | None
    min: float | None
    max: float | None
    quantity: int


@strawberry.type
class CycleTimeAnalysis:
    avg: float | None
    min: float | None
    max: float | None
    quantity: int
    default: float | None
    stations: list[StationCycleTimes]


@strawberry.type
class LossBreakdown:
    code: str
    description: str
    duration: Long
    cost: float
    percent: float | None


@strawberry.type
class Oee:
    scheduleDuration: Long
    scheduleLossDuration: Long
    schedulePerc: float | None
    productionScheduleDuration: Long
    productionScheduleLossDuration: Long
    productionSchedulePerc: float | None
    availabilityDuration: Long
    availabilityLossDuration: Long
    availabilityPerc: float | None
    performanceTargetCount: float | None
    performanceTargetLossCount: float | None
    performanceTargetPerc: float | None
    goodQualityCount: int
    goodQualityLossCount: int
    goodQualityPerc: float | None
    scheduledNonProduction: list[LossBreakdown]
    stops: list[LossBreakdown]
    oee: float | None


@strawberry.type
class Downtime:
    type: str
    stationCode: str
    reasonCode: str
    startTimestamp: Long
    endTimestamp: Long
    range: Range


@strawberry.type
class StationAnalysis:
    stationCode: str
    stationName: str
    stationGroupCode: str | None
    stationGroupName: str | None
    range: Range
    reliabilityData: ReliabilityData
    cycleTimeAnalysis: CycleTimeAnalysis
    oee: Oee
    downtimes: list[Downtime]


@strawberry.type
class DowntimeAnalysis:
    results: list[StationAnalysis]
    range: Range


def _station(view: dict[str, Any]) -> StationAnalysis:
    cycle = view["cycleTimeAnalysis"]
    oee = view["oee"]
    return StationAnalysis(
        stationCode=view["stationCode"],
        stationName=view["stationName"],
        stationGroupCode=view["stationGroupCode"],
        stationGroupName=view["stationGroupName"],
        range=_range(view["range"]),
        reliabilityData=ReliabilityData(**view["reliabilityData"]),
        cycleTimeAnalysis=CycleTimeAnalysis(
            **{**cycle, "stations": [StationCycleTimes(**s) for s in cycle["stations"]]}
        ),
        oee=Oee(
            **{
                **oee,
                "scheduledNonProduction": [LossBreakdown(**r) for r in oee["scheduledNonProduction"]],
                "stops": [LossBreakdown(**r) for r in oee["stops"]],
            }
        ),
        downtimes=[Downtime(**{**d, "range": _range(d["range"])}) for d in view["downtimes"]],
    )


@strawberry.type
class DowntimeQuery:
    @strawberry.field(description="OEE and downtime per station (and per hour, day, week or shift window).")
    async def downtime_analysis(
        self,
        info: Info,
        plant_code: str,
        range_code: str,
        station_codes: list[str] | None = None,
        sku_codes: list[str] | None = None,
        aggregate_window: str = "none",
        include_future: bool = False,
        in_shift_averages: bool = False,
    ) -> DowntimeAnalysis:
        answer = await downtime.downtime_analysis(
            actor=_live(info),
            plant_code=plant_code,
            range_code=range_code,
            station_codes=station_codes or (),
            sku_codes=sku_codes or (),
            aggregate_window=aggregate_window,
            include_future=include_future,
            in_shift_averages=in_shift_averages,
        )
        return DowntimeAnalysis(
            results=[_station(v) for v in answer["results"]], range=_range(answer["range"])
        )
