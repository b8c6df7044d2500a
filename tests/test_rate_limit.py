"""Failed authentications are limited per client address (SPEC section 2), against a real gateway process.

Requests come from other loopback addresses (Linux routes all of 127.0.0.0/8 to lo) so each test has
an address of its own, while 127.0.0.1 stays unblocked.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.gateway_process import Gateway, running_gateway, subprocess_database

pytestmark = pytest.mark.backend_independent  # the limiter counts in memory: nothing of it is in the database

FAIL_LIMIT = 50  # the defaults: ANDON_AUTH_FAIL_LIMIT failures within ANDON_AUTH_FAIL_WINDOW_SECONDS
FAIL_WINDOW_SECONDS = 60
SYSTEM_KEY = "rate-limit-system-key-" + uuid.uuid4().hex
WRONG_KEY = "andon_" + "x" * 43
WRONG_CODE = "ZZZZ-ZZZZ-ZZ"
KEY_ATTACKER = "127.0.0.2"
CODE_ATTACKER = "127.0.0.3"
SPOOFED_ADDRESS = "198.51.100.7"


@dataclass
class Target:
    gateway: Gateway
    api_key: str


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """One gateway process with the default limits and an account whose admin key is valid."""
    tmp_path: Path = tmp_path_factory.mktemp("rate-limit")
    with subprocess_database(tmp_path) as url:
        env = {"ANDON_DATABASE_URL": url, "ANDON_SYSTEM_API_KEY": SYSTEM_KEY}
        with running_gateway(env, tmp_path) as gw, gw.client() as client:
            account = {"domain": "limits.example.com", "plantName": "Main Plant"}
            response = client.post("/api/admin/newaccount", json=account, headers={"X-API-KEY": SYSTEM_KEY})
            assert response.status_code == 200, response.text
            yield Target(gw, response.json()["result"]["apiKey"])


def _assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["isSuccess"] is False
    assert body["error"]["code"] == "unauthorized"


def _assert_rate_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    retry_after = response.headers.get("Retry-After", "")
    assert re.fullmatch(r"[1-9][0-9]*", retry_after), f"Retry-After {retry_after!r} is not a positive integer"
    assert int(retry_after) <= FAIL_WINDOW_SECONDS
    body = response.json()
    assert body["isSuccess"] is False
    assert body["error"]["code"] == "rate_limited"
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def test_fifty_wrong_api_keys_block_the_address_but_not_others(target: Target) -> None:
    with target.gateway.client(local_address=KEY_ATTACKER) as attacker, target.gateway.client() as neighbour:
        for _ in range(FAIL_LIMIT):
            _assert_unauthorized(attacker.get("/api/plant", headers={"X-API-KEY": WRONG_KEY}))
        _assert_rate_limited(attacker.get("/api/plant", headers={"X-API-KEY": WRONG_KEY}))
        # While blocked even a valid key is refused from that address ...
        _assert_rate_limited(attacker.get("/api/plant", headers={"X-API-KEY": target.api_key}))
        # ... a forwarding header from an untrusted client does not change its address ...
        _assert_rate_limited(
            attacker.get(
                "/api/plant", headers={"X-API-KEY": target.api_key, "X-Forwarded-For": SPOOFED_ADDRESS}
            )
        )
        # ... and served from any other.
        allowed = neighbour.get("/api/plant", headers={"X-API-KEY": target.api_key})
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["isSuccess"] is True


def test_wrong_access_codes_count_as_failed_authentications(target: Target) -> None:
    with target.gateway.client(local_address=CODE_ATTACKER) as attacker:
        for _ in range(FAIL_LIMIT):
            _assert_unauthorized(attacker.get("/api/station", headers={"X-ACCESS-CODE": WRONG_CODE}))
        _assert_rate_limited(attacker.get("/api/station", headers={"X-ACCESS-CODE": WRONG_CODE}))
        _assert_rate_limited(attacker.get("/api/station", headers={"X-API-KEY": target.api_key}))
