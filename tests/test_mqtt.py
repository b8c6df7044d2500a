"""MQTT ingestion against the real Mosquitto: windows, bad messages, restarts with queued QoS 1 messages,
two gateways sharing one subscription and one Postgres (exactly-once detection and lease takeover)."""

from __future__ import annotations

import re
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import SYSTEM_KEY
from tests.gateway_process import Gateway, running_gateway, subprocess_database
from tests.services import BACKEND, service_url

T = TypeVar("T")
POLL = 0.1


def _poll(read: Callable[[], T], done: Callable[[T], bool], timeout: float) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(POLL)


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


@pytest.fixture(scope="module")
def broker() -> Broker:
    parts = urlsplit(service_url("ANDON_TEST_MQTT_URL"))
    return Broker(parts.hostname or "127.0.0.1", parts.port or 1883)


@dataclass
class Account:
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
        self.post("/api/station", {"code": code, "name": code, "plantCode": self.plant_code, **extra})
        return f"busroot/v2/{self.account_id}/signals/{code}"

    def good(self, code: str) -> int:
        rows = self.get(f"/api/station-window?stationcodes={code}&rangecode=last-24-hours")
        return sum(int(w["productionGoodCount"]) for w in rows)

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


def _env(database: str, broker: Broker, client_id: str, **extra: str) -> dict[str, str]:
    return {
        "ANDON_DATABASE_URL": database,
        "ANDON_SYSTEM_API_KEY": SYSTEM_KEY,
        "ANDON_MQTT_URL": broker.url,
        "ANDON_MQTT_CLIENT_ID": client_id,
        "ANDON_MQTT_FLUSH_SECONDS": "0.1",
        **extra,
    }


def _health(gateway: Gateway) -> dict[str, Any]:
    with gateway.client() as client:
        return client.get("/api/health").json()  # type: ignore[no-any-return]


def _wait_subscribed(gateway: Gateway) -> None:
    state = _poll(lambda: _health(gateway)["mqtt"], lambda s: s == "ok", 10.0)
    assert state == "ok", gateway.output()


@pytest.fixture(scope="module")
def gateway(broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    cwd = tmp_path_factory.mktemp("mqtt")
    client_id = f"andon-test-{uuid.uuid4().hex[:8]}"
    try:
        with subprocess_database(cwd) as url, running_gateway(_env(url, broker, client_id), cwd) as gateway:
            _wait_subscribed(gateway)
            yield gateway
    finally:
        broker.forget(client_id)


@pytest.fixture
def account(gateway: Gateway) -> Iterator[Account]:
    with gateway.client() as http:
        yield new_account(http)


def test_a_published_count_lands_in_the_minute_window(broker: Broker, account: Account) -> None:
    topic = account.station("S1")
    broker.publish(topic, b'{"production_complete_good": 3}')
    assert _poll(lambda: account.good("S1"), lambda n: n == 3, 5.0) == 3
    # Running totals: 10 is a baseline, 10 -> 15 counts 5, 15 -> 2 is a reset that counts 2.
    broker.publish(
        topic, b'{"production_count": 10}', b'{"production_count": 15}', b'{"production_count": 2}'
    )
    assert _poll(lambda: account.good("S1"), lambda n: n == 10, 5.0) == 10


def test_bad_messages_are_counted_logged_once_and_ingestion_goes_on(
    broker: Broker, gateway: Gateway, account: Account
) -> None:
    topic = account.station("S1")
    before = _health(gateway)["signals"]["dropped"]
    broker.publish_one(topic, b"\x00\xffgarbage")
    broker.publish_one(topic, b"{not json")
    broker.publish(topic, b'{"production_count_good": "five"}', b'{"voltage": 230}', b"[1, 2]")
    broker.publish(f"busroot/v2/{account.account_id}/signals/NOPE", b'{"production_complete_good": 1}')
    broker.publish("busroot/v2/no-such-account/signals/S1", b'{"production_complete_good": 1}')
    broker.publish_one(topic, b'{"production_complete_good": 1, "pad": "' + b"x" * (1024 * 1024) + b'"}')
    broker.publish(topic, b'{"production_complete_good": 2}')
    assert _poll(lambda: account.good("S1"), lambda n: n == 2, 5.0) == 2

    after = _health(gateway)["signals"]["dropped"]
    grew = {kind: after.get(kind, 0) - before.get(kind, 0) for kind in after}
    assert grew["malformed"] == 3, grew
    assert grew["wrong_type"] == 1 and grew["unknown_key"] == 1, grew
    assert grew["unknown_station"] == 1 and grew["unknown_account"] == 1, grew
    assert grew["too_large"] == 1, grew
    where = f"{account.account_id}/S1"
    assert gateway.stderr().count(f"signal dropped (malformed) for {where}") == 1, gateway.output()


def test_a_restart_loses_and_doubles_no_queued_qos1_message(broker: Broker, tmp_path: Path) -> None:
    client_id = f"andon-restart-{uuid.uuid4().hex[:8]}"
    with subprocess_database(tmp_path) as url, _forgotten(broker, client_id):
        env = _env(url, broker, client_id)
        with running_gateway(env, tmp_path) as gateway, gateway.client() as http:
            _wait_subscribed(gateway)
            account = new_account(http)
            topic = account.station("S1")
            broker.publish(topic, *[b'{"production_complete_good": 1}'] * 20)
            assert _poll(lambda: account.good("S1"), lambda n: n == 20, 5.0) == 20
        # Stopped (SIGTERM): the broker keeps the persistent session and queues QoS 1 messages for it.
        broker.publish(topic, *[b'{"production_complete_good": 1}'] * 50)
        with running_gateway(env, tmp_path, migrate=False) as gateway, gateway.client() as http:
            account.http = http
            assert _poll(lambda: account.good("S1"), lambda n: n >= 70, 10.0) == 70
            time.sleep(1.0)  # nothing arrives twice
            assert account.good("S1") == 70


@contextmanager
def _forgotten(broker: Broker, *client_ids: str) -> Iterator[None]:
    try:
        yield
    finally:
        broker.forget(*client_ids)


@dataclass
class Leader:
    gateway: Gateway
    other: Gateway


def _leader(gateways: list[Gateway]) -> Leader | None:
    states = [_health(g)["signals"]["timers"] for g in gateways]
    if states.count("leader") != 1:
        return None
    index = states.index("leader")
    return Leader(gateways[index], gateways[1 - index])


@pytest.mark.postgres
@pytest.mark.skipif(BACKEND != "postgres", reason="needs Postgres: runs with ANDON_TEST_BACKEND=postgres")
def test_two_gateways_detect_each_stop_once_and_hand_over_within_ten_seconds(
    broker: Broker, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    with subprocess_database(tmp_path) as url, _forgotten(broker, f"andon-{run}-a", f"andon-{run}-b"):
        env = _env(url, broker, f"andon-{run}-a", ANDON_MQTT_SHARED="1", ANDON_TIMER_INTERVAL_SECONDS="0.2")
        with (
            running_gateway(env, tmp_path, log_level="info") as first,
            running_gateway(
                {**env, "ANDON_MQTT_CLIENT_ID": f"andon-{run}-b"}, tmp_path, migrate=False, log_level="info"
            ) as second,
        ):
            gateways = [first, second]
            for g in gateways:
                _wait_subscribed(g)
            leader = _two_instances_share_the_work(broker, gateways)
            leader.gateway.process.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            leader.gateway.process.wait(5)
            took = _poll(lambda: _health(leader.other)["signals"]["timers"], lambda s: s == "leader", 10.0)
            handed_over = time.monotonic() - killed_at
            assert took == "leader" and handed_over <= 10.0, handed_over
            # The survivor now detects alone. (Over HTTP: Mosquitto keeps handing a share of the shared
            # subscription to the killed instance's persistent session until it comes back; docs/signals.md.)
            with leader.other.client() as http:
                account = new_account(http)
                account.station("AFTER", cycleTime=1, downtimeDetectionMode="production-cycle")
                account.post("/api/signal", {"stationCode": "AFTER", "production_complete_good": 1})
                stops = _poll(lambda: account.issues("AFTER"), bool, 5.0)
                assert len(stops) == 1, leader.other.output()


def _two_instances_share_the_work(broker: Broker, gateways: list[Gateway]) -> Leader:
    """Stops on four stations fed through the shared subscription: one issue and one escalation each."""
    with gateways[0].client() as http:
        account = new_account(http)
        config = {
            "ESCALATE_UNACKNOWLEDGED_AFTER_MINUTES": 0.02,
            "ESCALATE_UNESTIMATED_AFTER_MINUTES": 0,
            "ESCALATE_ON_ESTIMATE_EXPIRY": False,
        }
        account.post("/api/admin/config", {"config": config})
        codes = [f"S{i}" for i in range(4)]
        topics = [account.station(c, cycleTime=1, downtimeDetectionMode="production-cycle") for c in codes]
        for topic in topics:
            broker.publish(topic, *[b'{"production_complete_good": 1}'] * 4)
        for code in codes:
            assert _poll(lambda code=code: account.good(code), lambda n: n == 4, 5.0) == 4
            stops = _poll(lambda code=code: account.issues(code), bool, 5.0)
            assert len(stops) == 1, stops
        time.sleep(2.0)  # past the escalation deadline (1.2 s), many ticks of both instances
        ids = set()
        for code in codes:
            [stop] = account.issues(code)
            assert stop["isEscalated"] is True, stop
            ids.add(stop["id"])
    logged = [
        int(m) for g in gateways for m in re.findall(r"escalated issue (\d+) \(", g.stdout() + g.stderr())
    ]
    assert sorted(logged) == sorted(ids), [g.output() for g in gateways]
    leader = _poll(lambda: _leader(gateways), lambda found: found is not None, 5.0)
    assert leader is not None
    return leader
