"""MQTT ingestion against the real Mosquitto: windows, bad messages, restarts with queued QoS 1 messages,
two gateways sharing one subscription and one Postgres (exactly-once detection and lease takeover)."""

from __future__ import annotations

import re
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from tests.gateway_process import Gateway, running_gateway, subprocess_database
from tests.helpers.mqtt import (
    Account,
    Broker,
    forgotten,
    gateway_env,
    health,
    new_account,
    wait_subscribed,
)
from tests.helpers.waiting import poll

pytestmark = pytest.mark.mqtt


@pytest.fixture(scope="module")
def gateway(broker: Broker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    cwd = tmp_path_factory.mktemp("mqtt")
    client_id = f"andon-test-{uuid.uuid4().hex[:8]}"
    try:
        with (
            subprocess_database(cwd) as url,
            running_gateway(gateway_env(url, broker, client_id), cwd) as gateway,
        ):
            wait_subscribed(gateway)
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
    assert poll(lambda: account.good("S1"), lambda n: n == 3, timeout=5.0) == 3
    # Running totals: 10 is a baseline, 10 -> 15 counts 5, 15 -> 2 is a reset that counts 2.
    broker.publish(
        topic, b'{"production_count": 10}', b'{"production_count": 15}', b'{"production_count": 2}'
    )
    assert poll(lambda: account.good("S1"), lambda n: n == 10, timeout=5.0) == 10


def test_bad_messages_are_counted_logged_once_and_ingestion_goes_on(
    broker: Broker, gateway: Gateway, account: Account
) -> None:
    topic = account.station("S1")
    before = health(gateway)["signals"]["dropped"]
    broker.publish_one(topic, b"\x00\xffgarbage")
    broker.publish_one(topic, b"{not json")
    broker.publish(topic, b'{"production_count_good": "five"}', b'{"voltage": 230}', b"[1, 2]")
    broker.publish(f"busroot/v2/{account.account_id}/signals/NOPE", b'{"production_complete_good": 1}')
    broker.publish("busroot/v2/no-such-account/signals/S1", b'{"production_complete_good": 1}')
    broker.publish_one(topic, b'{"production_complete_good": 1, "pad": "' + b"x" * (1024 * 1024) + b'"}')
    # Instants at the ends of datetime's range: converting them to UTC overflowed, the batch failed, the
    # message was never acknowledged and came back on every reconnect, for every account.
    broker.publish(
        topic,
        b'{"production_complete_good": 1, "timestamp": "9999-12-31T23:59:59-14:00"}',
        b'{"production_complete_good": 1, "timestamp": "0001-01-01T00:00:00+14:00"}',
    )
    broker.publish(topic, b'{"production_complete_good": 2}')
    assert poll(lambda: account.good("S1"), lambda n: n == 2, timeout=5.0) == 2

    after = health(gateway)["signals"]["dropped"]
    grew = {kind: after.get(kind, 0) - before.get(kind, 0) for kind in after}
    assert grew["malformed"] == 3, grew
    assert grew["wrong_type"] == 3 and grew["unknown_key"] == 1, grew
    assert grew["unknown_station"] == 1 and grew["unknown_account"] == 1, grew
    assert grew["too_large"] == 1, grew
    # One line for the first drop of a quiet minute; the rest go into the minute's summary line.
    assert gateway.stderr().count("signal dropped (") <= 1, gateway.output()
    # Every refused message of the account's topics is listed (the unknown account's is only counted).
    kept = poll(lambda: account.get("/api/signal/dead-letter"), lambda found: len(found) == 9, timeout=5.0)
    reasons = sorted(x["reason"] for x in kept)
    assert reasons == sorted(
        ["malformed"] * 3 + ["wrong_type"] * 3 + ["unknown_key", "unknown_station", "too_large"]
    )


# The original report: this message at QoS 1 stopped ingestion for every account, for good.
POISON = b'{"production_complete_good":1,"timestamp":"9999-12-31T23:59:59-14:00"}'


def test_a_restart_loses_and_doubles_no_queued_qos1_message_nor_brings_back_a_dead_letter(
    broker: Broker, tmp_path: Path
) -> None:
    client_id = f"andon-restart-{uuid.uuid4().hex[:8]}"
    with subprocess_database(tmp_path) as url, forgotten(broker, client_id):
        env = gateway_env(url, broker, client_id)
        with running_gateway(env, tmp_path) as gateway, gateway.client() as http:
            wait_subscribed(gateway)
            account, poisoned = new_account(http), new_account(http)
            topic, poisoned_topic = account.station("S1"), poisoned.station("S1")
            # The poison first: the other account's signals are applied all the same.
            broker.publish(poisoned_topic, POISON)
            broker.publish(topic, *[b'{"production_complete_good": 1}'] * 20)
            assert poll(lambda: account.good("S1"), lambda n: n == 20, timeout=5.0) == 20
            [letter] = poll(lambda: poisoned.get("/api/signal/dead-letter"), bool, timeout=5.0)
            assert letter["topic"] == poisoned_topic and letter["payload"] == POISON.decode(), letter
            assert "timestamp" in letter["detail"] and account.get("/api/signal/dead-letter") == []
        # Stopped (SIGTERM): the broker keeps the persistent session and queues QoS 1 messages for it.
        broker.publish(topic, *[b'{"production_complete_good": 1}'] * 50)
        with running_gateway(env, tmp_path, migrate=False) as gateway, gateway.client() as http:
            account.http = poisoned.http = http
            assert poll(lambda: account.good("S1"), lambda n: n >= 70, timeout=10.0) == 70
            # Nothing arrives twice: a message published now comes after every queued one (and after any
            # the broker delivers again), so once it has counted, so would have any repeat.
            broker.publish(topic, b'{"production_complete_bad": 1}')
            broker.publish(poisoned_topic, b'{"production_complete_good": 2}')
            assert poll(lambda: account.counts("S1"), lambda c: c[1] >= 1, timeout=5.0) == (70, 1)
            assert poll(lambda: poisoned.good("S1"), lambda n: n == 2, timeout=5.0) == 2
            assert len(poisoned.get("/api/signal/dead-letter")) == 1, gateway.output()


# A station whose stop comes after the others' (see _two_instances_share_the_work).
LATE = "LATE"


@dataclass
class Leader:
    gateway: Gateway
    other: Gateway


def _leader(gateways: list[Gateway]) -> Leader | None:
    states = [health(g)["signals"]["timers"] for g in gateways]
    if states.count("leader") != 1:
        return None
    index = states.index("leader")
    return Leader(gateways[index], gateways[1 - index])


@pytest.mark.postgres
def test_two_gateways_detect_each_stop_once_and_hand_over_within_ten_seconds(
    broker: Broker, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    with subprocess_database(tmp_path) as url, forgotten(broker, f"andon-{run}-a", f"andon-{run}-b"):
        env = gateway_env(
            url, broker, f"andon-{run}-a", ANDON_MQTT_SHARED="1", ANDON_TIMER_INTERVAL_SECONDS="0.2"
        )
        with (
            running_gateway(env, tmp_path, log_level="info") as first,
            running_gateway(
                {**env, "ANDON_MQTT_CLIENT_ID": f"andon-{run}-b"}, tmp_path, migrate=False, log_level="info"
            ) as second,
        ):
            gateways = [first, second]
            for g in gateways:
                wait_subscribed(g)
            leader = _two_instances_share_the_work(broker, gateways)
            leader.gateway.process.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            leader.gateway.process.wait(5)
            took = poll(
                lambda: health(leader.other)["signals"]["timers"], lambda s: s == "leader", timeout=10.0
            )
            handed_over = time.monotonic() - killed_at
            assert took == "leader" and handed_over <= 10.0, handed_over
            # The survivor now detects alone. (Over HTTP: Mosquitto keeps handing a share of the shared
            # subscription to the killed instance's persistent session until it comes back; docs/signals.md.)
            with leader.other.client() as http:
                account = new_account(http)
                account.station("AFTER", cycleTime=1, downtimeDetectionMode="production-cycle")
                account.post("/api/signal", {"stationCode": "AFTER", "production_complete_good": 1})
                stops = poll(lambda: account.issues("AFTER"), bool, timeout=5.0)
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
        # The sentinel: fed with the others, its stop is due 4.5 s after its last output instead of 1.5 s,
        # so its escalation comes at least two escalation passes (one a second) after theirs.
        late = account.station(LATE, cycleTime=3, downtimeDetectionMode="production-cycle")
        for topic in [*topics, late]:
            broker.publish(topic, *[b'{"production_complete_good": 1}'] * 4)
        for code in codes:
            assert poll(partial(account.good, code), lambda n: n == 4, timeout=5.0) == 4
            stops = poll(partial(account.issues, code), bool, timeout=5.0)
            assert len(stops) == 1, stops
        # Past the escalation deadline (1.2 s) of the four and many ticks of both instances: a second issue
        # or escalation of theirs would be there by the time the sentinel's stop is escalated.
        [sentinel] = poll(
            lambda: account.issues(LATE), lambda found: any(i["isEscalated"] for i in found), timeout=10.0
        )
        assert sentinel["isEscalated"] is True, sentinel
        ids = {sentinel["id"]}
        for code in codes:
            [stop] = account.issues(code)
            assert stop["isEscalated"] is True, stop
            ids.add(stop["id"])
    # Each escalation is logged by the instance that raised it: every one once, read once all are there.
    logged = poll(lambda: _escalations_logged(gateways), lambda found: set(found) >= ids, timeout=5.0)
    assert sorted(logged) == sorted(ids), [g.output() for g in gateways]
    leader = poll(lambda: _leader(gateways), lambda found: found is not None, timeout=5.0)
    assert leader is not None
    return leader


def _escalations_logged(gateways: list[Gateway]) -> list[int]:
    return [
        int(m) for g in gateways for m in re.findall(r"escalated issue (\d+) \(", g.stdout() + g.stderr())
    ]
