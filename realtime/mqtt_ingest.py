"""MQTT signal ingestion: `busroot/v2/{accountId}/signals/{stationCode}`, QoS 1, applied in batches.

A fixed client id with a persistent session (clean_session False) keeps QoS 1 messages at the broker
while the gateway is away. Messages are acknowledged only after the batch holding them has committed,
so a crash before the commit loses nothing: the broker delivers the unacknowledged messages again.
aiomqtt does not expose manual acknowledgement; its paho client does (`manual_ack_set`, `ack`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomqtt
import orjson
from pydantic import ValidationError

from models.timefmt import utc_now
from realtime.mqtt_reader import BulkReader
from realtime.station_directory import StationDirectory
from resolvers.signal_input import SignalIn, check_moment
from resolvers.signal_stats import STATS, DropKind, SignalStats
from resolvers.signals import Signal, apply_signals

log = logging.getLogger(__name__)

TOPIC = "busroot/v2/+/signals/+"
SHARE_GROUP = "andon"
_TOPIC_RE = re.compile(r"^busroot/v2/([a-z0-9][a-z0-9-]{0,39})/signals/([a-zA-Z0-9_-]{1,32})$")
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 30.0
# No message for this long while some wait: the broker is likely waiting for acknowledgements.
IDLE_GAP_SECONDS = 0.05
# A batch this slow is most of the publish-to-window lag budget: worth a line in the log.
SLOW_BATCH_SECONDS = 0.5
# Messages taken from the queue at once before yielding to the flusher and the rest of the gateway.
DRAIN_MAX = 100


@dataclass(frozen=True, slots=True)
class MqttOptions:
    url: str
    client_id: str
    shared: bool = False
    flush_seconds: float = 0.25
    batch_max: int = 5000
    max_payload_bytes: int = 64 * 1024

    @property
    def subscription(self) -> str:
        return f"$share/{SHARE_GROUP}/{TOPIC}" if self.shared else TOPIC


class MqttIngest:
    """Subscribes, validates each message, and applies them in batches (one transaction per batch)."""

    def __init__(self, options: MqttOptions, stats: SignalStats = STATS) -> None:
        self.options = options
        self.stats = stats
        self.state = "starting"
        self._directory = StationDirectory()
        self._pending: list[tuple[Signal, int]] = []  # the signal and its MQTT message id (0: QoS 0)
        self._client: aiomqtt.Client | None = None
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._first_pending = self._last_received = 0.0
        # Wall-clock receipt bounds for the watermark (see behind_since).
        self._queue_since = self._pending_since = 0.0
        self._applying_since: float | None = None
        self._reader: BulkReader | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="mqtt-ingest")

    def behind_since(self) -> datetime | None:
        """Receipt time of the oldest message received but not yet committed (None: none held).
        Detection judges no station past it (resolvers/ingest_marks.py)."""
        held = []
        if self._applying_since is not None:
            held.append(self._applying_since)
        if self._pending:
            held.append(self._pending_since)
        client, reader = self._client, self._reader
        if client is not None and client._queue.qsize():
            held.append(self._queue_since)
        if client is not None and reader is not None and reader.buffered_since is not None:
            held.append(reader.buffered_since)  # bytes read from the socket, not parsed yet
        return datetime.fromtimestamp(min(held), UTC) if held else None

    async def wait_connected(self, timeout: float) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def stop(self) -> None:
        """Apply and acknowledge what was received, then disconnect (the session stays at the broker)."""
        if self._task is None:
            return
        async with self._lock:
            await self._flush_locked()
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def _new_client(self) -> aiomqtt.Client:
        parts = urlsplit(self.options.url)
        client = aiomqtt.Client(
            hostname=parts.hostname or "127.0.0.1",
            port=parts.port or (8883 if parts.scheme == "mqtts" else 1883),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            identifier=self.options.client_id,
            clean_session=False,
            tls_params=aiomqtt.TLSParameters() if parts.scheme == "mqtts" else None,
            timeout=10,
        )
        # Before connecting: a persistent session delivers its queued messages right after CONNACK.
        client._client.manual_ack_set(True)  # aiomqtt has no public manual-ack switch
        self._stamp_arrivals(client)
        return client

    def _stamp_arrivals(self, client: aiomqtt.Client) -> None:
        """Note when aiomqtt's queue goes from empty to holding messages: every message in it arrived
        since then. Wraps paho's message callback, which aiomqtt set to queue the message."""
        paho = client._client
        queue_message = paho.on_message

        def on_message(paho_client: Any, userdata: Any, message: Any) -> None:
            if not client._queue.qsize():
                self._queue_since = time.time()
            queue_message(paho_client, userdata, message)  # type: ignore[misc]

        paho.on_message = on_message

    async def _run(self) -> None:
        backoff = BACKOFF_FIRST
        while True:
            try:
                async with self._new_client() as client:
                    self._reader = BulkReader(client)
                    self._reader.install()
                    self._client = client
                    await client.subscribe(self.options.subscription, qos=1)
                    self.state = "ok"
                    self._connected.set()
                    backoff = BACKOFF_FIRST
                    log.info(
                        "MQTT: subscribed to %s as %s", self.options.subscription, self.options.client_id
                    )
                    flusher = asyncio.create_task(self._flush_every())
                    try:
                        async for message in client.messages:
                            await self._receive(message)
                            await self._drain(client)
                    finally:
                        flusher.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await flusher
            except aiomqtt.MqttError as exc:
                self.state = f"error: {exc}"
                log.warning("MQTT: connection lost (%s); reconnecting in %.1f s", exc, backoff)
            except Exception as exc:  # e.g. the database away while resolving a station: never stop ingesting
                self.state = f"error: {type(exc).__name__}: {exc}"
                log.exception("MQTT: ingestion failed; reconnecting in %.1f s", backoff)
            finally:
                self._client = self._reader = None
                self._connected.clear()
                # Unacknowledged messages come again with the session: applying them now would count twice.
                self._pending.clear()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)

    async def _drain(self, client: aiomqtt.Client) -> None:
        """Take what is already queued without aiomqtt's per-message task and wait (a third of the
        per-message cost under load); the iterator above still does the blocking wait, which notices
        a lost connection."""
        queue = client._queue  # aiomqtt's own incoming queue
        for _ in range(min(queue.qsize(), DRAIN_MAX)):
            await self._receive(queue.get_nowait())

    async def _flush_every(self) -> None:
        """Flush after flush_seconds, or sooner once messages stop coming: the broker sends at most
        max_inflight_messages unacknowledged ones (Mosquitto: 20 by default), then waits for our acks."""
        gap = min(IDLE_GAP_SECONDS, self.options.flush_seconds)
        while True:
            await asyncio.sleep(gap)
            if not self._pending:
                continue
            now = time.monotonic()
            if now - self._first_pending >= self.options.flush_seconds or now - self._last_received >= gap:
                async with self._lock:
                    await self._flush_locked()

    async def _flush_locked(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        self._applying_since = self._pending_since
        started = time.monotonic()
        try:
            await apply_signals([signal for signal, _ in batch])
        except Exception:
            # Not acknowledged: the broker delivers these again after a reconnect. Reconnect now.
            log.exception("MQTT: applying %d signals failed; they stay unacknowledged", len(batch))
            if self._client is not None:
                self._client._client.disconnect()  # forces redelivery via the session
            return
        finally:
            self._applying_since = None
        took = time.monotonic() - started
        if took >= SLOW_BATCH_SECONDS:
            log.warning("MQTT: applying %d signals took %.2f s", len(batch), took)
        for _, mid in batch:
            self._ack(mid)

    def _ack(self, mid: int) -> None:
        if mid and self._client is not None:
            self._client._client.ack(mid, 1)  # see the module docstring

    async def _receive(self, message: aiomqtt.Message) -> None:
        mid = message.mid if message.qos > 0 else 0
        signal = await self._parse(message)
        if signal is None:
            self._ack(mid)  # dropped for good: redelivery would not make it valid
            return
        self._last_received = time.monotonic()
        if not self._pending:
            self._first_pending = self._last_received
            # It arrived while the queue held messages since _queue_since (set on every arrival
            # into an empty queue, so before this message's).
            self._pending_since = self._queue_since
        self._pending.append((signal, mid))
        if len(self._pending) >= self.options.batch_max:
            async with self._lock:
                await self._flush_locked()

    async def _parse(self, message: aiomqtt.Message) -> Signal | None:
        topic = message.topic.value
        match = _TOPIC_RE.match(topic)
        if match is None:
            self.stats.drop("bad_topic", topic[:120], "not busroot/v2/{accountId}/signals/{stationCode}")
            return None
        account_id, code = match.groups()
        where = f"{account_id}/{code}"
        payload = message.payload
        if not isinstance(payload, bytes | bytearray):
            payload = str(payload).encode()
        if len(payload) > self.options.max_payload_bytes:
            self.stats.drop("too_large", where, f"{len(payload)} bytes")
            return None
        station = await self._directory.resolve(account_id, code)
        if isinstance(station, str):
            self.stats.drop(station, where, "not in this gateway's accounts")
            return None
        return self._validated(account_id, station, where, bytes(payload))

    def _validated(self, account_id: str, station_id: int, where: str, payload: bytes) -> Signal | None:
        try:
            decoded = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            self.stats.drop("malformed", where, str(exc))
            return None
        if not isinstance(decoded, dict):
            self.stats.drop("malformed", where, "not a JSON object")
            return None
        try:
            data = SignalIn.model_validate(decoded)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            unknown = any(e["type"] == "extra_forbidden" for e in errors)
            kind: DropKind = "unknown_key" if unknown else "wrong_type"
            fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors)
            self.stats.drop(kind, where, fields)
            return None
        now = utc_now()
        at = data.moment(now)
        problem = check_moment(at, now)
        if problem:
            self.stats.drop("bad_timestamp", where, f"timestamp {problem}")
            return None
        return Signal(account_id, station_id, at, data)
