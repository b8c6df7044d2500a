"""Planned production per station (in shift and not in a non-production schedule), loaded in batches."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from models.calendar import merge, shift_ranges, shifts_from_json, subtract
from models.ranges import Shift, TimeRange
from models.tenancy import Plant, StationGroup
from models.windows import NonProductionSchedule


@dataclass(slots=True)
class Calendar:
    """One station's shifts (plant time zone) and non-production schedules around a span."""

    shifts: list[Shift]
    timezone: str
    non_production: list[TimeRange] = field(default_factory=list)

    def shift(self, span: TimeRange) -> list[TimeRange]:
        return shift_ranges(self.shifts, self.timezone, span)

    def planned(self, span: TimeRange) -> list[TimeRange]:
        """Time inside `span` that can be downtime."""
        return subtract(self.shift(span), self.non_production)

    def split(self, span: TimeRange) -> tuple[list[TimeRange], list[TimeRange], list[TimeRange]]:
        """In shift, non-production in shift and planned, from one expansion of the shifts (window
        closing needs all three for every station each minute)."""
        shift = self.shift(span)
        planned = subtract(shift, self.non_production)
        return shift, subtract(shift, planned), planned


class CalendarKeys(Protocol):
    """What a calendar is looked up by: a Station model, or detection's plain station rules."""

    @property
    def id(self) -> int: ...
    @property
    def group_id(self) -> int | None: ...
    @property
    def plant_id(self) -> int: ...


async def calendars(stations: Iterable[CalendarKeys], span: TimeRange) -> dict[int, Calendar]:
    """Calendars of the stations for times inside `span` (three queries whatever the count)."""
    stations = list(stations)
    if not stations:
        return {}
    group_ids = {s.group_id for s in stations if s.group_id}
    groups = (
        dict(await StationGroup.filter(id__in=group_ids).values_list("id", "shifts")) if group_ids else {}
    )
    plant_ids = {s.plant_id for s in stations}
    zones = dict(await Plant.filter(id__in=plant_ids).values_list("id", "timezone"))
    schedules: dict[int, list[TimeRange]] = defaultdict(list)
    rows = await NonProductionSchedule.filter(
        station_id__in=[s.id for s in stations], planned_end_at__gt=span.start, planned_start_at__lt=span.end
    ).values_list("station_id", "planned_start_at", "planned_end_at")
    for station_id, start, end in rows:
        schedules[station_id].append(TimeRange(start, end))  # type: ignore[arg-type]
    out = {}
    for s in stations:
        shifts = shifts_from_json(groups.get(s.group_id) or []) if s.group_id else []  # type: ignore[arg-type]
        out[s.id] = Calendar(shifts, str(zones[s.plant_id]), merge(schedules[s.id]))
    return out
