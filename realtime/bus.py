"""The change bus: resolvers publish committed changes, local consumers receive them.

Two implementations share one interface: LocalBus (one process) and RedisBus (several instances).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from resolvers.common.changes import Change

log = logging.getLogger(__name__)

Consumer = Callable[[Change], Awaitable[None]]


class Bus(Protocol):
    async def publish(self, change: Change) -> None: ...
    def subscribe(self, consumer: Consumer) -> None: ...
    def unsubscribe(self, consumer: Consumer) -> None: ...
    def on_reconnect(self, hook: Callable[[], None]) -> None:
        """`hook` runs whenever delivery resumes after a gap (changes may have been missed)."""
        ...

    async def start(self) -> None: ...
    async def stop(self) -> None: ...

    @property
    def reliable(self) -> bool:
        """True while every change published anywhere reaches this process's consumers."""
        ...

    def state(self) -> str:
        """`ok`, or what is wrong, for /api/health."""
        ...


class LocalBus:
    """Delivers to this process's consumers, in order, right away."""

    def __init__(self) -> None:
        self._consumers: list[Consumer] = []

    def subscribe(self, consumer: Consumer) -> None:
        self._consumers.append(consumer)

    def unsubscribe(self, consumer: Consumer) -> None:
        self._consumers.remove(consumer)

    def on_reconnect(self, hook: Callable[[], None]) -> None:
        return None  # in-process delivery has no gaps

    async def publish(self, change: Change) -> None:
        await self.deliver(change)

    async def deliver(self, change: Change) -> None:
        for consumer in self._consumers:
            try:
                await consumer(change)
            except Exception:
                # One failing consumer must not keep the change from the others.
                log.exception("bus consumer %r failed on %s", consumer, change)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    @property
    def reliable(self) -> bool:
        return True

    def state(self) -> str:
        return "ok"
