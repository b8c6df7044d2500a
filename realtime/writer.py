"""One websocket's outgoing frames: sent in order, never making the caller wait, bounded.

A change is fanned out to thousands of sockets from one loop. Awaiting each socket's send in turn
would let one client that stops reading (its TCP buffer full, so the server's send waits for it)
hold up every socket after it. A task per socket per change would keep them apart but cost a task
switch per delivered frame. So `write` starts the send at once, and only a send that would
actually wait (the peer's buffer is full) is finished by a task of its own while later frames
queue behind it; past `limit` queued frames the socket is given up (`on_overflow`).

Starting the send "at once" means driving the send coroutine's first step directly: when the
transport can take the bytes (nearly always) the coroutine finishes in that step, with no task and
no event-loop round trip: the same cost as the plain broadcast loop it is measured against.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from resolvers.common.metrics import FRAMES_SENT

log = logging.getLogger(__name__)

Send = Callable[[str], Coroutine[Any, Any, None]]

# Frames one socket may have queued behind a send that waits for the peer; a subscriber this far
# behind is cut off (close 1013), and resumes with `since`.
QUEUE_LIMIT = 256


class SocketWriter:
    __slots__ = ("_backlog", "_limit", "_on_overflow", "_send", "_task", "closed")

    def __init__(self, send: Send, on_overflow: Callable[[], None], limit: int = QUEUE_LIMIT) -> None:
        self._send = send
        self._backlog: deque[str] = deque()
        self._task: asyncio.Task[None] | None = None
        self._limit = limit
        self._on_overflow = on_overflow
        self.closed = False

    def write(self, frame: str) -> None:
        if self.closed:
            return
        FRAMES_SENT.inc()  # sent now or queued in order behind a waiting send
        if self._task is not None:  # an earlier send waits for the peer: keep the order
            if len(self._backlog) >= self._limit:
                self.overflow()
                return
            self._backlog.append(frame)
            return
        coro = self._send(frame)
        try:
            waiting_on = coro.send(None)
        except StopIteration:
            return  # sent without waiting: the common case
        except Exception:  # the peer is gone; its receive loop ends the connection
            self.stop()
            return
        self._task = asyncio.ensure_future(self._finish(coro, waiting_on))

    @property
    def queued(self) -> int:
        return len(self._backlog)

    def overflow(self) -> None:
        """The peer is too far behind: send nothing more and let the owner close the socket."""
        if not self.closed:
            self.stop()
            self._on_overflow()

    def stop(self) -> None:
        """Send nothing more (the socket is closing); a send in progress is abandoned."""
        self.closed = True
        self._backlog.clear()
        if self._task is not None:
            self._task.cancel()

    async def _finish(self, coro: Coroutine[Any, Any, None], waiting_on: Any) -> None:
        try:
            await _resume(coro, waiting_on)
            while self._backlog and not self.closed:
                await self._send(self._backlog.popleft())
        except asyncio.CancelledError:
            raise
        except Exception:  # disconnected meanwhile: nothing left to deliver to
            self.closed = True
            self._backlog.clear()
        finally:
            self._task = None


async def _resume(coro: Coroutine[Any, Any, None], waiting_on: Any) -> None:
    """Run `coro` to its end from a suspension point reached outside any task.

    `waiting_on` is what the coroutine yielded: an asyncio future it awaits (or None for a bare
    yield). Once that future is done the coroutine can be resumed, exactly as a task would.
    """
    try:
        while True:
            if waiting_on is None:
                await asyncio.sleep(0)
            else:
                # A task would clear this flag before waiting: the future is the coroutine's own.
                waiting_on._asyncio_future_blocking = False
                await asyncio.wait([waiting_on])  # does not raise the future's error: the coroutine will
            waiting_on = coro.send(None)
    except StopIteration:
        return
    except BaseException:
        coro.close()
        raise
