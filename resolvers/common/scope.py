"""Which stations, plant and time range a query is about (SPEC sections 5 and 6)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from models.calendar import shifts_from_json
from models.ranges import RangeError, Shift, TimeRange, resolve_range
from models.tenancy import Plant, Station, StationGroup
from resolvers.common.errors import DomainError, ErrorCode, invalid
from resolvers.common.lookups import by_code


async def stations_by_codes(account_id: str, codes: Sequence[str]) -> list[Station]:
    """The requested stations in request order; an unknown code (here or only elsewhere) → 404."""
    rows = {s.code: s for s in await Station.filter(account_id=account_id, code__in=list(codes))}
    unknown = [c for c in codes if c not in rows]
    if unknown:
        raise DomainError(ErrorCode.NOT_FOUND, f"station {', '.join(unknown)} not found")
    return [rows[c] for c in codes]


async def plant_for(account_id: str, plant_code: str | None, stations: Sequence[Station]) -> Plant:
    """`plantcode` when given, else the plant the stations share, else the account's first plant."""
    if plant_code is not None:
        return await by_code(Plant, "plant", account_id=account_id, code=plant_code)
    plant_ids = {s.plant_id for s in stations}
    query = Plant.filter(account_id=account_id)
    if len(plant_ids) == 1:
        query = query.filter(id=plant_ids.pop())
    plant = await query.order_by("id").first()
    if plant is None:
        raise invalid("plantcode", "this account has no plant yet")
    return plant


async def _shifts(stations: Sequence[Station]) -> list[Shift]:
    """The shifts of the stations' group when they share one; otherwise the plant runs 24/7."""
    group_ids = {s.group_id for s in stations}
    if len(group_ids) != 1 or None in group_ids:
        return []
    group = await StationGroup.get(id=group_ids.pop())
    return shifts_from_json(group.shifts)


async def time_range(
    *, range_code: str | None, plant: Plant, stations: Sequence[Station], now: datetime, default: timedelta
) -> TimeRange:
    """The range a `rangecode` names for this plant; without one, the `default` span ending now."""
    if range_code is None:
        return TimeRange(now - default, now)
    shifts = await _shifts(stations) if "shift" in range_code else []
    try:
        return resolve_range(
            range_code, now=now, timezone=plant.timezone, day_start_hour=plant.day_start_hour, shifts=shifts
        )
    except RangeError as exc:
        raise invalid("rangecode", str(exc)) from None
