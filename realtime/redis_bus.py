"""Redis pub/sub between gateway instances, with reconnect and an honest reliability flag."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable

import orjson
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from realtime.bus import Consumer, LocalBus
from resolvers.common.changes import Change

log = logging.getLogger(__name__)

CHANNEL = "andon:changes"
_BACKOFF_START = 0.2
_BACKOFF_MAX = 5.0


class RedisBus:
    """Local consumers hear a change at once; other instances hear it through Redis.

    Redis drops messages while a subscriber is disconnected, so `reliable` is False until the
    subscription is back; consumers that cache (credentials) stop trusting their cache meanwhile.
    """

    def __init__(self, url: str) -> None:
        self._url = url
        self._origin = uuid.uuid4().hex
        self._local = LocalBus()
        self._client: aioredis.Redis | None = None
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self._error: str | None = "connecting"
        self._reconnect_hooks: list[Callable[[], None]] = []
        self._was_connected = False

    def subscribe(self, consumer: Consumer) -> None:
        self._local.subscribe(consumer)

    def unsubscribe(self, consumer: Consumer) -> None:
        self._local.unsubscribe(consumer)

    def on_reconnect(self, hook: Callable[[], None]) -> None:
        self._reconnect_hooks.append(hook)

    async def publish(self, change: Change) -> None:
        await self._local.deliver(change)
        payload = orjson.dumps({"origin": self._origin, "change": change.to_wire()})
        try:
            assert self._client is not None, "RedisBus.start() was not awaited"
            await self._client.publish(CHANNEL, payload)
        except (RedisError, OSError) as exc:
            # The change is committed; other instances resync from the database when Redis returns.
            self._error = f"publish failed: {exc}"
            log.warning("redis publish failed: %s", exc)

    async def start(self) -> None:
        # One retry on a dropped connection: after a Redis restart the pooled connection is stale, and
        # the first publish would otherwise be lost.
        self._client = aioredis.from_url(
            self._url,
            socket_connect_timeout=2,
            socket_timeout=None,
            health_check_interval=10,
            retry=Retry(NoBackoff(), 1),
            retry_on_error=[RedisConnectionError, TimeoutError],
        )
        self._listener = asyncio.create_task(self._listen_forever(), name="redis-bus-listener")
        # Wait briefly so a healthy Redis is in use from the first request; never block start-up on it.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), timeout=2)

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        if self._client is not None:
            await self._client.aclose()

    @property
    def reliable(self) -> bool:
        return self._subscribed.is_set()

    def state(self) -> str:
        return "ok" if self._subscribed.is_set() and self._error is None else (self._error or "down")

    async def _listen_forever(self) -> None:
        delay = _BACKOFF_START
        while True:
            try:
                await self._listen_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure: mark unreliable, back off, reconnect
                self._subscribed.clear()
                self._error = f"disconnected: {exc}"
                log.warning("redis bus disconnected (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _BACKOFF_MAX)
            else:
                delay = _BACKOFF_START

    async def _listen_once(self) -> None:
        assert self._client is not None
        pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(CHANNEL)
            self._subscribed.set()
            self._error = None
            log.info("redis bus subscribed to %s", CHANNEL)
            if self._was_connected:
                for hook in self._reconnect_hooks:
                    hook()
            self._was_connected = True
            while True:
                message = await pubsub.get_message(timeout=30.0)
                if message is not None:
                    await self._receive(message["data"])
        finally:
            self._subscribed.clear()
            with contextlib.suppress(Exception):
                await pubsub.aclose()

    async def _receive(self, data: bytes) -> None:
        try:
            envelope = orjson.loads(data)
            if envelope.get("origin") == self._origin:
                return  # already delivered locally when published
            change = Change.from_wire(envelope["change"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("ignored a malformed bus message: %s", exc)
            return
        await self._local.deliver(change)
