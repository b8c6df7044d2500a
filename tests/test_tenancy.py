"""Plants, groups, stations, SKUs, reasons: upsert by code, references, and isolation between accounts."""

from __future__ import annotations

import re

from tests.conftest import Tenant

ISO_MS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def _layout(t: Tenant) -> None:
    t.ok(
        t.post(
            "/api/station-group",
            {
                "code": "line-1",
                "name": "Line 1",
                "plantCode": t.plant_code,
                "shifts": [{"weekDay": 0, "startHour": 6, "duration": 8}],
            },
        )
    )
    t.ok(
        t.post(
            "/api/station",
            {
                "code": "press-1",
                "name": "Press 1",
                "plantCode": t.plant_code,
                "groupCode": "line-1",
                "cycleTime": 30,
                "downtimeDetectionMode": "production-cycle",
            },
        )
    )


def test_station_has_every_field_and_iso_times(tenant: Tenant) -> None:
    _layout(tenant)
    [station] = tenant.ok(tenant.get("/api/station"))
    assert station == station | {
        "code": "press-1",
        "name": "Press 1",
        "plantCode": tenant.plant_code,
        "groupCode": "line-1",
        "cycleTime": 30,
        "downtimeDetectionMode": "production-cycle",
        "utilisationDowntimeThreshold": None,
        "downtimeDurationThresholdMultiplier": 1.5,
        "slowDurationThreshold": None,
        "idleCostPerMinute": None,
        "archivedAt": None,
        "accountId": tenant.account_id,
    }
    assert ISO_MS_Z.match(station["createdAt"]) and ISO_MS_Z.match(station["updatedAt"])


def test_posting_an_existing_code_updates_only_what_was_sent(tenant: Tenant) -> None:
    _layout(tenant)
    updated = tenant.ok(
        tenant.post("/api/station", {"code": "press-1", "name": "Press One", "plantCode": tenant.plant_code})
    )
    assert updated["name"] == "Press One"
    assert updated["cycleTime"] == 30 and updated["groupCode"] == "line-1"
    assert len(tenant.ok(tenant.get("/api/station"))) == 1
    cleared = tenant.ok(
        tenant.post(
            "/api/station",
            {"code": "press-1", "name": "Press One", "plantCode": tenant.plant_code, "groupCode": None},
        )
    )
    assert cleared["groupCode"] is None


def test_plant_and_group_fields(tenant: Tenant) -> None:
    plant = tenant.ok(
        tenant.post(
            "/api/plant", {"code": "leeds", "name": "Leeds", "timezone": "Europe/London", "dayStartHour": 6}
        )
    )
    assert plant | {"code": "leeds", "timezone": "Europe/London", "dayStartHour": 6} == plant
    _layout(tenant)
    [group] = tenant.ok(tenant.get("/api/station-group"))
    assert group["shifts"] == [{"weekDay": 0, "startHour": 6, "duration": 8}]
    assert tenant.ok(tenant.get("/api/station-group", params={"plantcode": "leeds"})) == []
    # Its station would be left in another plant than its group.
    stranding = tenant.post("/api/station-group", {"code": "line-1", "name": "Line 1", "plantCode": "leeds"})
    assert stranding.status_code == 409 and stranding.json()["error"]["field"] == "plantCode"
    night = [{"weekDay": 1, "startHour": 22, "duration": 8}]
    tenant.ok(
        tenant.post(
            "/api/station-group", {"code": "line-2", "name": "Line 2", "plantCode": tenant.plant_code}
        )
    )
    moved = tenant.ok(
        tenant.post(
            "/api/station-group", {"code": "line-2", "name": "Line 2", "plantCode": "leeds", "shifts": night}
        )
    )
    assert (moved["plantCode"], moved["shifts"]) == ("leeds", night)
    renamed = tenant.ok(
        tenant.post("/api/station-group", {"code": "line-2", "name": "L2", "plantCode": "leeds"})
    )
    assert renamed["shifts"] == night


def test_same_codes_can_exist_in_two_accounts(tenant: Tenant, other_tenant: Tenant) -> None:
    _layout(tenant)
    _layout(other_tenant)
    for t in (tenant, other_tenant):
        [station] = t.ok(t.get("/api/station"))
        assert (station["code"], station["accountId"]) == ("press-1", t.account_id)


def test_another_accounts_codes_are_unknown(tenant: Tenant, other_tenant: Tenant) -> None:
    _layout(tenant)
    # In a query: 404, exactly as for a code that exists nowhere.
    foreign = other_tenant.get("/api/station-group", params={"plantcode": tenant.plant_code + "-x"})
    assert foreign.status_code == 404
    tenant.ok(tenant.post("/api/plant", {"code": "only-mine", "name": "Mine"}))
    assert other_tenant.get("/api/station", params={"plantcode": "only-mine"}).status_code == 404
    # In a body: 400 naming the field.
    response = other_tenant.post("/api/station", {"code": "s", "name": "S", "plantCode": "only-mine"})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "plantCode"
    group_ref = other_tenant.post(
        "/api/station",
        {"code": "s", "name": "S", "plantCode": other_tenant.plant_code, "groupCode": "line-1"},
    )
    assert group_ref.status_code == 400 and group_ref.json()["error"]["field"] == "groupCode"
    # And nothing of the first account shows in the second one's lists.
    assert other_tenant.ok(other_tenant.get("/api/station")) == []
    assert [p["code"] for p in other_tenant.ok(other_tenant.get("/api/plant"))] == [other_tenant.plant_code]


def test_user_and_key_ids_of_another_account_are_404(tenant: Tenant, other_tenant: Tenant) -> None:
    user = tenant.ok(tenant.post("/api/user", {"email": f"x@{tenant.domain}", "role": "member"}))
    key = tenant.ok(tenant.post("/api/apikey", {"userId": user["id"], "name": "k"}))
    assert other_tenant.delete(f"/api/user/{user['id']}").status_code == 404
    assert other_tenant.delete(f"/api/apikey/{key['id']}").status_code == 404
    response = other_tenant.post("/api/apikey", {"userId": user["id"], "name": "steal"})
    assert response.status_code == 400 and response.json()["error"]["field"] == "userId"
    assert tenant.get("/api/plant", key=key["apiKey"]).status_code == 200


def test_group_must_belong_to_the_stations_plant(tenant: Tenant) -> None:
    _layout(tenant)
    tenant.ok(tenant.post("/api/plant", {"code": "p2", "name": "Second"}))
    response = tenant.post(
        "/api/station", {"code": "s2", "name": "S", "plantCode": "p2", "groupCode": "line-1"}
    )
    assert response.status_code == 400 and response.json()["error"]["field"] == "groupCode"


def test_station_filters_accept_repeated_and_comma_separated_codes(tenant: Tenant) -> None:
    for code in ("a", "b", "c"):
        tenant.ok(tenant.post("/api/station", {"code": code, "name": code, "plantCode": tenant.plant_code}))
    repeated = tenant.ok(tenant.get("/api/station?stationcodes=a&stationcodes=c"))
    commas = tenant.ok(tenant.get("/api/station?stationcodes=a,c"))
    assert [s["code"] for s in repeated] == [s["code"] for s in commas] == ["a", "c"]


def test_sku_and_reason_catalogues(tenant: Tenant) -> None:
    sku = tenant.ok(tenant.post("/api/sku", {"code": "W-1", "name": "Widget", "cycleTime": 12.5, "value": 3}))
    assert (
        sku | {"code": "W-1", "cycleTime": 12.5, "value": 3, "downtimeDurationThresholdMultiplier": None}
        == sku
    )
    reason = tenant.ok(
        tenant.post("/api/non-production-reason", {"code": "lunch", "description": "Lunch break"})
    )
    assert reason["description"] == "Lunch break"
    assert [r["code"] for r in tenant.ok(tenant.get("/api/non-production-reason"))] == ["lunch"]
    assert [k["code"] for k in tenant.ok(tenant.get("/api/sku"))] == ["W-1"]


def test_user_upsert_by_email_and_delete(tenant: Tenant) -> None:
    user = tenant.ok(tenant.post("/api/user", {"email": f"Ops@{tenant.domain}", "role": "operator"}))
    assert user["email"] == f"ops@{tenant.domain}" and isinstance(user["id"], int)
    again = tenant.ok(tenant.post("/api/user", {"email": f"ops@{tenant.domain}", "role": "member"}))
    assert (again["id"], again["role"]) == (user["id"], "member")
    assert tenant.delete(f"/api/user/{user['id']}").status_code == 204
    assert all(u["id"] != user["id"] for u in tenant.ok(tenant.get("/api/user")))
