"""Ingestion watermarks: detection never judges a station past a message some instance holds unapplied."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.publish as mqtt_publish
import pytest

import realtime.mqtt_ingest as mqtt_ingest
from models.signals import IngestMark
from realtime.mqtt_ingest import MqttIngest, MqttOptions
from resolvers.signals import Signal
from tests.conftest import Tenant
from tests.services import service_url
from tests.test_detection import _ongoing, _parse, _poll, _signal, _station

THRESHOLD = 1.5  # 1 s cycle x 1.5


def _mark(tenant: Tenant, behind_since: datetime | None, seen_ago: float = 0.0) -> None:
    """Another instance's watermark row, as its ingest ticker writes it."""

    async def write() -> None:
        seen_at = datetime.now(UTC) - timedelta(seconds=seen_ago)
        await IngestMark.update_or_create(
            instance="other-instance", defaults={"behind_since": behind_since, "seen_at": seen_at}
        )

    assert tenant.client.portal is not None
    tenant.client.portal.call(write)


def test_another_instance_holding_messages_unapplied_holds_detection_back(tenant: Tenant) -> None:
    _station(tenant, cycleTime=1, downtimeDetectionMode="production-cycle")
    _signal(tenant, production_complete_good=1)
    last_output = datetime.now(UTC)
    # The other instance received the station's next message 0.2 s after this output, not applied yet.
    behind = last_output + timedelta(milliseconds=200)
    deadline = time.monotonic() + THRESHOLD + 2.0
    while time.monotonic() < deadline:
        _mark(tenant, behind)  # kept fresh, as a live instance does every tick
        assert _ongoing(tenant) == [], "a stop judged past a message still waiting to be applied"
        time.sleep(0.2)
    # It caught up and the message held no output: the stop opens at once, from the last output.
    _mark(tenant, None)
    [stop] = _poll(lambda: _ongoing(tenant), bool, 2.0)
    assert abs((_parse(stop["startAt"]) - last_output).total_seconds()) <= 1.0


def test_the_mark_of_an_instance_gone_silent_is_ignored(tenant: Tenant) -> None:
    _station(tenant, cycleTime=1, downtimeDetectionMode="production-cycle")
    _signal(tenant, production_complete_good=1)
    # Behind, but not written for longer than the lease lifetime: that instance is gone.
    _mark(tenant, datetime.now(UTC), seen_ago=600)
    assert _poll(lambda: _ongoing(tenant), bool, THRESHOLD + 2.0), "a dead instance's mark held detection"


@pytest.fixture
def broker_url() -> str:
    return service_url("ANDON_TEST_MQTT_URL")


def test_mqtt_ingest_reports_what_it_holds_unapplied_until_it_commits(
    tenant: Tenant, broker_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against Mosquitto: a message received while its batch cannot commit keeps the watermark at its
    receipt; once committed the ingest holds nothing. (The slow commit is the fault injected.)"""
    _station(tenant, code="W1")
    portal = tenant.client.portal
    assert portal is not None
    gate: dict[str, Any] = {}
    apply_real = mqtt_ingest.apply_signals

    async def slow_apply(signals: Sequence[Signal]) -> int:
        await gate["open"].wait()
        return await apply_real(signals)

    monkeypatch.setattr(mqtt_ingest, "apply_signals", slow_apply)
    client_id = f"andon-mark-{uuid.uuid4().hex[:8]}"
    ingest = MqttIngest(MqttOptions(url=broker_url, client_id=client_id))
    parts = urlsplit(broker_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 1883

    async def start() -> None:
        gate["open"] = asyncio.Event()
        ingest.start()
        await ingest.wait_connected(10)

    portal.call(start)
    try:
        assert portal.call(_async(ingest.behind_since)) is None
        sent = datetime.now(UTC)
        topic = f"busroot/v2/{tenant.account_id}/signals/W1"
        mqtt_publish.single(topic, b'{"production_complete_good": 2}', qos=1, hostname=host, port=port)
        held = _poll(lambda: portal.call(_async(ingest.behind_since)), lambda m: m is not None, 5.0)
        assert held is not None, "a received, unapplied message is not in the watermark"
        assert sent - timedelta(seconds=1) <= held <= datetime.now(UTC)
        time.sleep(0.6)  # flushes are due, but the commit waits: still held, same receipt time
        assert portal.call(_async(ingest.behind_since)) == held
        portal.call(_async(gate["open"].set))
        assert _poll(lambda: portal.call(_async(ingest.behind_since)), lambda m: m is None, 5.0) is None
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
