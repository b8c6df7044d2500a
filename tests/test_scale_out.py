"""Several gateway processes on one Postgres database and one Redis (SPEC section 12).

A credential revoked through one instance is refused by the other at once, even though the other
has just used (and cached) it; with Redis unreachable the instances still serve and look every
credential up in the database. Runs on the postgres run only: it needs Postgres whatever the backend.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.gateway_process import Gateway, running_gateways, subprocess_database
from tests.helpers.servers import redis_server
from tests.helpers.waiting import poll
from tests.services import service_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
]

SYSTEM_KEY = "scale-out-system-key-" + uuid.uuid4().hex
# How long a revocation may take to reach the other instance through Redis.
PROPAGATION_SECONDS = 0.5
_RETRY_SECONDS = 0.02


@dataclass
class Instances:
    """Two gateway processes sharing one database (and one Redis URL), with a client for each."""

    a: Gateway
    b: Gateway
    client_a: httpx.Client
    client_b: httpx.Client


@dataclass
class Account:
    account_id: str
    plant_code: str
    admin_key: str
    domain: str


def _start_pair(stack: ExitStack, tmp_path: Path, redis_url: str) -> Instances:
    url = stack.enter_context(subprocess_database(tmp_path))
    env = {"ANDON_DATABASE_URL": url, "ANDON_SYSTEM_API_KEY": SYSTEM_KEY, "ANDON_REDIS_URL": redis_url}
    a, b = stack.enter_context(running_gateways(env, tmp_path, count=2))
    return Instances(a, b, stack.enter_context(a.client()), stack.enter_context(b.client()))


@pytest.fixture(scope="module")
def with_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instances]:
    redis_url = service_url("ANDON_TEST_REDIS_URL")
    with ExitStack() as stack:
        yield _start_pair(stack, tmp_path_factory.mktemp("scale-out"), redis_url)


@pytest.fixture(scope="module")
def without_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Instances]:
    """Two instances whose Redis went away after they started (an unreachable Redis at start-up stops
    `andon serve`: tests/test_cli.py)."""
    directory = tmp_path_factory.mktemp("no-redis")
    redis = redis_server(directory)
    redis.start()
    with ExitStack() as stack:
        stack.callback(redis.stop)
        pair = _start_pair(stack, directory, f"redis://127.0.0.1:{redis.port}/0")
        redis.stop()
        for client in (pair.client_a, pair.client_b):
            bus = poll(lambda c=client: c.get("/api/health").json()["bus"], lambda b: b != "ok", timeout=10)
            assert bus != "ok", "the instance did not notice Redis going away"
        yield pair


def _key(key: str) -> dict[str, str]:
    return {"X-API-KEY": key}


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["isSuccess"] is True
    return body.get("result", body.get("results"))


def _new_account(client: httpx.Client) -> Account:
    domain = f"scale-{uuid.uuid4().hex[:10]}.example.com"
    result = _ok(
        client.post(
            "/api/admin/newaccount",
            json={"domain": domain, "plantName": "Main Plant"},
            headers=_key(SYSTEM_KEY),
        )
    )
    return Account(result["accountId"], result["plantCode"], result["apiKey"], domain)


def _new_api_key(client: httpx.Client, account: Account) -> tuple[int, str]:
    """A new member user of `account` and an API key of theirs: (key id, secret)."""
    user = _ok(
        client.post(
            "/api/user",
            json={"email": f"member@{account.domain}", "role": "member"},
            headers=_key(account.admin_key),
        )
    )
    key = _ok(
        client.post(
            "/api/apikey", json={"userId": user["id"], "name": "second key"}, headers=_key(account.admin_key)
        )
    )
    return int(key["id"]), str(key["apiKey"])


def _first_with_status(request: Callable[[], httpx.Response], status: int, seconds: float) -> httpx.Response:
    """Repeat `request` until it answers `status` or `seconds` pass; the last response."""
    return poll(
        request, lambda response: response.status_code == status, timeout=seconds, every=_RETRY_SECONDS
    )


def _assert_deleted(response: httpx.Response) -> None:
    assert response.status_code == 204, response.text
    assert response.content == b""


def _assert_plants(response: httpx.Response, account: Account) -> None:
    assert [p["code"] for p in _ok(response)] == [account.plant_code]


def test_health_reports_the_bus_ok_on_every_instance_with_redis_up(with_redis: Instances) -> None:
    for client in (with_redis.client_a, with_redis.client_b):
        response = client.get("/api/health")
        assert response.status_code == 200, response.text
        assert response.json()["database"] == "ok"
        assert response.json()["bus"] == "ok"


def test_an_api_key_revoked_on_one_instance_is_refused_by_the_other(with_redis: Instances) -> None:
    a, b = with_redis.client_a, with_redis.client_b
    account = _new_account(a)
    key_id, key = _new_api_key(a, account)
    for _ in range(2):  # B has now looked the key up and may cache it
        _assert_plants(b.get("/api/plant", headers=_key(key)), account)

    _assert_deleted(a.delete(f"/api/apikey/{key_id}", headers=_key(account.admin_key)))

    refused = _first_with_status(lambda: b.get("/api/plant", headers=_key(key)), 401, PROPAGATION_SECONDS)
    assert refused.status_code == 401, f"B still accepts the revoked key after {PROPAGATION_SECONDS} s"
    assert refused.json()["error"]["code"] == "unauthorized"
    assert a.get("/api/plant", headers=_key(key)).status_code == 401
    _assert_plants(b.get("/api/plant", headers=_key(account.admin_key)), account)


def test_an_access_code_deleted_on_one_instance_is_refused_by_the_other(with_redis: Instances) -> None:
    a, b = with_redis.client_a, with_redis.client_b
    account = _new_account(a)
    code = _ok(a.post("/api/admin/access-code", headers=_key(account.admin_key)))["code"]
    for _ in range(2):
        assert _ok(b.get("/api/station", headers={"X-ACCESS-CODE": code})) == []

    _assert_deleted(a.delete(f"/api/admin/access-code/{code}", headers=_key(account.admin_key)))

    refused = _first_with_status(
        lambda: b.get("/api/station", headers={"X-ACCESS-CODE": code}), 401, PROPAGATION_SECONDS
    )
    assert refused.status_code == 401, f"B still accepts the deleted code after {PROPAGATION_SECONDS} s"
    assert refused.json()["error"]["code"] == "unauthorized"


def test_without_redis_instances_serve_and_report_the_bus_down(without_redis: Instances) -> None:
    for client in (without_redis.client_a, without_redis.client_b):
        response = client.get("/api/health")
        # Degraded (a load balancer prefers an instance whose bus works), yet serving: see below.
        assert response.status_code == 503, response.text
        body = response.json()
        assert body["database"] == "ok"
        assert isinstance(body["bus"], str) and body["bus"] and body["bus"] != "ok"
        assert [r for r in body["reasons"] if r.startswith("bus: ")], body


def test_without_redis_credentials_work_and_a_revocation_is_seen_at_once_everywhere(
    without_redis: Instances,
) -> None:
    a, b = without_redis.client_a, without_redis.client_b
    account = _new_account(a)
    _assert_plants(b.get("/api/plant", headers=_key(account.admin_key)), account)
    key_id, key = _new_api_key(a, account)
    for _ in range(2):
        _assert_plants(b.get("/api/plant", headers=_key(key)), account)

    _assert_deleted(a.delete(f"/api/apikey/{key_id}", headers=_key(account.admin_key)))

    # No bus carries the revocation: B must not trust any cache and look the key up every time.
    refused = b.get("/api/plant", headers=_key(key))
    assert refused.status_code == 401, refused.text
