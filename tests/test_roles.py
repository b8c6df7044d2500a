"""Each role's allowed calls answer 2xx and its forbidden ones 403 (SPEC section 2)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import Tenant

ROLES = ["read-only", "operator", "member", "supervisor", "admin", "device"]
LADDER = ["read-only", "operator", "member", "supervisor", "admin"]
_n = itertools.count(1)


def _station(t: Tenant) -> dict[str, Any]:
    return {"code": f"S{next(_n)}", "name": "Station", "plantCode": t.plant_code}


def _group(t: Tenant) -> dict[str, Any]:
    return {"code": f"G{next(_n)}", "name": "Group", "plantCode": t.plant_code}


# (method, path, body factory, lowest role allowed)
CALLS: list[tuple[str, str, Callable[[Tenant], Any] | None, str]] = [
    ("GET", "/api/plant", None, "read-only"),
    ("GET", "/api/station", None, "read-only"),
    ("GET", "/api/station-group", None, "read-only"),
    ("GET", "/api/sku", None, "read-only"),
    ("GET", "/api/non-production-reason", None, "read-only"),
    ("GET", "/api/user", None, "read-only"),
    ("GET", "/api/apikey", None, "read-only"),
    (
        "POST",
        "/api/plant",
        lambda t: {"code": f"P{next(_n)}", "name": "Plant", "timezone": "Europe/Berlin"},
        "member",
    ),
    ("POST", "/api/station-group", _group, "member"),
    ("POST", "/api/station", _station, "member"),
    ("POST", "/api/sku", lambda t: {"code": f"K{next(_n)}", "name": "Widget", "cycleTime": 12}, "member"),
    (
        "POST",
        "/api/non-production-reason",
        lambda t: {"code": f"R{next(_n)}", "description": "Lunch"},
        "supervisor",
    ),
    ("POST", "/api/user", lambda t: {"email": f"u{next(_n)}@{t.domain}", "role": "operator"}, "admin"),
    ("GET", "/api/admin/config", None, "admin"),
    ("POST", "/api/admin/config", lambda t: {"config": {"DAILY_SUMMARY_HOUR": 6}}, "admin"),
    ("GET", "/api/admin/access-code", None, "admin"),
    ("POST", "/api/admin/access-code", None, "admin"),
]


def _allowed(role: str, needed: str) -> bool:
    if role == "device":
        return False  # devices may only post signals
    return LADDER.index(role) >= LADDER.index(needed)


@pytest.fixture(scope="module")
def keys(client: Any) -> tuple[Tenant, dict[str, str]]:
    from tests.conftest import new_tenant

    t = new_tenant(client)
    return t, {role: t.key_for(role) for role in ROLES}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "path", "body", "needed"), CALLS, ids=[f"{m} {p}" for m, p, _, _ in CALLS]
)
def test_role_allows_or_forbids(
    keys: tuple[Tenant, dict[str, str]],
    role: str,
    method: str,
    path: str,
    body: Callable[[Tenant], Any] | None,
    needed: str,
) -> None:
    tenant, by_role = keys
    payload = body(tenant) if body else None
    response = tenant.client.request(method, path, json=payload, headers=tenant.headers(by_role[role]))
    if _allowed(role, needed):
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "forbidden"


def test_deletes_need_admin(tenant: Tenant) -> None:
    supervisor = tenant.key_for("supervisor")
    user = tenant.ok(tenant.post("/api/user", {"email": f"d@{tenant.domain}", "role": "operator"}))
    key = tenant.ok(tenant.post("/api/apikey", {"userId": user["id"], "name": "victim"}))
    code = tenant.ok(tenant.post("/api/admin/access-code"))["code"]
    for path in (f"/api/apikey/{key['id']}", f"/api/user/{user['id']}", f"/api/admin/access-code/{code}"):
        assert tenant.delete(path, key=supervisor).status_code == 403, path
        assert tenant.delete(path).status_code == 204, path
        assert tenant.delete(path).status_code == 404, path


def test_key_role_never_exceeds_its_user(tenant: Tenant) -> None:
    user = tenant.ok(tenant.post("/api/user", {"email": f"m@{tenant.domain}", "role": "member"}))
    response = tenant.post("/api/apikey", {"userId": user["id"], "name": "too high", "role": "admin"})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "role"
    lower = tenant.ok(
        tenant.post("/api/apikey", {"userId": user["id"], "name": "lower", "role": "read-only"})
    )
    assert lower["role"] == "read-only"
    assert tenant.post("/api/plant", {"code": "X1", "name": "X"}, key=lower["apiKey"]).status_code == 403


def test_demoting_a_user_lowers_their_keys_at_once(tenant: Tenant) -> None:
    user = tenant.ok(tenant.post("/api/user", {"email": f"s@{tenant.domain}", "role": "supervisor"}))
    key = tenant.ok(tenant.post("/api/apikey", {"userId": user["id"], "name": "k"}))["apiKey"]
    assert (
        tenant.post("/api/non-production-reason", {"code": "R1", "description": "x"}, key=key).status_code
        == 200
    )
    tenant.ok(tenant.post("/api/user", {"email": f"s@{tenant.domain}", "role": "operator"}))
    assert (
        tenant.post("/api/non-production-reason", {"code": "R2", "description": "x"}, key=key).status_code
        == 403
    )


def test_last_admin_cannot_be_demoted_or_deleted(tenant: Tenant) -> None:
    admin = next(u for u in tenant.ok(tenant.get("/api/user")) if u["role"] == "admin")
    assert tenant.post("/api/user", {"email": admin["email"], "role": "member"}).status_code == 409
    assert tenant.delete(f"/api/user/{admin['id']}").status_code == 409
