"""demo_layout: the demo plant's groups, stations, SKUs, reasons and a week of schedules, idempotently."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from models.roles import Role
from resolvers.common.actor import Actor
from resolvers.demo.layout import GROUPS, _schedule, demo_layout
from resolvers.demo.seed import STOPPED_AT_END
from tests.conftest import Tenant

NOW = datetime(2025, 5, 9, 15, 0, tzinfo=UTC)  # a Friday afternoon


def run_layout(t: Tenant) -> dict[str, Any]:
    portal = t.client.portal
    assert portal is not None
    actor = Actor(account_id=t.account_id, role=Role.ADMIN, via="api-key")

    async def call() -> dict[str, Any]:
        return await demo_layout(actor=actor, plant_code=t.plant_code, now=NOW)

    return portal.call(call)


def test_demo_layout_is_complete_and_idempotent(tenant: Tenant) -> None:
    first = run_layout(tenant)
    stations = tenant.ok(tenant.get("/api/station"))
    assert len(stations) == 8 and {s["groupCode"] for s in stations} == {"assembly", "packing"}
    groups = tenant.ok(tenant.get("/api/station-group"))
    assert all(g["shifts"] for g in groups)
    assert {k["code"] for k in tenant.ok(tenant.get("/api/sku"))} == {"WIDGET-S", "WIDGET-L", "GADGET"}
    reasons = {r["code"] for r in tenant.ok(tenant.get("/api/non-production-reason"))}
    assert reasons == {"maintenance", "break", "no-orders"}
    entries = tenant.ok(tenant.get("/api/schedule", params={"limit": 5000}))
    assert first == {"stations": 8, "schedulesAdded": len(entries)}
    # Five weekdays in the seven days up to Friday: each station has one maintenance among them.
    maintenance = [e for e in entries if e["nonProductionReasonCode"] == "maintenance"]
    assert sorted(e["stationCode"] for e in maintenance) == sorted(s["code"] for s in stations)
    assert {e["type"] for e in entries} == {"production", "non-production"}

    second = run_layout(tenant)
    assert second == {"stations": 8, "schedulesAdded": 0}
    assert tenant.ok(tenant.get("/api/schedule", params={"limit": 5000})) == entries
    assert len(tenant.ok(tenant.get("/api/station"))) == 8


def test_demo_schedules_feed_the_analysis(tenant: Tenant) -> None:
    run_layout(tenant)
    response = tenant.get(
        "/api/downtime",
        params={"plantcode": tenant.plant_code, "rangecode": "2025-05-05T00:00:00Z/2025-05-10T00:00:00Z"},
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == 8
    for result in results:
        codes = {r["code"] for r in result["oee"]["scheduledNonProduction"]}
        assert codes == {"break", "maintenance"}, result["stationCode"]


@pytest.mark.backend_independent
def test_some_around_the_clock_assembly_station_is_planned_through_any_stop_tail() -> None:
    """`andon demo` runs assembly around the clock and ends its history with a station stopped for
    STOPPED_AT_END (resolvers/demo/seed.py): at every minute of a week, some assembly station has no
    break or maintenance in the tail before it (the breaks are staggered with a gap)."""
    zone = ZoneInfo("Europe/London")
    first_day = date(2025, 5, 3)  # the demo week up to Friday 9 May: Saturday to Friday
    stations = GROUPS["assembly"][1]
    pauses: dict[str, list[tuple[datetime, datetime]]] = {s: [] for s in stations}
    for entry in _schedule(stations, zone, first_day):
        if entry.nonProductionReasonCode:
            pauses[entry.stationCode].append((entry.plannedStartAt, entry.plannedEndAt))
    moment = datetime(2025, 5, 3, tzinfo=zone)  # the Saturday before
    while moment < datetime(2025, 5, 10, tzinfo=zone):
        tail = (moment - STOPPED_AT_END, moment)
        free = [s for s in stations if not any(a < tail[1] and tail[0] < b for a, b in pauses[s])]
        assert free, moment
        moment += timedelta(minutes=1)
