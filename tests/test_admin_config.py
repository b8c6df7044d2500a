"""GET/POST /api/admin/config (SPEC section 10, Admin seed page)."""

from __future__ import annotations

import pytest

from tests.conftest import Tenant

EXPECTED = {
    "ESCALATE_UNACKNOWLEDGED_AFTER_MINUTES": (10, "number", False),
    "ESCALATE_UNESTIMATED_AFTER_MINUTES": (30, "number", False),
    "ESCALATE_ON_ESTIMATE_EXPIRY": (True, "boolean", False),
    "ESCALATION_REPEAT_MINUTES": (0, "number", False),
    "DAILY_SUMMARY_HOUR": (7, "number", False),
    "EMAIL_FROM": (None, "string", True),
    "DASHBOARD_URL": (None, "string", False),
}


def test_get_lists_every_key_with_default_type_and_required(tenant: Tenant) -> None:
    rows = tenant.ok(tenant.get("/api/admin/config"))
    assert {r["key"]: (r["value"], r["type"], r["required"]) for r in rows} == EXPECTED
    assert all(set(r) == {"key", "value", "required", "type"} for r in rows)


def test_post_sets_values_and_answers_the_seed_envelope(tenant: Tenant) -> None:
    response = tenant.post(
        "/api/admin/config",
        {
            "config": {
                "DAILY_SUMMARY_HOUR": 6,
                "EMAIL_FROM": "andon@acme.com",
                "ESCALATE_ON_ESTIMATE_EXPIRY": False,
            }
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["isSuccess"] is True
    assert [m["key"] for m in body["results"][0]] == [
        "DAILY_SUMMARY_HOUR",
        "EMAIL_FROM",
        "ESCALATE_ON_ESTIMATE_EXPIRY",
    ]
    assert all(isinstance(m["message"], str) and m["message"] for m in body["results"][0])
    values = {r["key"]: r["value"] for r in tenant.ok(tenant.get("/api/admin/config"))}
    assert values["DAILY_SUMMARY_HOUR"] == 6 and values["EMAIL_FROM"] == "andon@acme.com"
    assert values["ESCALATE_ON_ESTIMATE_EXPIRY"] is False


def test_null_resets_to_default(tenant: Tenant) -> None:
    tenant.ok(tenant.post("/api/admin/config", {"config": {"ESCALATION_REPEAT_MINUTES": 15}}))
    tenant.ok(tenant.post("/api/admin/config", {"config": {"ESCALATION_REPEAT_MINUTES": None}}))
    values = {r["key"]: r["value"] for r in tenant.ok(tenant.get("/api/admin/config"))}
    assert values["ESCALATION_REPEAT_MINUTES"] == 0


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"NOT_A_KEY": 1}, "NOT_A_KEY"),
        ({"DAILY_SUMMARY_HOUR": "7"}, "DAILY_SUMMARY_HOUR"),
        ({"DAILY_SUMMARY_HOUR": 24}, "DAILY_SUMMARY_HOUR"),
        ({"DAILY_SUMMARY_HOUR": 6.5}, "DAILY_SUMMARY_HOUR"),
        ({"ESCALATE_ON_ESTIMATE_EXPIRY": "yes"}, "ESCALATE_ON_ESTIMATE_EXPIRY"),
        ({"ESCALATE_UNACKNOWLEDGED_AFTER_MINUTES": True}, "ESCALATE_UNACKNOWLEDGED_AFTER_MINUTES"),
        ({"EMAIL_FROM": 5}, "EMAIL_FROM"),
        ({"EMAIL_FROM": "not an email"}, "EMAIL_FROM"),
        ({"EMAIL_FROM": None}, "EMAIL_FROM"),
        ({"DASHBOARD_URL": "javascript:alert(1)"}, "DASHBOARD_URL"),
    ],
)
def test_unknown_key_or_wrong_type_is_400_naming_the_key(tenant: Tenant, config: dict, key: str) -> None:
    response = tenant.post("/api/admin/config", {"config": {"DAILY_SUMMARY_HOUR": 5, **config}})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert key in error["message"] and error["field"] == f"config.{key}"
    # Nothing of a refused request is stored.
    values = {r["key"]: r["value"] for r in tenant.ok(tenant.get("/api/admin/config"))}
    assert values["DAILY_SUMMARY_HOUR"] == 7


def test_config_is_per_account(tenant: Tenant, other_tenant: Tenant) -> None:
    tenant.ok(tenant.post("/api/admin/config", {"config": {"DAILY_SUMMARY_HOUR": 3}}))
    values = {r["key"]: r["value"] for r in other_tenant.ok(other_tenant.get("/api/admin/config"))}
    assert values["DAILY_SUMMARY_HOUR"] == 7
