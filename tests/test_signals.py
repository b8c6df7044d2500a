"""POST /api/signal and GET /api/station-window: parsing, running totals, windows, isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import Tenant


def _station(tenant: Tenant, code: str = "S1", **extra: object) -> None:
    tenant.ok(
        tenant.post("/api/station", {"code": code, "name": code, "plantCode": tenant.plant_code, **extra})
    )


def _minute_ago(minutes: int = 2) -> datetime:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).replace(second=10, microsecond=0)


def _iso(moment: datetime, seconds: float = 0) -> str:
    return (moment + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def _windows(tenant: Tenant, code: str = "S1", range_code: str = "last-24-hours") -> list[dict[str, Any]]:
    """The windows that received signals (the timer also writes a row for every silent minute)."""
    rows = tenant.ok(tenant.get(f"/api/station-window?stationcodes={code}&rangecode={range_code}"))
    return [w for w in rows if w["signalCount"]]


def test_increments_and_running_totals_land_in_the_minute(tenant: Tenant) -> None:
    _station(tenant)
    at = _minute_ago()
    body = [
        {"stationCode": "S1", "production_complete_good": 3, "timestamp": _iso(at)},
        {"stationCode": "S1", "production_count": 10, "timestamp": _iso(at, 1)},
        {
            "stationCode": "S1",
            "production_count_good": 15,
            "production_count_bad": 1,
            "timestamp": _iso(at, 2),
        },
        {"stationCode": "S1", "production_count_good": 2, "timestamp": _iso(at, 3)},
        {
            "stationCode": "S1",
            "production_complete_bad": 2,
            "line_speed": 4,
            "rssi": -60,
            "timestamp": _iso(at, 4),
        },
        {"stationCode": "S1", "line_speed": 6, "electrical_kwh": 100.0, "timestamp": _iso(at, 5)},
        {
            "stationCode": "S1",
            "electrical_kwh": 100.5,
            "electrical_kwh_interval": 0.25,
            "timestamp": _iso(at, 6),
        },
    ]
    result = tenant.ok(tenant.post("/api/signal", body))
    assert result == {"accepted": 7, "dropped": 0, "unknownStationCodes": []}
    [window] = _windows(tenant)
    # 3 + (10 is a baseline) + 5 + (15 → 2 is a reset: 2 new units) = 10 good; 2 bad (the bad total was a baseline).
    assert window["productionGoodCount"] == 10
    assert window["productionBadCount"] == 2
    assert window["lineSpeedAvg"] == 5.0
    assert window["rssiAvg"] == -60.0
    assert window["electricalKwh"] == 0.75
    assert window["isAlive"] is True
    assert window["windowStartAt"] == _iso(at.replace(second=0)).replace("Z", ".000Z")


def test_a_running_total_that_jumps_by_more_than_a_signal_may_carry_is_a_new_baseline(tenant: Tenant) -> None:
    """0 then 2**53 is a replaced or garbled counter, not 9e15 units: counted, it overflowed the
    window's count on Postgres and failed the whole batch."""
    _station(tenant)
    at = _minute_ago()
    body = [
        {"stationCode": "S1", "production_count_good": 0, "timestamp": _iso(at)},
        {"stationCode": "S1", "production_count_good": 2**53 - 10, "timestamp": _iso(at, 1)},
        {"stationCode": "S1", "production_count_good": 2**53 - 6, "timestamp": _iso(at, 2)},
        {"stationCode": "S1", "production_count_good": 1_000_000, "timestamp": _iso(at, 3)},
        {"stationCode": "S1", "production_count_good": 2_000_000, "timestamp": _iso(at, 4)},
    ]
    assert tenant.ok(tenant.post("/api/signal", body))["accepted"] == 5
    [window] = _windows(tenant)
    # baseline 0; 2**53 - 10 a new baseline; +4; a reset to 1,000,000 counts it (at the bound); +1,000,000.
    assert window["productionGoodCount"] == 4 + 1_000_000 + 1_000_000


def test_epoch_ms_timestamps_and_batches_across_requests_merge(tenant: Tenant) -> None:
    _station(tenant)
    at = _minute_ago(3)
    ms = int(at.timestamp() * 1000)
    tenant.ok(
        tenant.post(
            "/api/signal", {"stationCode": "S1", "production_complete": 2, "line_speed": 2, "timestamp": ms}
        )
    )
    tenant.ok(
        tenant.post(
            "/api/signal",
            {"stationCode": "S1", "production_complete": 1, "line_speed": 8, "timestamp": ms + 500},
        )
    )
    [window] = _windows(tenant)
    assert window["productionGoodCount"] == 3
    assert window["lineSpeedAvg"] == 5.0
    assert window["signalCount"] == 2


def test_a_wrong_type_is_a_400_naming_the_field_and_stores_nothing(tenant: Tenant) -> None:
    _station(tenant)
    at = _iso(_minute_ago())
    body = [
        {"stationCode": "S1", "production_complete_good": 1, "timestamp": at},
        {"stationCode": "S1", "production_count_good": "5", "timestamp": at},
    ]
    response = tenant.post("/api/signal", body)
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "[1].production_count_good"
    assert _windows(tenant) == []
    for bad, field in (
        ({"stationCode": "S1", "productive": 2}, "productive"),
        ({"stationCode": "S1", "voltage": 2}, "voltage"),
        ({"stationCode": "S1", "timestamp": "yesterday"}, "timestamp"),
        ({"stationCode": "S1", "timestamp": 1}, "timestamp"),
        ({"production_complete": 1}, "stationCode"),
    ):
        response = tenant.post("/api/signal", bad)
        assert response.status_code == 400, bad
        assert response.json()["error"]["details"][0]["field"] == field
    response = tenant.client.post("/api/signal", content=b"\x00garbage", headers=tenant.headers())
    assert response.status_code == 400
    assert _windows(tenant) == []


def test_unknown_stations_are_dropped_and_listed(tenant: Tenant, other_tenant: Tenant) -> None:
    _station(tenant)
    _station(other_tenant, "THEIRS")
    at = _iso(_minute_ago())
    body = [
        {"stationCode": "S1", "production_complete_good": 1, "timestamp": at},
        {"stationCode": "NOPE", "production_complete_good": 1, "timestamp": at},
        {"stationCode": "THEIRS", "production_complete_good": 1, "timestamp": at},
    ]
    result = tenant.ok(tenant.post("/api/signal", body))
    assert result == {"accepted": 1, "dropped": 2, "unknownStationCodes": ["NOPE", "THEIRS"]}
    assert _windows(other_tenant, "THEIRS") == []


def test_only_devices_and_admins_post_signals(tenant: Tenant) -> None:
    _station(tenant)
    body = {"stationCode": "S1", "production_complete_good": 1}
    assert tenant.post("/api/signal", body, key=tenant.key_for("device")).status_code == 200
    assert tenant.post("/api/signal", body, key=tenant.key_for("supervisor")).status_code == 403
    device = tenant.key_for("device")
    assert tenant.get("/api/station-window?stationcodes=S1", key=device).status_code == 403


def test_a_replayed_running_total_counts_once(tenant: Tenant) -> None:
    _station(tenant)
    at = _minute_ago()
    body = [
        {"stationCode": "S1", "production_count_good": 10, "timestamp": _iso(at)},
        {"stationCode": "S1", "production_count_good": 15, "timestamp": _iso(at, 1)},
    ]
    tenant.ok(tenant.post("/api/signal", body))
    tenant.ok(tenant.post("/api/signal", body))  # the device retried the whole batch
    [window] = _windows(tenant)
    assert window["productionGoodCount"] == 5


def test_station_windows_need_known_stations_and_a_valid_range(tenant: Tenant) -> None:
    _station(tenant)
    assert tenant.get("/api/station-window?stationcodes=NOPE").status_code == 404
    assert tenant.get("/api/station-window?stationcodes=S1&rangecode=soon").status_code == 400
    assert tenant.ok(tenant.get(f"/api/station-window?plantcode={tenant.plant_code}")) == []


WINDOWS_QUERY = """
query($codes: [String!]) { stationWindows(stationCodes: $codes, rangeCode: "last-24-hours") {
  stationCode productionGoodCount isAlive totalMs windowStartTimestamp skuCode } }
"""


def test_graphql_station_windows_match_rest(tenant: Tenant) -> None:
    _station(tenant)
    tenant.ok(
        tenant.post(
            "/api/signal",
            {"stationCode": "S1", "production_complete_good": 4, "timestamp": _iso(_minute_ago())},
        )
    )
    response = tenant.client.post(
        "/graphql", json={"query": WINDOWS_QUERY, "variables": {"codes": ["S1"]}}, headers=tenant.headers()
    )
    [window] = response.json()["data"]["stationWindows"]
    [rest] = _windows(tenant)
    assert window == {k: rest[k] for k in window}
    assert window["productionGoodCount"] == 4 and window["totalMs"] == 60000
