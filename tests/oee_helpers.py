"""Shared set-up for schedule and OEE tests: a plant layout over REST and station windows inserted directly."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from models.tenancy import Sku, Station
from models.windows import StationWindow
from tests.conftest import Tenant
from tests.helpers.issues import NO_AUTO_ESCALATION


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def layout(
    t: Tenant,
    *,
    stations: Iterable[str] = ("S1",),
    shifts: list[dict[str, float]] | None = None,
    cycle_time: float = 30.0,
    idle_cost: float | None = 2.0,
    timezone: str = "UTC",
) -> str:
    """Plant `P` in `timezone` with group `G` (the given shifts) holding the stations; SKU `SKU1`, reason
    `MAINT`, the default causes, escalation off. Answers the plant code."""
    t.ok(t.post("/api/admin/config", {"config": NO_AUTO_ESCALATION}))
    assert t.post("/api/admin/seedrun").status_code == 200
    t.ok(t.post("/api/plant", {"code": "P", "name": "Plant P", "timezone": timezone, "dayStartHour": 0}))
    t.ok(
        t.post(
            "/api/station-group", {"code": "G", "name": "Group G", "plantCode": "P", "shifts": shifts or []}
        )
    )
    for code in stations:
        body: dict[str, Any] = {"code": code, "name": f"Station {code}", "plantCode": "P", "groupCode": "G"}
        body["cycleTime"] = cycle_time
        if idle_cost is not None:
            body["idleCostPerMinute"] = idle_cost
        t.ok(t.post("/api/station", body))
    t.ok(t.post("/api/sku", {"code": "SKU1", "name": "Widget"}))
    t.ok(t.post("/api/non-production-reason", {"code": "MAINT", "description": "Planned maintenance"}))
    return "P"


@dataclass
class Minute:
    """What one window row holds beyond its station and start."""

    good: int = 0
    bad: int = 0
    cycle_time: float | None = None
    in_shift: bool = True
    sku: str | None = None


def insert_windows(t: Tenant, station: str, start: datetime, minutes: list[Minute]) -> None:
    """One StationWindow per entry, consecutive minutes from `start` (bulk_create)."""
    portal = t.client.portal
    assert portal is not None
    portal.call(_insert, t.account_id, station, start, minutes)


async def _insert(account_id: str, code: str, start: datetime, minutes: list[Minute]) -> None:
    station = await Station.get(account_id=account_id, code=code)
    skus = {k.code: k.id for k in await Sku.filter(account_id=account_id)}
    rows = [
        StationWindow(
            account_id=account_id,
            station_id=station.id,
            window_start_at=start + timedelta(minutes=i),
            total_ms=60000,
            shift_ms=60000 if m.in_shift else 0,
            scheduled_production_ms=60000 if m.in_shift else 0,
            production_good_count=m.good,
            production_bad_count=m.bad,
            cycle_time_avg=m.cycle_time,
            is_alive=True,
            sku_id=skus[m.sku] if m.sku else None,
        )
        for i, m in enumerate(minutes)
    ]
    await StationWindow.bulk_create(rows, batch_size=2000)
