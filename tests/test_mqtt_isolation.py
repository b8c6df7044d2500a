"""Each MQTT message on its own: a poison message set aside as a dead letter while the rest are applied, a
database outage that loses nothing, dead letters bounded and listed to admins, bounded bookkeeping of
unknown stations, and a fuzz of the ingestion through the real Mosquitto.

The ingestion runs in the in-process gateway's event loop (the `client` fixture's portal) so that faults
no input can cause today (a message that fails to apply, a database that stops answering) are injected
by replacing `apply_signals` or `database_answers` where the ingestion looks them up.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import orjson
import paho.mqtt.client as paho
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

import realtime.mqtt_ingest as ingest_module
import resolvers.signals.dead_letters as dead_letters
from models.dead_letters import DeadLetter
from realtime.mqtt_ingest import MqttIngest, MqttOptions
from realtime.station_directory import MISSES_MAX, StationDirectory
from resolvers.common.metrics import REGISTRY
from resolvers.signals.apply import Signal
from resolvers.signals.stats import SignalStats
from tests.conftest import Tenant, new_tenant
from tests.helpers.mqtt import Broker
from tests.helpers.signals import add_station
from tests.helpers.waiting import poll

pytestmark = pytest.mark.mqtt

T = TypeVar("T")
# A line_speed no device sends: apply_signals is made to fail on it (see poisoned_apply).
POISON_SPEED = 666.25
WAIT_SECONDS = 10.0


def run(client: TestClient, function: Callable[[], Awaitable[T]]) -> T:
    assert client.portal is not None
    return client.portal.call(function)


@pytest.fixture(scope="module")
def ingest(client: TestClient, broker: Broker) -> Iterator[MqttIngest]:
    """MQTT ingestion in the in-process gateway's loop, with counters of its own."""
    client_id = f"andon-isolation-{uuid.uuid4().hex[:8]}"
    options = MqttOptions(url=broker.url, client_id=client_id, flush_seconds=0.1)

    async def start() -> MqttIngest:
        started = MqttIngest(options, stats=SignalStats())
        started.start()
        await started.wait_connected(WAIT_SECONDS)
        return started

    running = run(client, start)
    try:
        yield running
    finally:
        run(client, running.stop)
        broker.forget(client_id)


@pytest.fixture
def poisoned_apply(monkeypatch: pytest.MonkeyPatch) -> None:
    """apply_signals fails on any batch holding a signal with line_speed POISON_SPEED: a message that
    passes validation and still cannot be applied (what an overflow in a conversion once did)."""
    real = ingest_module.apply_signals

    async def apply(signals: Sequence[Signal]) -> int:
        if any(s.data.line_speed == POISON_SPEED for s in signals):
            raise RuntimeError("poisoned")
        return await real(signals)

    monkeypatch.setattr(ingest_module, "apply_signals", apply)


def topic(tenant: Tenant, code: str) -> str:
    return f"busroot/v2/{tenant.account_id}/signals/{code}"


def counts(tenant: Tenant, code: str) -> tuple[int, int]:
    rows = tenant.ok(tenant.get(f"/api/station-window?stationcodes={code}&rangecode=last-24-hours"))
    return sum(int(w["productionGoodCount"]) for w in rows), sum(int(w["productionBadCount"]) for w in rows)


def letters(tenant: Tenant, query: str = "") -> list[dict[str, Any]]:
    return tenant.ok(tenant.get(f"/api/signal/dead-letter{query}"))  # type: ignore[no-any-return]


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def dead_lettered(reason: str) -> float:
    return metric("andon_mqtt_dead_letters_total", reason=reason)


def test_a_poison_message_is_set_aside_and_every_other_message_applied(
    client: TestClient, broker: Broker, ingest: MqttIngest, poisoned_apply: None
) -> None:
    first, second = new_tenant(client), new_tenant(client)
    add_station(first, "S1")
    add_station(second, "S1")
    applied, poisoned = metric("andon_mqtt_applied_total"), dead_lettered("apply_failed")
    poison = orjson.dumps({"production_complete_good": 1, "line_speed": POISON_SPEED})
    good = b'{"production_complete_good": 1}'
    broker.publish(topic(first, "S1"), good, poison, good)
    broker.publish(topic(second, "S1"), good)
    assert poll(lambda: counts(first, "S1"), lambda c: c == (2, 0), timeout=WAIT_SECONDS) == (2, 0)
    assert poll(lambda: counts(second, "S1"), lambda c: c == (1, 0), timeout=WAIT_SECONDS) == (1, 0)

    [letter] = poll(lambda: letters(first), bool, timeout=WAIT_SECONDS)
    assert letter["reason"] == "apply_failed" and letter["detail"] == "RuntimeError: poisoned", letter
    assert letter["topic"] == topic(first, "S1") and letter["stationCode"] == "S1"
    assert orjson.loads(letter["payload"]) == orjson.loads(poison) and not letter["payloadTruncated"]
    assert letters(second) == []
    assert dead_lettered("apply_failed") == poisoned + 1
    assert metric("andon_mqtt_applied_total") == applied + 3

    # Acknowledged: a new connection of the same session gets nothing again. The sentinel, published
    # after the reconnect, comes after anything the broker would deliver again.
    run(client, _drop_connection(ingest))
    broker.publish(topic(first, "S1"), b'{"production_complete_bad": 1}')
    assert poll(lambda: counts(first, "S1"), lambda c: c[1] == 1, timeout=WAIT_SECONDS) == (2, 1)
    assert len(letters(first)) == 1 and dead_lettered("apply_failed") == poisoned + 1


def _drop_connection(ingest: MqttIngest) -> Callable[[], Awaitable[None]]:
    async def drop() -> None:
        assert ingest._client is not None
        ingest._client._client.disconnect()

    return drop


def test_while_the_database_does_not_answer_nothing_is_acknowledged_or_set_aside(
    client: TestClient, broker: Broker, ingest: MqttIngest, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_station(tenant, "S1")
    received = metric("andon_mqtt_received_total")
    failed = 0

    async def unreachable(signals: Sequence[Signal]) -> int:
        nonlocal failed
        failed += 1
        await asyncio.sleep(0.3)  # a connection attempt timing out, shortened
        raise ConnectionError("database unreachable")

    async def down() -> bool:
        return False

    monkeypatch.setattr(ingest_module, "apply_signals", unreachable)
    monkeypatch.setattr(ingest_module, "database_answers", down)
    broker.publish(topic(tenant, "S1"), *[b'{"production_complete_good": 1}'] * 3)
    # Held while the batch is tried: the lag gauge reads its age.
    assert (
        poll(lambda: metric("andon_mqtt_ingest_lag_seconds"), lambda lag: lag > 0, timeout=WAIT_SECONDS) > 0
    )
    # Refused, and delivered again after the reconnect (the batch is tried again): not acknowledged.
    assert poll(lambda: failed, lambda n: n >= 2, timeout=WAIT_SECONDS) >= 2
    assert metric("andon_mqtt_received_total") - received >= 6
    monkeypatch.undo()

    broker.publish(topic(tenant, "S1"), b'{"production_complete_bad": 1}')
    assert poll(lambda: counts(tenant, "S1"), lambda c: c == (3, 1), timeout=WAIT_SECONDS) == (3, 1)
    assert letters(tenant) == []


def test_refused_messages_of_a_known_account_are_kept_others_only_counted(
    client: TestClient, broker: Broker, ingest: MqttIngest, tenant: Tenant
) -> None:
    add_station(tenant, "S1")
    before = {r: dead_lettered(r) for r in ("malformed", "wrong_type", "unknown_station", "unknown_account")}
    unknown_account = f"busroot/v2/nobody-{uuid.uuid4().hex[:8]}/signals/S1"
    broker.publish_one(topic(tenant, "S1"), b"\x00\xffjunk")
    broker.publish(topic(tenant, "S1"), b'{"production_count_good": "five"}')
    broker.publish(topic(tenant, "NOPE"), b'{"production_complete_good": 1}')
    broker.publish_one(topic(tenant, "S1"), b'{"pad": "' + b"x" * 70_000 + b'"}')
    broker.publish(unknown_account, b'{"production_complete_good": 1}')
    broker.publish(topic(tenant, "S1"), b'{"production_complete_good": 1}')
    assert poll(lambda: counts(tenant, "S1"), lambda c: c == (1, 0), timeout=WAIT_SECONDS) == (1, 0)

    found = poll(lambda: letters(tenant), lambda f: len(f) == 4, timeout=WAIT_SECONDS)
    assert [x["reason"] for x in found] == ["too_large", "unknown_station", "wrong_type", "malformed"], found
    too_large, unknown_station, wrong_type, malformed = found
    assert too_large["payloadBytes"] == 70_011 and too_large["payloadTruncated"]
    assert len(too_large["payload"]) == dead_letters.PAYLOAD_KEPT
    assert unknown_station["stationCode"] == "NOPE"
    assert wrong_type["detail"] == "production_count_good"
    assert malformed["payload"] == "\x00\\xffjunk" and malformed["payloadBytes"] == 6
    assert {r: dead_lettered(r) - n for r, n in before.items()} == {
        "malformed": 1,
        "wrong_type": 1,
        "unknown_station": 1,
        "unknown_account": 1,
    }
    assert run(client, DeadLetter.filter(topic=unknown_account).count) == 0


def test_dead_letters_are_for_admins_of_their_account_paged_and_bounded(
    client: TestClient, broker: Broker, ingest: MqttIngest, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = new_tenant(client), new_tenant(client)
    for tenant in (first, second):
        add_station(tenant, "S1")
    monkeypatch.setattr(dead_letters, "PER_ACCOUNT_MAX", 3)
    monkeypatch.setattr(dead_letters, "TOTAL_MAX", 4)
    broker.publish(topic(first, "S1"), *[f"junk {i}".encode() for i in range(5)])
    # All five set aside (they may come in more than one flush) and trimmed: newest first, the oldest two gone.
    kept = poll(
        lambda: [x["payload"] for x in letters(first)],
        lambda p: len(p) == 3 and p[0] == "junk 4",
        timeout=WAIT_SECONDS,
    )
    assert kept == ["junk 4", "junk 3", "junk 2"]
    page = letters(first, "?limit=2")
    assert [x["payload"] for x in page] == ["junk 4", "junk 3"]
    assert [x["payload"] for x in letters(first, f"?limit=2&before={page[-1]['id']}")] == ["junk 2"]
    assert letters(second) == []

    # The table-wide bound: the newest four over every account.
    broker.publish(topic(second, "S1"), *[f"more {i}".encode() for i in range(3)])
    assert poll(lambda: len(letters(second)), lambda n: n == 3, timeout=WAIT_SECONDS) == 3
    # The trims follow the insert (not in its transaction): wait for them, not only for the rows.
    kept = poll(lambda: [x["payload"] for x in letters(first)], lambda p: len(p) < 3, timeout=WAIT_SECONDS)
    assert kept == ["junk 4"]

    reader = first.key_for("read-only")
    assert first.get("/api/signal/dead-letter", key=reader).status_code == 403
    assert first.get("/api/signal/dead-letter?limit=0").status_code == 400


def test_a_message_whose_handling_raises_is_an_internal_dead_letter_logged_once(
    client: TestClient,
    broker: Broker,
    ingest: MqttIngest,
    tenant: Tenant,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    add_station(tenant, "S1")
    real = ingest_module.validated

    def fragile(account_id: str, station_id: int, payload: bytes) -> object:
        if b"boom" in payload:
            raise KeyError("boom")
        return real(account_id, station_id, payload)

    monkeypatch.setattr(ingest_module, "validated", fragile)
    caplog.set_level(logging.ERROR, logger="realtime.mqtt_ingest")
    broker.publish(topic(tenant, "S1"), b'{"boom": 1}', b'{"boom": 2}', b'{"production_complete_good": 1}')
    assert poll(lambda: counts(tenant, "S1"), lambda c: c == (1, 0), timeout=WAIT_SECONDS) == (1, 0)
    found = poll(lambda: letters(tenant), lambda f: len(f) == 2, timeout=WAIT_SECONDS)
    assert [x["reason"] for x in found] == ["internal", "internal"]
    assert letters(tenant)[0]["detail"] == "KeyError: 'boom'"
    tracebacks = [r for r in caplog.records if r.exc_info and "internal" in r.getMessage()]
    assert len(tracebacks) == 1, caplog.text


def test_ten_thousand_unknown_codes_keep_bounded_caches_and_few_log_lines(
    client: TestClient, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    add_station(tenant, "S1")
    directory = StationDirectory()
    clock = [0.0]
    stats = SignalStats(clock=lambda: clock[0])
    caplog.set_level(logging.WARNING, logger="resolvers.signals.stats")

    async def flood() -> None:
        for i in range(10_000):
            clock[0] = i * 0.01  # 10,000 drops over 100 s
            # Seven in eight under the caller's account, the rest under made-up accounts.
            account = tenant.account_id if i % 8 else f"nobody-{i}"
            kind = await directory.resolve(account, f"X{i}")
            assert isinstance(kind, str)
            stats.drop(kind, f"{account}/X{i}", "not in this gateway's accounts")

    run(client, flood)
    assert len(directory.unknown_accounts) == MISSES_MAX
    # The one real account, with its one real station: unknown codes are kept nowhere.
    assert list(directory.accounts) == [tenant.account_id]
    assert list(directory.accounts[tenant.account_id].ids) == ["S1"]
    assert stats.dropped == {"unknown_station": 8750, "unknown_account": 1250}
    # The first drop at once, then one summary line a minute.
    lines = [r.getMessage() for r in caplog.records if r.name == "resolvers.signals.stats"]
    assert len(lines) == 2, lines
    assert lines[1].startswith(
        "dropped 5999 signals in the last minute: unknown_station 5250, unknown_account 749"
    ), lines[1]
    clock[0] += 60
    stats.flush()
    lines = [r.getMessage() for r in caplog.records if r.name == "resolvers.signals.stats"]
    assert len(lines) == 3 and lines[2].startswith("dropped 4000 signals in the last minute: "), lines


@pytest.mark.backend_independent
def test_health_reports_a_connection_down_for_long_or_a_lag_past_its_limit() -> None:
    ingest = MqttIngest(MqttOptions(url="mqtt://127.0.0.1:1", client_id="x"))
    now = time.time()
    assert ingest.state == "starting" and ingest.health(now) is None and ingest.lag_seconds(now) == 0.0
    assert (ingest.health(now + 31) or "").startswith("MQTT ingestion starting for ")
    ingest._set_state("ok")
    ingest._applying_since = now - 90  # a batch being applied since 90 s
    assert ingest.lag_seconds(now) == pytest.approx(90)
    assert ingest.health(now) == "MQTT ingestion 90 s behind"
    ingest._applying_since = None
    assert ingest.health(now + 3600) is None


# --- fuzz -------------------------------------------------------------------------------------------

SIGNAL_KEYS = [
    "production_complete_good",
    "production_complete",
    "production_complete_bad",
    "production_count_good",
    "production_count_bad",
    "productive",
    "line_speed",
    "electrical_kwh",
    "electrical_kwh_interval",
    "rssi",
    "sku",
    "error_code",
    "timestamp",
]
INSTANTS = [
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "2026-02-30T00:00:00Z",
    "1970-01-01T00:00:00Z",
    253402300799999,
    -1,
]
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=40)
    | st.sampled_from(INSTANTS)
    | st.sampled_from([2**63, -(2**63), 10**400, 1e308, -1e308])
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
signal_like = st.dictionaries(st.sampled_from(SIGNAL_KEYS) | st.text(max_size=12), values, max_size=5)
# The standard library's encoder: integers past 64 bits, NaN and Infinity as written (not JSON).
payloads = st.one_of(signal_like.map(lambda d: json.dumps(d).encode()), st.binary(max_size=200))


def _deep(levels: int) -> list[bytes]:
    return [b"[" * levels + b"]" * levels, b'{"a":' * levels + b"1" + b"}" * levels]


# Hand-picked cases beside the generated ones: sizes and depths a generator rarely reaches.
FIXED = [
    *_deep(5000),
    b'{"production_complete_good": 1, "pad": "' + b"x" * (1024 * 1024) + b'"}',
    b'{"production_complete_good": 1, "timestamp": "9999-12-31T23:59:59-14:00"}',
    b'{"production_complete_good": -5}',
    b'{"production_count_good": 123456789012345678901234567890}',
    b'{"electrical_kwh": 1e999}',
    b'{"productive": 2}',
    b'{"sku": "' + b"s" * 500 + b'"}',
    b"",
    b"null",
    b"\xff\xfe\xfd",
    # A running total jumping to the largest accepted value: a count that may not fit a window column.
    b'{"production_count_good": 0}',
    b'{"production_count_good": 9007199254740992}',
]


@contextmanager
def publisher(broker: Broker) -> Iterator[paho.Client]:
    """A connected paho client for publishing many messages quickly."""
    mqtt = paho.Client(paho.CallbackAPIVersion.VERSION2)
    mqtt.connect(broker.host, broker.port)
    mqtt.loop_start()
    try:
        yield mqtt
    finally:
        mqtt.disconnect()
        mqtt.loop_stop()


def test_fuzzed_messages_never_stop_ingestion(
    client: TestClient, broker: Broker, ingest: MqttIngest, poisoned_apply: None
) -> None:
    tenant = new_tenant(client)
    add_station(tenant, "FUZZ")
    add_station(tenant, "OK")
    received = metric("andon_mqtt_received_total")
    topics = [
        topic(tenant, "FUZZ"),
        topic(tenant, "NOPE"),
        f"busroot/v2/nobody-{uuid.uuid4().hex[:6]}/signals/S1",
        f"busroot/v2/{tenant.account_id}/signals/bad.code",
    ]
    sent = 0
    with publisher(broker) as mqtt:

        def send(topic_name: str, payload: bytes) -> None:
            nonlocal sent
            mqtt.publish(topic_name, payload, qos=1).wait_for_publish(5.0)
            sent += 1

        @settings(
            max_examples=60,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        )
        @given(payload=payloads, topic_index=st.integers(0, len(topics) - 1))
        def fuzz(payload: bytes, topic_index: int) -> None:
            send(topics[topic_index], payload)

        fuzz()
        for payload in FIXED:
            send(topic(tenant, "FUZZ"), payload)
        send(topic(tenant, "FUZZ"), orjson.dumps({"production_complete_good": 1, "line_speed": POISON_SPEED}))
        # Foreign topics: outside the subscription, never received.
        mqtt.publish(f"busroot/v2/{tenant.account_id}/commands/FUZZ", b"{}", qos=1).wait_for_publish(5.0)
        mqtt.publish("factory/line1", b"\x00", qos=1).wait_for_publish(5.0)
        assert (
            poll(
                lambda: metric("andon_mqtt_received_total") - received,
                lambda n: n >= sent,
                timeout=WAIT_SECONDS,
            )
            == sent
        )
        assert ingest.state == "ok"

        published = time.monotonic()
        send(topic(tenant, "OK"), b'{"production_complete_good": 7}')
        assert poll(lambda: counts(tenant, "OK"), lambda c: c == (7, 0), timeout=1.0) == (7, 0)
        took = time.monotonic() - published
    assert took <= 1.0, took
    kept = poll(
        lambda: letters(tenant, "?limit=1000"),
        lambda f: any(x["reason"] == "apply_failed" for x in f),
        timeout=WAIT_SECONDS,
    )
    assert any(x["reason"] == "apply_failed" for x in kept)
