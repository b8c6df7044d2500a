"""GET/POST/DELETE /api/schedule: production and non-production entries, overlaps, references, roles."""

from __future__ import annotations

from tests.conftest import Tenant
from tests.oee_helpers import layout

PROD = {
    "stationCode": "S1",
    "skuCode": "SKU1",
    "plannedStartAt": "2025-05-01T06:00:00.000Z",
    "plannedEndAt": "2025-05-01T10:00:00.000Z",
    "plannedQuantity": 400,
}
MAINT = {
    "stationCode": "S1",
    "nonProductionReasonCode": "MAINT",
    "plannedStartAt": "2025-05-01T10:00:00.000Z",
    "plannedEndAt": "2025-05-01T11:00:00.000Z",
}


def test_production_and_non_production_entries_round_trip(tenant: Tenant) -> None:
    layout(tenant, stations=("S1", "S2"))
    prod = tenant.ok(tenant.post("/api/schedule", PROD))
    assert prod["type"] == "production"
    assert prod["skuCode"] == "SKU1" and prod["plannedQuantity"] == 400
    assert prod["plannedStartAt"] == "2025-05-01T06:00:00.000Z"
    maint = tenant.ok(tenant.post("/api/schedule", MAINT))
    assert maint["type"] == "non-production" and maint["nonProductionReasonCode"] == "MAINT"
    listed = tenant.ok(tenant.get("/api/schedule", params={"stationcodes": "S1"}))
    assert [(e["type"], e["id"]) for e in listed] == [
        ("production", prod["id"]),
        ("non-production", maint["id"]),
    ]
    in_range = tenant.ok(
        tenant.get("/api/schedule", params={"rangecode": "2025-05-01T10:30:00Z/2025-05-01T12:00:00Z"})
    )
    assert [e["type"] for e in in_range] == ["non-production"]
    only_prod = tenant.ok(tenant.get("/api/schedule", params={"type": "production", "plantcode": "P"}))
    assert [e["id"] for e in only_prod] == [prod["id"]]
    assert tenant.delete(f"/api/schedule/{maint['id']}?type=non-production").status_code == 204
    assert tenant.delete(f"/api/schedule/{prod['id']}").status_code == 204
    assert tenant.ok(tenant.get("/api/schedule")) == []
    assert tenant.delete(f"/api/schedule/{prod['id']}").status_code == 404


def test_overlapping_entries_on_one_station_conflict(tenant: Tenant) -> None:
    layout(tenant, stations=("S1", "S2"))
    tenant.ok(tenant.post("/api/schedule", PROD))
    inside = {**MAINT, "plannedStartAt": "2025-05-01T09:00:00Z"}
    response = tenant.post("/api/schedule", inside)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "conflict"
    assert tenant.post("/api/schedule", {**PROD, "plannedStartAt": "2025-05-01T05:00:00Z"}).status_code == 409
    # Touching entries do not overlap; another station is another timeline.
    tenant.ok(tenant.post("/api/schedule", MAINT))
    tenant.ok(tenant.post("/api/schedule", {**PROD, "stationCode": "S2"}))


def test_bad_bodies_name_the_field(tenant: Tenant) -> None:
    layout(tenant)
    cases = {
        "stationCode": {**PROD, "stationCode": "NOPE"},
        "skuCode": {**PROD, "skuCode": "NOPE"},
        "nonProductionReasonCode": {**MAINT, "nonProductionReasonCode": "NOPE"},
    }
    for name, body in cases.items():
        response = tenant.post("/api/schedule", body)
        assert response.status_code == 400, response.text
        assert name in response.json()["error"]["message"]
    both = {**PROD, "nonProductionReasonCode": "MAINT", "plannedQuantity": None}
    assert tenant.post("/api/schedule", both).status_code == 400
    reversed_span = {**PROD, "plannedEndAt": "2025-05-01T05:00:00Z"}
    assert "plannedEndAt" in tenant.post("/api/schedule", reversed_span).json()["error"]["message"]
    naive = {**PROD, "plannedStartAt": "2025-05-01T06:00:00"}
    assert tenant.post("/api/schedule", naive).status_code == 400


def test_other_accounts_cannot_see_or_delete(tenant: Tenant, other_tenant: Tenant) -> None:
    layout(tenant)
    layout(other_tenant)
    prod = tenant.ok(tenant.post("/api/schedule", PROD))
    assert other_tenant.ok(other_tenant.get("/api/schedule")) == []
    assert other_tenant.delete(f"/api/schedule/{prod['id']}").status_code == 404
    # The same codes in the other account are that account's own timeline.
    other_tenant.ok(other_tenant.post("/api/schedule", PROD))
    assert len(tenant.ok(tenant.get("/api/schedule"))) == 1


def test_roles(tenant: Tenant) -> None:
    layout(tenant)
    read_only, member = tenant.key_for("read-only"), tenant.key_for("member")
    assert tenant.post("/api/schedule", PROD, key=read_only).status_code == 403
    prod = tenant.ok(tenant.post("/api/schedule", PROD, key=member))
    assert tenant.get("/api/schedule", key=read_only).status_code == 200
    assert tenant.delete(f"/api/schedule/{prod['id']}", key=read_only).status_code == 403
    assert tenant.get("/api/schedule", params={"stationcodes": "NOPE"}).status_code == 404
