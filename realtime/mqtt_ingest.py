"""MQTT signal ingestion: `busroot/v2/{accountId}/signals/{stationCode}`, QoS 1, applied in batches.

A fixed client id with a persistent session (clean_session False) keeps QoS 1 messages at the broker
while the gateway is away. Messages are acknowledged only after the batch holding them has committed,
so a crash before the commit loses nothing: the broker delivers the unacknowledged messages again.
aiomqtt does not expose manual acknowledgement; its paho client does (`manual_ack_set`, `ack`).

Each message is isolated: one that fails validation is acknowledged and set aside as a dead letter
(resolvers/signals/dead_letters.py); a batch that fails as a whole is applied again message by message, and a
message that fails alone while the database answers is set aside too. Only when the database itself
does not answer does the batch stay unacknowledged (the broker delivers it again: nothing is lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomqtt
from cachetools import TTLCache

from models.timefmt import utc_now
from realtime.mqtt_messages import TOPIC, topic_names, validated
from realtime.mqtt_reader import BulkReader
from realtime.station_directory import StationDirectory
from resolvers.common.metrics import INGEST_LAG, MQTT_APPLIED, MQTT_DEAD_LETTERS, MQTT_RECEIVED
from resolvers.signals.apply import Signal, apply_signals
from resolvers.signals.dead_letters import Rejected, database_answers, record_dead_letters
from resolvers.signals.stats import STATS, DropKind, SignalStats

log = logging.getLogger(__name__)

SHARE_GROUP = "andon"
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 30.0
# No message for this long while some wait: the broker is likely waiting for acknowledgements.
IDLE_GAP_SECONDS = 0.05
# A batch this slow is most of the publish-to-window lag budget: worth a line in the log.
SLOW_BATCH_SECONDS = 0.5
# Messages taken from the queue at once before yielding to the flusher and the rest of the gateway.
DRAIN_MAX = 100
# A message that fails alone is tried once more before it is set aside: a deadlock or a serialisation
# failure against another instance's batch is not the message's fault.
APPLY_ATTEMPTS = 2
# A failure's log line (with its traceback) comes at most once a minute per kind and exception type;
# the counters go on.
LOG_AGAIN_SECONDS = 60.0


class DatabaseDown(Exception):
    """The database does not answer: the messages held stay unacknowledged."""


@dataclass(frozen=True, slots=True)
class _Held:
    """A valid signal waiting for its batch, its MQTT message id (0: QoS 0), and what to keep of it
    should it fail on its own."""

    signal: Signal
    mid: int
    letter: Rejected


@dataclass(frozen=True, slots=True)
class MqttOptions:
    url: str
    client_id: str
    shared: bool = False
    flush_seconds: float = 0.25
    batch_max: int = 5000
    max_payload_bytes: int = 64 * 1024
    # health(): ingestion not connected for this long, or this far behind, is failing.
    unhealthy_after_seconds: float = 30.0
    lag_limit_seconds: float = 60.0

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
        self._pending: list[_Held] = []
        # Messages set aside, acknowledged once their dead letters are stored (with the next flush).
        self._rejected: list[tuple[Rejected, int]] = []
        # Wall-clock time the state left "ok" (or the ingestion started); None while it is "ok".
        self._unhealthy_since: float | None = time.time()
        self._logged: TTLCache[tuple[str, str], bool] = TTLCache(64, LOG_AGAIN_SECONDS)
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
        INGEST_LAG.set_function(lambda: self.lag_seconds(time.time()))

    def lag_seconds(self, now: float) -> float:
        """Seconds since the oldest message held received but not committed arrived (0: none held);
        `now` is wall-clock (time.time())."""
        behind = self.behind_since()
        return max(0.0, now - behind.timestamp()) if behind is not None else 0.0

    def health(self, now: float) -> str | None:
        """None while ingestion works; else the reason it is failing, for /api/health: the connection
        not up (`state` other than "ok") for `unhealthy_after_seconds`, or messages held for longer than
        `lag_limit_seconds` (lag_seconds). `now` is wall-clock (time.time()). Reads memory only."""
        since = self._unhealthy_since
        if since is not None and now - since >= self.options.unhealthy_after_seconds:
            return f"MQTT ingestion {self.state} for {now - since:.0f} s"
        lag = self.lag_seconds(now)
        if lag > self.options.lag_limit_seconds:
            return f"MQTT ingestion {lag:.0f} s behind"
        return None

    def _set_state(self, state: str) -> None:
        if state == "ok":
            self._unhealthy_since = None
        elif self._unhealthy_since is None:
            self._unhealthy_since = time.time()
        self.state = state

    def behind_since(self) -> datetime | None:
        """Receipt time of the oldest message received but not yet committed (None: none held).
        Detection judges no station past it (resolvers/signals/watermarks.py)."""
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
                    self._set_state("ok")
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
                self._set_state(f"error: {exc}")
                log.warning("MQTT: connection lost (%s); reconnecting in %.1f s", exc, backoff)
            except Exception as exc:  # e.g. the database away while resolving a station: never stop ingesting
                self._set_state(f"error: {type(exc).__name__}: {exc}")
                log.exception("MQTT: ingestion failed; reconnecting in %.1f s", backoff)
            finally:
                self._client = self._reader = None
                self._connected.clear()
                # Unacknowledged messages come again with the session: applying them now would count twice.
                self._pending.clear()
                self._rejected.clear()
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
            self.stats.flush()  # the drop summary line is due even when no drop comes after its minute
            if not (self._pending or self._rejected):
                continue
            now = time.monotonic()
            if now - self._first_pending >= self.options.flush_seconds or now - self._last_received >= gap:
                async with self._lock:
                    await self._flush_locked()

    async def _flush_locked(self) -> None:
        if not (self._pending or self._rejected):
            return
        batch, self._pending = self._pending, []
        rejected, self._rejected = self._rejected, []
        self._applying_since = self._pending_since if batch else None
        started = time.monotonic()
        try:
            rejected += await self._apply(batch)
            await record_dead_letters([letter for letter, _ in rejected])
        except Exception:
            # Not acknowledged: the broker delivers these again after a reconnect. Reconnect now.
            log.exception(
                "MQTT: applying or setting aside %d messages failed; they stay unacknowledged",
                len(batch) + len(rejected),
            )
            if self._client is not None:
                self._client._client.disconnect()  # forces redelivery via the session
            return
        finally:
            self._applying_since = None
        took = time.monotonic() - started
        if took >= SLOW_BATCH_SECONDS:
            log.warning("MQTT: applying %d signals took %.2f s", len(batch), took)
        for _, mid in rejected:
            self._ack(mid)

    async def _apply(self, batch: list[_Held]) -> list[tuple[Rejected, int]]:
        """Apply the batch in one transaction, else message by message; acknowledges what was applied and
        answers the messages that failed alone. Raises DatabaseDown (nothing more acknowledged) when the
        database does not answer."""
        if not batch:
            return []
        try:
            await apply_signals([held.signal for held in batch])
        except Exception as exc:
            if not await database_answers():
                raise DatabaseDown from exc
            if self._first_in_a_minute("batch_failed", exc):
                log.warning(
                    "MQTT: a batch failed (%s: %s); applying it message by message", type(exc).__name__, exc
                )
            return await self._one_by_one(batch)
        for held in batch:
            self._ack(held.mid)
        MQTT_APPLIED.inc(len(batch))
        return []

    async def _one_by_one(self, batch: list[_Held]) -> list[tuple[Rejected, int]]:
        failed: list[tuple[Rejected, int]] = []
        for held in batch:
            for attempt in range(APPLY_ATTEMPTS):
                try:
                    await apply_signals([held.signal])
                except Exception as exc:
                    if not await database_answers():
                        raise DatabaseDown from exc
                    if attempt + 1 < APPLY_ATTEMPTS:
                        continue
                    letter = held.letter.because(f"{type(exc).__name__}: {exc}")
                    self._traceback("apply_failed", letter.topic, exc)
                    self._count(letter)
                    failed.append((letter, held.mid))
                else:
                    # Committed: acknowledged even if a later message finds the database down.
                    self._ack(held.mid)
                    MQTT_APPLIED.inc()
                    break
        return failed

    def _ack(self, mid: int) -> None:
        if mid and self._client is not None:
            self._client._client.ack(mid, 1)  # see the module docstring

    def _count(self, letter: Rejected) -> None:
        where = letter.topic.removeprefix("busroot/v2/").replace("/signals/", "/")
        self.stats.drop(letter.reason, where, letter.detail)
        MQTT_DEAD_LETTERS.labels(letter.reason).inc()

    def _first_in_a_minute(self, what: str, exc: BaseException) -> bool:
        """Whether this kind of failure with this exception type was not logged in the last minute."""
        key = (what, type(exc).__name__)
        if key in self._logged:
            return False
        self._logged[key] = True
        return True

    def _traceback(self, reason: str, topic: str, exc: BaseException) -> None:
        """The traceback of an unexpected failure, once a minute per reason and exception type."""
        if self._first_in_a_minute(reason, exc):
            log.error("MQTT: %s for %s (set aside as a dead letter)", reason, topic[:120], exc_info=exc)

    def _reject(self, letter: Rejected, mid: int) -> None:
        """Count the message and set it aside: stored with the next flush when its account is known,
        acknowledged at once otherwise (redelivery would not make it valid)."""
        self._count(letter)
        if letter.account_id is None:
            self._ack(mid)
            return
        self._hold_since()
        self._rejected.append((letter, mid))

    def _hold_since(self) -> None:
        self._last_received = time.monotonic()
        if not (self._pending or self._rejected):
            self._first_pending = self._last_received

    async def _receive(self, message: aiomqtt.Message) -> None:
        MQTT_RECEIVED.inc()
        mid = message.mid if message.qos > 0 else 0
        outcome = await self._parse(message, utc_now())
        if isinstance(outcome, Rejected):
            self._reject(outcome, mid)
        else:
            self._hold(outcome, mid)
        if len(self._pending) + len(self._rejected) >= self.options.batch_max:
            async with self._lock:
                await self._flush_locked()

    def _hold(self, held: tuple[Signal, Rejected], mid: int) -> None:
        if not self._pending:
            # It arrived while the queue held messages since _queue_since (set on every arrival
            # into an empty queue, so before this message's).
            self._pending_since = self._queue_since
        self._hold_since()
        self._pending.append(_Held(held[0], mid, held[1]))

    async def _parse(
        self, message: aiomqtt.Message, received_at: datetime
    ) -> tuple[Signal, Rejected] | Rejected:
        """The signal and what to keep of its message should it fail to apply, or the message set aside.
        Only a database error resolving the station raises (ingestion reconnects: the message comes again)."""
        account_id: str | None = None
        topic, payload = "?", b""

        def reject(reason: DropKind, detail: str) -> Rejected:
            return Rejected.of(account_id, topic, reason, detail, received_at, payload)

        try:
            topic = str(message.topic.value)
            raw = message.payload
            payload = bytes(raw) if isinstance(raw, bytes | bytearray) else str(raw).encode()
            named = topic_names(topic)
            if named is None:
                return reject("bad_topic", "not busroot/v2/{accountId}/signals/{stationCode}")
            named_account, code = named
        except Exception as exc:  # never out of _receive: one message must not stop the others
            self._traceback("internal", topic, exc)
            return reject("internal", f"{type(exc).__name__}: {exc}")
        try:
            station = await self._directory.resolve(named_account, code)
        except Exception as exc:
            if not await database_answers():
                raise DatabaseDown from exc  # ingestion reconnects: the message comes again
            self._traceback("internal", topic, exc)
            return reject("internal", f"{type(exc).__name__}: {exc}")
        if station != "unknown_account":
            account_id = named_account
        try:
            if len(payload) > self.options.max_payload_bytes:
                return reject("too_large", f"{len(payload)} bytes")
            if isinstance(station, str):
                return reject(station, "not in this gateway's accounts")
            signal = validated(named_account, station, payload)
        except Exception as exc:  # as above
            self._traceback("internal", topic, exc)
            return reject("internal", f"{type(exc).__name__}: {exc}")
        if isinstance(signal, tuple):
            return reject(*signal)
        return signal, reject("apply_failed", "")
