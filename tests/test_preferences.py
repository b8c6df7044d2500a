"""GET/POST /api/notification-preference and the GraphQL pair (Admin seed page, SPEC section 9)."""

from __future__ import annotations

from tests.conftest import Tenant

PATH = "/api/notification-preference"
QUERY = "{ notificationPreferences { preference stationGroupCode stationGroupName userId userEmail } }"
MUTATION = """
mutation($p: [PreferenceInput!]!) {
  setNotificationPreferences(preferences: $p) { preference stationGroupCode }
}
"""


def _groups(t: Tenant) -> None:
    for code, name in (("line-1", "Line 1"), ("line-2", "Line 2")):
        t.ok(t.post("/api/station-group", {"code": code, "name": name, "plantCode": t.plant_code}))


def test_defaults_read_none_for_every_group_in_the_seed_shape(tenant: Tenant) -> None:
    _groups(tenant)
    member = tenant.key_for("member")
    rows = tenant.ok(tenant.get(PATH, key=member))
    assert [(r["stationGroupCode"], r["stationGroupName"], r["preference"]) for r in rows] == [
        ("line-1", "Line 1", ["none"]),
        ("line-2", "Line 2", ["none"]),
    ]
    assert all(
        set(r) == {"preference", "stationGroupCode", "stationGroupName", "userId", "userEmail"} for r in rows
    )
    assert rows[0]["userEmail"].startswith("member-")


def test_post_sets_only_the_callers_rows_and_answers_every_group(tenant: Tenant) -> None:
    _groups(tenant)
    alice, bob = tenant.key_for("member"), tenant.key_for("supervisor")
    rows = tenant.ok(
        tenant.post(
            PATH, [{"stationGroupCode": "line-1", "preference": ["issue", "escalation", "issue"]}], key=alice
        )
    )
    assert [(r["stationGroupCode"], r["preference"]) for r in rows] == [
        ("line-1", ["issue", "escalation"]),
        ("line-2", ["none"]),
    ]
    assert [r["preference"] for r in tenant.ok(tenant.get(PATH, key=bob))] == [["none"], ["none"]]
    tenant.ok(tenant.post(PATH, [{"stationGroupCode": "line-1", "preference": ["none"]}], key=alice))
    assert tenant.ok(tenant.get(PATH, key=alice))[0]["preference"] == ["none"]


def test_bad_preferences_are_400_and_read_only_is_403(tenant: Tenant, other_tenant: Tenant) -> None:
    _groups(tenant)
    other_tenant.ok(
        other_tenant.post(
            "/api/station-group", {"code": "theirs", "name": "T", "plantCode": other_tenant.plant_code}
        )
    )
    member = tenant.key_for("member")
    for body, field in (
        ([{"stationGroupCode": "line-1", "preference": ["none", "issue"]}], "0.preference"),
        ([{"stationGroupCode": "nope", "preference": ["issue"]}], "0.stationGroupCode"),
        ([{"stationGroupCode": "theirs", "preference": ["issue"]}], "0.stationGroupCode"),
        ([{"stationGroupCode": "line-1", "preference": ["sms"]}], "0.preference.0"),
        ([{"stationGroupCode": "line-1", "preference": []}], "0.preference"),
    ):
        response = tenant.post(PATH, body, key=member)
        assert response.status_code == 400, (body, response.text)
        assert response.json()["error"]["field"] == field
    assert tenant.ok(tenant.get(PATH, key=member))[0]["preference"] == ["none"]  # nothing stored
    read_only = tenant.key_for("read-only")
    assert tenant.get(PATH, key=read_only).status_code == 200
    assert (
        tenant.post(
            PATH, [{"stationGroupCode": "line-1", "preference": ["issue"]}], key=read_only
        ).status_code
        == 403
    )


def test_graphql_reads_and_sets_the_same_rows(tenant: Tenant) -> None:
    _groups(tenant)
    member = tenant.key_for("member")
    headers = tenant.headers(member)
    set_result = tenant.client.post(
        "/graphql",
        headers=headers,
        json={
            "query": MUTATION,
            "variables": {"p": [{"stationGroupCode": "line-2", "preference": ["daily-summary"]}]},
        },
    )
    assert set_result.json()["data"]["setNotificationPreferences"][1] == {
        "preference": ["daily-summary"],
        "stationGroupCode": "line-2",
    }
    graph = tenant.client.post("/graphql", headers=headers, json={"query": QUERY}).json()["data"]
    assert graph["notificationPreferences"] == tenant.ok(tenant.get(PATH, key=member))
    bad = tenant.client.post(
        "/graphql",
        headers=headers,
        json={
            "query": MUTATION,
            "variables": {"p": [{"stationGroupCode": "line-2", "preference": ["none", "issue"]}]},
        },
    )
    assert bad.json()["errors"][0]["extensions"]["code"] == "validation_error"
