"""Fan-out of committed changes to live subscriptions, per account, with bounded queues."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable

from resolvers.common.changes import Change

log = logging.getLogger(__name__)

QUEUE_LIMIT = 256
# Sent to every listener when the bus comes back after a disconnect: changes may have been missed,
# so subscribers re-read the change log from their last revision.
RESYNC = Change("issue", "*", None, None)


class Listener:
    """One subscription's inbox. When it overflows the subscriber is too slow and is cut off."""

    def __init__(self, hub: ChangeHub, account_id: str, on_overflow: Callable[[], None] | None) -> None:
        self.account_id = account_id
        self.queue: asyncio.Queue[Change] = asyncio.Queue(QUEUE_LIMIT)
        self._hub = hub
        self._on_overflow = on_overflow
        self.overflowed = False

    def offer(self, change: Change) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(change)
        except asyncio.QueueFull:
            if self._on_overflow is None:
                # No socket to cut off (a shared feed): forget the backlog and re-read from the log.
                while not self.queue.empty():
                    self.queue.get_nowait()
                self.queue.put_nowait(RESYNC)
                return
            self.overflowed = True
            log.warning(
                "a subscriber of account %s fell %d changes behind; closing it", self.account_id, QUEUE_LIMIT
            )
            self._on_overflow()

    async def next(self) -> Change:
        return await self.queue.get()

    def close(self) -> None:
        self._hub.remove(self)


class ChangeHub:
    """Subscribed to the bus once; hands every change to the listeners of its account."""

    def __init__(self) -> None:
        self._listeners: dict[str, set[Listener]] = defaultdict(set)

    def listen(self, account_id: str, on_overflow: Callable[[], None] | None) -> Listener:
        listener = Listener(self, account_id, on_overflow)
        self._listeners[account_id].add(listener)
        return listener

    def remove(self, listener: Listener) -> None:
        listeners = self._listeners.get(listener.account_id)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self._listeners[listener.account_id]

    async def on_change(self, change: Change) -> None:
        for listener in list(self._listeners.get(change.account_id, ())):
            listener.offer(change)

    def resync(self) -> None:
        """Tell every listener to re-read: the bus may have dropped changes."""
        for listeners in list(self._listeners.values()):
            for listener in list(listeners):
                listener.offer(RESYNC)

    def count(self) -> int:
        return sum(len(ls) for ls in self._listeners.values())
