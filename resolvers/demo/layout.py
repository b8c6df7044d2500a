"""The demo plant layout: 2 station groups with shifts, 8 stations, SKUs, non-production reasons and a
week of schedules (production runs, daily breaks, one planned maintenance per station). Idempotent:
rows are upserted by code and a schedule entry that is already there (or overlaps one) is skipped.

History (signals, windows, issues) is not made here: it goes through the signal pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from models.ranges import TimeRange, resolve_range
from models.roles import Role
from models.tenancy import Plant, StationGroup
from models.timefmt import utc_now
from resolvers.catalog.plants import upsert_station_group
from resolvers.catalog.schedules import create_schedule
from resolvers.catalog.skus_and_reasons import upsert_non_production_reason, upsert_sku
from resolvers.catalog.stations import upsert_station
from resolvers.common.actor import Actor
from resolvers.common.bodies import NonProductionReasonIn, ScheduleIn, SkuIn, StationGroupIn, StationIn
from resolvers.common.errors import DomainError, ErrorCode
from resolvers.common.lookups import by_code

WEEKDAY_SHIFTS = [{"weekDay": d, "startHour": start, "duration": 8} for d in range(5) for start in (6, 14)]
GROUPS = {
    "assembly": ("Assembly", ["ASM-01", "ASM-02", "ASM-03", "ASM-04"]),
    "packing": ("Packing", ["PCK-01", "PCK-02", "PCK-03", "PCK-04"]),
}
SKUS = [("WIDGET-S", "Widget small", 20.0), ("WIDGET-L", "Widget large", 35.0), ("GADGET", "Gadget", 45.0)]
REASONS = [("maintenance", "Planned maintenance"), ("break", "Break"), ("no-orders", "No orders")]
DAYS = 7
# Local wall-clock hours of a shift day: runs around a daily break, maintenance cutting one afternoon.
# Breaks are staggered with a gap (even stations, then odd ones), so some stations always produce.
_BREAKS = ((11.5, 12.0), (12.5, 13.0))
_MAINTENANCE = (14.0, 16.0)


def demo_week(plant: Plant, now: datetime) -> TimeRange:
    """The span the demo history covers: the plant days of `last-7-days` at `now` (today's up to now).

    The same range a user opens first, so it shows the whole history: a week of `[now - 7 days, now)`
    reached into the plant day before the range's first midnight, whose stops `last-7-days` left out."""
    week = resolve_range("last-7-days", now=now, timezone=plant.timezone, day_start_hour=plant.day_start_hour)
    return TimeRange(week.start, now)


async def demo_layout(
    *,
    actor: Actor,
    plant_code: str,
    now: datetime | None = None,
    group_shifts: Mapping[str, list[dict[str, float]]] | None = None,
) -> dict[str, int]:
    """Create what is missing of the layout in the plant; answers how many schedule entries it added.

    `group_shifts` replaces the weekday shifts of the named groups (`[]`: around the clock)."""
    actor.require(Role.SUPERVISOR)
    plant = await by_code(Plant, "plant", account_id=actor.account_id, code=plant_code)
    for code, name, cycle in SKUS:
        await upsert_sku(actor=actor, data=SkuIn(code=code, name=name, cycleTime=cycle))
    for code, description in REASONS:
        await upsert_non_production_reason(
            actor=actor, data=NonProductionReasonIn(code=code, description=description)
        )
    stations: list[str] = []
    for group_code, (group_name, codes) in GROUPS.items():
        # An existing group keeps its shifts: they may have been set on purpose (`andon demo` runs
        # assembly around the clock), and the history already written follows them.
        if not await StationGroup.exists(account_id=actor.account_id, code=group_code):
            shifts = (group_shifts or {}).get(group_code, WEEKDAY_SHIFTS)
            await upsert_station_group(
                actor=actor,
                data=StationGroupIn.model_validate(
                    {"code": group_code, "name": group_name, "plantCode": plant.code, "shifts": shifts}
                ),
            )
        for index, code in enumerate(codes):
            await upsert_station(
                actor=actor,
                data=StationIn.model_validate(
                    {
                        "code": code,
                        "name": f"{group_name} {index + 1}",
                        "plantCode": plant.code,
                        "groupCode": group_code,
                        "cycleTime": 20 + 5 * index,
                        "downtimeDetectionMode": "production-cycle",
                        "idleCostPerMinute": 12.5,
                    }
                ),
            )
            stations.append(code)
    added = 0
    zone = ZoneInfo(plant.timezone)
    first_day = demo_week(plant, now or utc_now()).start.astimezone(zone).date()
    for entry in _schedule(stations, zone, first_day):
        try:
            await create_schedule(actor=actor, data=entry)
            added += 1
        except DomainError as exc:
            if exc.code != ErrorCode.CONFLICT:
                raise
    return {"stations": len(stations), "schedulesAdded": added}


def _schedule(stations: list[str], zone: ZoneInfo, first_day: date) -> list[ScheduleIn]:
    """Entries for the weekdays of the DAYS plant days from `first_day` (the demo week's)."""
    entries: list[ScheduleIn] = []
    for offset in range(DAYS):
        day = first_day + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for index, station in enumerate(stations):
            sku = SKUS[(index + day.toordinal()) % len(SKUS)][0]
            maintenance_day = day.weekday() == index % 5
            pause = _BREAKS[index % 2]
            runs = [(6.0, pause[0])]
            runs += (
                [(pause[1], _MAINTENANCE[0]), (_MAINTENANCE[1], 22.0)]
                if maintenance_day
                else [(pause[1], 22.0)]
            )
            for start, end in runs:
                entries.append(_entry(station, day, zone, start, end, skuCode=sku))
            entries.append(_entry(station, day, zone, *pause, nonProductionReasonCode="break"))
            if maintenance_day:
                entries.append(
                    _entry(station, day, zone, *_MAINTENANCE, nonProductionReasonCode="maintenance")
                )
    return entries


def _entry(station: str, day: date, zone: ZoneInfo, start: float, end: float, **kind: str) -> ScheduleIn:
    midnight = datetime(day.year, day.month, day.day, tzinfo=zone)
    return ScheduleIn.model_validate(
        {
            "stationCode": station,
            "plannedStartAt": midnight + timedelta(hours=start),
            "plannedEndAt": midnight + timedelta(hours=end),
            **kind,
        }
    )
