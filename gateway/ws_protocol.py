"""uvicorn's websocket protocol, with a close that does not wait for a peer that stopped reading.

uvicorn's `websocket.close` first waits until the transport is writable again, like every send. A
client that stops reading keeps the transport's buffer full, so closing it (too slow, credential
revoked) would wait for as long as the client stays connected, and the socket with its buffers
would stay too. Here a close on a paused transport writes the close frame behind the buffered
data at once, and if the peer has not finished the closing handshake `STUCK_CLOSE_SECONDS` later
the connection is aborted instead of waiting for a flush that will not come. The grace is long
enough for a client that was only busy for a while to read what it was sent and the close code
(1013: resume with `since`), short enough that a dead peer's buffers do not stay for hours.
"""

from __future__ import annotations

import asyncio

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

STUCK_CLOSE_SECONDS = 60.0


class GatewayWebSocketProtocol(WebSocketsSansIOProtocol):
    async def send(self, message: ASGISendEvent) -> None:
        stuck = (
            message["type"] == "websocket.close"
            and self.handshake_complete
            and not self.close_sent
            and not self.disconnected
            and not self.writable.is_set()
        )
        if not stuck:
            await super().send(message)
            return
        paused = self.writable
        always = asyncio.Event()
        always.set()
        # Only this close skips the wait; sends already waiting keep waiting on `paused`, and are
        # released by the abort below (connection_lost sets it) as disconnected.
        self.writable = always
        try:
            await super().send(message)
        finally:
            self.writable = paused
        if self.close_timer is not None:
            self.close_timer.cancel()
        self.close_timer = self.loop.call_later(STUCK_CLOSE_SECONDS, self.transport.abort)
