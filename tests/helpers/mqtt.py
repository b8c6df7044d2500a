"""MQTT for tests against `andon` child processes: the session's Mosquitto, gateway settings that ingest
from it, fresh accounts over HTTP, and waiting for a gateway's subscription."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import SYSTEM_KEY
from tests.gateway_process import Gateway
from tests.helpers.waiting import poll
from tests.services import service_url

SUBSCRIBED_SECONDS = 10.0


@dataclass
class Broker:
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def publish(self, topic: str, *payloads: bytes) -> None:
        """Each payload as one QoS 1 message, in order, over one connection (mosquitto_pub -l)."""
        for payload in payloads:
            assert b"\n" not in payload
        result = subprocess.run(
            ["mosquitto_pub", "-h", self.host, "-p", str(self.port), "-q", "1", "-t", topic, "-l"],
            input=b"\n".join(payloads) + b"\n",
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 0, result.stderr

    def forget(self, *client_ids: str) -> None:
        """End the clients' persistent sessions (a clean-session connect with each id). Mosquitto keeps
        handing a share of a shared subscription to an offline persistent session."""
        for client_id in client_ids:
            subprocess.run(
                [
                    "mosquitto_pub",
                    "-h",
                    self.host,
                    "-p",
                    str(self.port),
                    "-i",
                    client_id,
                    "-t",
                    "andon-test/forget",
                    "-n",
                ],
                capture_output=True,
                timeout=30,
                check=True,
            )

    def publish_one(self, topic: str, payload: bytes) -> None:
        """One message whatever its bytes (newlines included), read from stdin (mosquitto_pub -s)."""
        result = subprocess.run(
            ["mosquitto_pub", "-h", self.host, "-p", str(self.port), "-q", "1", "-t", topic, "-s"],
            input=payload,
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module", name="broker")
def broker_fixture() -> Broker:
    """The session's Mosquitto (ANDON_TEST_MQTT_URL)."""
    parts = urlsplit(service_url("ANDON_TEST_MQTT_URL"))
    return Broker(parts.hostname or "127.0.0.1", parts.port or 1883)


@contextmanager
def forgotten(broker: Broker, *client_ids: str) -> Iterator[None]:
    """On the way out, end the persistent sessions of `client_ids` (see Broker.forget)."""
    try:
        yield
    finally:
        broker.forget(*client_ids)


def gateway_env(database: str, broker: Broker, client_id: str, **extra: str) -> dict[str, str]:
    """ANDON_* settings of a gateway ingesting from `broker` as `client_id`, flushing every 0.1 s."""
    return {
        "ANDON_DATABASE_URL": database,
        "ANDON_SYSTEM_API_KEY": SYSTEM_KEY,
        "ANDON_MQTT_URL": broker.url,
        "ANDON_MQTT_CLIENT_ID": client_id,
        "ANDON_MQTT_FLUSH_SECONDS": "0.1",
        **extra,
    }


def health(gateway: Gateway) -> dict[str, Any]:
    with gateway.client() as client:
        return client.get("/api/health").json()  # type: ignore[no-any-return]


def wait_subscribed(gateway: Gateway) -> None:
    """Until the gateway reports its MQTT subscription up (GET /api/health → mqtt: ok)."""
    state = poll(lambda: health(gateway)["mqtt"], lambda s: s == "ok", timeout=SUBSCRIBED_SECONDS)
    assert state == "ok", gateway.output()


@dataclass
class Account:
    """An account on a gateway child process, with REST helpers for its stations, windows and issues."""

    http: httpx.Client
    account_id: str
    plant_code: str
    api_key: str

    def ok(self, response: httpx.Response) -> Any:
        assert response.status_code == 200, response.text
        body = response.json()
        return body.get("result", body.get("results"))

    def post(self, path: str, body: Any) -> Any:
        return self.ok(self.http.post(path, json=body, headers={"X-API-KEY": self.api_key}))

    def get(self, path: str) -> Any:
        return self.ok(self.http.get(path, headers={"X-API-KEY": self.api_key}))

    def station(self, code: str, **extra: Any) -> str:
        """A new station; its MQTT topic."""
        self.post("/api/station", {"code": code, "name": code, "plantCode": self.plant_code, **extra})
        return f"busroot/v2/{self.account_id}/signals/{code}"

    def counts(self, code: str) -> tuple[int, int]:
        """Good and bad units in the station's windows of the last 24 hours."""
        rows = self.get(f"/api/station-window?stationcodes={code}&rangecode=last-24-hours")
        good = sum(int(w["productionGoodCount"]) for w in rows)
        return good, sum(int(w["productionBadCount"]) for w in rows)

    def good(self, code: str) -> int:
        return self.counts(code)[0]

    def issues(self, code: str) -> list[dict[str, Any]]:
        return self.get(f"/api/issue?stationcodes={code}")  # type: ignore[no-any-return]


def new_account(http: httpx.Client) -> Account:
    domain = f"mq-{uuid.uuid4().hex[:8]}.example.com"
    response = http.post(
        "/api/admin/newaccount",
        json={"domain": domain, "plantName": "Main"},
        headers={"X-API-KEY": SYSTEM_KEY},
    )
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    return Account(http, result["accountId"], result["plantCode"], result["apiKey"])
