"""Credentials: API keys, bearer, access codes, the system key; 401 vs 403; secrets never kept or shown."""

from __future__ import annotations

import asyncio

from starlette.testclient import TestClient

from tests.conftest import SYSTEM_KEY, Tenant


def test_missing_or_wrong_credential_is_401(tenant: Tenant) -> None:
    for headers in (
        {},
        {"X-API-KEY": "andon_wrong"},
        {"Authorization": "Bearer nope"},
        {"X-ACCESS-CODE": "ZZZZZZZZ"},
    ):
        response = tenant.client.get("/api/station", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["error"]["code"] == "unauthorized"


def test_bearer_header_works_like_x_api_key(tenant: Tenant) -> None:
    response = tenant.client.get("/api/plant", headers={"Authorization": f"Bearer {tenant.api_key}"})
    assert response.status_code == 200


def test_revoked_key_is_refused_on_the_very_next_request(tenant: Tenant) -> None:
    key = tenant.ok(tenant.post("/api/apikey", {"userId": _admin_id(tenant), "name": "short-lived"}))
    assert tenant.get("/api/plant", key=key["apiKey"]).status_code == 200  # now cached
    assert tenant.delete(f"/api/apikey/{key['id']}").status_code == 204
    assert tenant.get("/api/plant", key=key["apiKey"]).status_code == 401


def test_deleting_a_user_revokes_their_keys(tenant: Tenant) -> None:
    user = tenant.ok(tenant.post("/api/user", {"email": f"gone@{tenant.domain}", "role": "member"}))
    key = tenant.ok(tenant.post("/api/apikey", {"userId": user["id"], "name": "k"}))["apiKey"]
    assert tenant.get("/api/plant", key=key).status_code == 200
    assert tenant.delete(f"/api/user/{user['id']}").status_code == 204
    assert tenant.get("/api/plant", key=key).status_code == 401


def test_key_secret_is_shown_once_and_stored_only_as_a_hash(tenant: Tenant, client: TestClient) -> None:
    created = tenant.ok(tenant.post("/api/apikey", {"userId": _admin_id(tenant), "name": "ci"}))
    secret = created["apiKey"]
    assert len(secret) >= 43  # 256 random bits, url-safe base64, plus prefix
    listed = tenant.ok(tenant.get("/api/apikey"))
    assert all("apiKey" not in k for k in listed)
    assert secret not in tenant.get("/api/apikey").text
    assert any(k["id"] == created["id"] and secret.startswith(k["prefix"]) for k in listed)
    assert secret not in _api_key_table_dump(client)


def _api_key_table_dump(client: TestClient) -> str:
    from models.identity import ApiKey

    async def dump() -> str:
        return repr(await ApiKey.all().values())

    return client.portal.call(dump)  # type: ignore[union-attr]  # the portal exists inside `with TestClient`


def test_non_admins_list_only_their_own_keys(tenant: Tenant) -> None:
    member = tenant.key_for("member")
    listed = tenant.ok(tenant.get("/api/apikey", key=member))
    assert len(listed) == 1
    assert listed[0]["role"] == "member"


def test_system_key_only_creates_accounts(tenant: Tenant) -> None:
    response = tenant.client.get("/api/plant", headers={"X-API-KEY": SYSTEM_KEY})
    assert response.status_code == 401
    denied = tenant.post("/api/admin/newaccount", {"domain": "nope.example.com", "plantName": "P"})
    assert denied.status_code == 403


def test_new_account_conflicts_on_existing_id_or_domain(tenant: Tenant) -> None:
    system = {"X-API-KEY": SYSTEM_KEY}
    same_domain = tenant.client.post(
        "/api/admin/newaccount", json={"domain": tenant.domain, "plantName": "P"}, headers=system
    )
    assert same_domain.status_code == 409
    same_id = tenant.client.post(
        "/api/admin/newaccount",
        headers=system,
        json={"domain": "x-" + tenant.domain, "plantName": "P", "accountId": tenant.account_id},
    )
    assert same_id.status_code == 409


def test_access_code_lifecycle(tenant: Tenant) -> None:
    code = tenant.ok(tenant.post("/api/admin/access-code"))["code"]
    assert len(code) >= 8
    assert not set(code) & set("0O1IL")  # unambiguous alphabet
    listed = tenant.ok(tenant.get("/api/admin/access-code"))
    assert [(c["code"], c["email"], c["accountId"]) for c in listed] == [
        (code, f"admin@{tenant.domain}", tenant.account_id)
    ]
    assert {"createdAt", "updatedAt"} <= listed[0].keys()
    as_code = {"X-ACCESS-CODE": code}
    assert tenant.client.get("/api/station", headers=as_code).status_code == 200
    # Operator role: may read, may not create stations.
    station = {"code": "S1", "name": "S", "plantCode": tenant.plant_code}
    assert tenant.client.post("/api/station", json=station, headers=as_code).status_code == 403
    assert tenant.delete(f"/api/admin/access-code/{code}").status_code == 204
    assert tenant.client.get("/api/station", headers=as_code).status_code == 401


def test_access_codes_are_typed_forgivingly(tenant: Tenant) -> None:
    code = tenant.ok(tenant.post("/api/admin/access-code"))["code"]
    typed = f" {code[:4].lower()}-{code[4:]} "
    assert tenant.client.get("/api/station", headers={"X-ACCESS-CODE": typed}).status_code == 200


def test_access_code_of_another_account_cannot_be_deleted(tenant: Tenant, other_tenant: Tenant) -> None:
    code = tenant.ok(tenant.post("/api/admin/access-code"))["code"]
    assert other_tenant.delete(f"/api/admin/access-code/{code}").status_code == 404
    assert tenant.client.get("/api/plant", headers={"X-ACCESS-CODE": code}).status_code == 200


def test_concurrent_first_requests_share_one_cache_entry(tenant: Tenant, client: TestClient) -> None:
    authenticator = client.app.state.authenticator  # type: ignore[attr-defined]

    async def twice() -> list[str]:
        actors = await asyncio.gather(
            *(
                authenticator.authenticate(api_key=tenant.api_key, access_code=None, address="a")
                for _ in range(5)
            )
        )
        return [a.account_id for a in actors]

    assert client.portal.call(twice) == [tenant.account_id] * 5  # type: ignore[union-attr]


def _admin_id(tenant: Tenant) -> int:
    return next(u["id"] for u in tenant.ok(tenant.get("/api/user")) if u["role"] == "admin")


def test_a_cached_key_costs_no_database_look_up(tenant: Tenant, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import resolvers.identity.authentication as authentication

    key = tenant.key_for("member")  # created first: creating keys clears the cache
    calls: list[str] = []
    real = authentication._actor_for_key

    async def counting(key_digest: str):  # type: ignore[no-untyped-def]
        calls.append(key_digest)
        return await real(key_digest)

    monkeypatch.setattr(authentication, "_actor_for_key", counting)
    for _ in range(5):
        assert tenant.get("/api/plant", key=key).status_code == 200
    assert len(calls) == 1
