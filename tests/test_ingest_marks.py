"""Ingestion watermarks: detection never judges a station past a message some instance holds unapplied."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

import paho.mqtt.publish as mqtt_publish
import pytest

import realtime.mqtt_ingest as mqtt_ingest
from models.signals import IngestMark
from realtime.mqtt_ingest import MqttIngest, MqttOptions
from resolvers.signals.apply import Signal
from tests.conftest import Tenant
from tests.helpers.issues import iso
from tests.helpers.signals import add_station, in_app, ongoing, seconds_ago, send_signal, status
from tests.helpers.waiting import poll
from tests.services import service_url

T = TypeVar("T")
# The in-process gateway's ANDON_OFFLINE_AFTER_SECONDS (the default): a station silent this long is offline.
OFFLINE_AFTER = timedelta(seconds=600)


def _mark(tenant: Tenant, behind_since: datetime | None, seen_ago: float = 0.0) -> None:
    """Another instance's watermark row, as its ingest ticker writes it."""

    async def write() -> None:
        seen_at = datetime.now(UTC) - timedelta(seconds=seen_ago)
        await IngestMark.update_or_create(
            instance="other-instance", defaults={"behind_since": behind_since, "seen_at": seen_at}
        )

    in_app(tenant, write)


def test_another_instance_holding_messages_unapplied_holds_detection_back(tenant: Tenant) -> None:
    """Everything happens in the past, so no threshold has to pass in real time: by the clock S1 has been
    silent for 20 s, far past its 1.5 s threshold, but the other instance received its next message
    0.2 s after its last output and has not applied it yet."""
    add_station(tenant, cycleTime=1, downtimeDetectionMode="production-cycle")  # 1 s x 1.5
    add_station(tenant, "S2", cycleTime=1, downtimeDetectionMode="production-cycle")
    add_station(tenant, "HEARD")  # no detection: a status only
    last_output = seconds_ago(20)
    behind = last_output + timedelta(milliseconds=200)

    def held(read: Callable[[], T]) -> Callable[[], T]:
        """`read`, with the mark written again first: a live instance refreshes it every tick."""

        def fresh() -> T:
            _mark(tenant, behind)
            return read()

        return fresh

    _mark(tenant, behind)
    # The mark is in force before S1's output is there. HEARD last spoke (1 s short of) the offline time
    # before `behind`: a tick judging at `behind` reads it running, one judging by the clock offline.
    send_signal(tenant, "HEARD", rssi=-50, timestamp=iso(behind - OFFLINE_AFTER + timedelta(seconds=1)))
    assert poll(held(lambda: status(tenant, "HEARD")), lambda s: s == "running", timeout=5.0) == "running"
    send_signal(tenant, production_complete_good=1, timestamp=iso(last_output))
    # The sentinel: S2 is due even at `behind` (silent 5 s by then), so the pass that opens its stop judged
    # S1 too, after S1's output was in.
    send_signal(tenant, "S2", production_complete_good=1, timestamp=iso(behind - timedelta(seconds=5)))
    assert poll(held(lambda: ongoing(tenant, "S2")), bool, timeout=5.0), "no stop on the sentinel"
    assert ongoing(tenant) == [], "a stop judged past a message still waiting to be applied"
    # It caught up and the message held no output: the stop opens at once, from the last output.
    _mark(tenant, None)
    [stop] = poll(lambda: ongoing(tenant), bool, timeout=2.0)
    assert stop["startAt"] == iso(last_output)


def test_the_mark_of_an_instance_gone_silent_is_ignored(tenant: Tenant) -> None:
    add_station(tenant, cycleTime=1, downtimeDetectionMode="production-cycle")
    last_output = seconds_ago(5)  # past the threshold by the clock already
    # Behind since just after that output, but not written for longer than the lease lifetime: that
    # instance is gone. Were its mark counted, the station would be judged before its threshold.
    _mark(tenant, last_output + timedelta(milliseconds=200), seen_ago=600)
    send_signal(tenant, production_complete_good=1, timestamp=iso(last_output))
    found = poll(lambda: ongoing(tenant), bool, timeout=2.0)
    assert found, "a dead instance's mark held detection"
    assert found[0]["startAt"] == iso(last_output)


@pytest.fixture
def broker_url() -> str:
    return service_url("ANDON_TEST_MQTT_URL")


def test_mqtt_ingest_reports_what_it_holds_unapplied_until_it_commits(
    tenant: Tenant, broker_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against Mosquitto: a message received while its batch cannot commit keeps the watermark at its
    receipt; once committed the ingest holds nothing. (The slow commit is the fault injected.)"""
    add_station(tenant, code="W1")
    portal = tenant.client.portal
    assert portal is not None
    gate: dict[str, Any] = {}
    apply_real = mqtt_ingest.apply_signals

    async def slow_apply(signals: Sequence[Signal]) -> int:
        gate["applying"].set()
        await gate["open"].wait()
        return await apply_real(signals)

    monkeypatch.setattr(mqtt_ingest, "apply_signals", slow_apply)
    client_id = f"andon-mark-{uuid.uuid4().hex[:8]}"
    ingest = MqttIngest(MqttOptions(url=broker_url, client_id=client_id))
    parts = urlsplit(broker_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 1883

    async def start() -> None:
        gate["open"], gate["applying"] = asyncio.Event(), asyncio.Event()
        ingest.start()
        await ingest.wait_connected(10)

    portal.call(start)
    try:
        assert portal.call(_async(ingest.behind_since)) is None
        sent = datetime.now(UTC)
        topic = f"busroot/v2/{tenant.account_id}/signals/W1"
        mqtt_publish.single(topic, b'{"production_complete_good": 2}', qos=1, hostname=host, port=port)
        held = poll(lambda: portal.call(_async(ingest.behind_since)), lambda m: m is not None, timeout=5.0)
        assert held is not None, "a received, unapplied message is not in the watermark"
        assert sent - timedelta(seconds=1) <= held <= datetime.now(UTC)
        # The flush came and its commit waits: still held, same receipt time.
        portal.call(lambda: asyncio.wait_for(gate["applying"].wait(), 5.0))
        assert portal.call(_async(ingest.behind_since)) == held
        portal.call(_async(gate["open"].set))
        assert (
            poll(lambda: portal.call(_async(ingest.behind_since)), lambda m: m is None, timeout=5.0) is None
        )
        rows = tenant.ok(tenant.get("/api/station-window?stationcodes=W1&rangecode=last-24-hours"))
        assert sum(int(w["productionGoodCount"]) for w in rows) == 2
    finally:
        portal.call(ingest.stop)
        # A clean-session connect with the same id ends the persistent session the ingest left.
        mqtt_publish.single("andon-test/forget", b"", hostname=host, port=port, client_id=client_id)


def _async(function: Any) -> Any:
    """The portal runs coroutine functions in the app's loop; ingest state belongs to that loop."""

    async def call() -> Any:
        return function()

    return call


@pytest.fixture(autouse=True)
def _no_leftover_marks(tenant: Tenant) -> Iterator[None]:
    yield
    assert tenant.client.portal is not None
    tenant.client.portal.call(_clear_marks)


async def _clear_marks() -> None:
    await IngestMark.all().delete()
