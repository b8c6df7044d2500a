"""Reading MQTT packets in bulk for aiomqtt's paho client.

aiomqtt calls paho's `loop_read()` once each time the socket is readable, and paho reads one packet
per call with three or more `recv` system calls (command byte, length bytes, body). Under load that
leaves most of the backlog in the kernel and at the broker, where nothing in the gateway can see it:
the ingestion watermark (resolvers/signals/watermarks.py) would call a station silent whose next output is
already on its way. This reader takes everything the socket holds at each readiness (up to a cap) into
a buffer whose oldest bytes' arrival it reports (`buffered_since`, part of the watermark), and lets
paho parse the packets from it a slice per turn of the event loop; it also spends less CPU per message.

It swaps two private hooks (paho's `_sock_recv`, aiomqtt's socket reader); `install` must run once the
client is connected, and a new client (every reconnect) needs a new reader.
"""

from __future__ import annotations

import asyncio
import ssl
import time

import aiomqtt
from paho.mqtt.enums import MQTTErrorCode

# Socket reads per readiness: everything the kernel holds, in chunks of this size, up to the buffer's cap.
CHUNK = 64 * 1024
# Bytes buffered before the reader pauses until they are parsed (the broker keeps the rest queued).
BUFFER_CAP = 4 * 1024 * 1024
# Packets parsed per turn of the event loop: a backlog is worked through in short slices, so a batch's
# transaction and the HTTP requests get the loop between them.
PACKETS_PER_TURN = 100


class BulkReader:
    def __init__(self, client: aiomqtt.Client) -> None:
        self._client = client
        self._paho = client._client
        self._buffer = bytearray()
        self._position = 0
        self._eof = False
        self._fd = -1
        self._paused = False
        self._parse_scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        # Wall-clock time the oldest bytes still buffered arrived (None: nothing buffered).
        self.buffered_since: float | None = None

    def install(self) -> None:
        sock = self._paho.socket()
        if sock is None:
            return  # not connected: aiomqtt's own reader stays
        self._loop = asyncio.get_running_loop()
        self._fd = sock.fileno()
        self._loop.remove_reader(self._fd)
        self._paho._sock_recv = self._recv  # type: ignore[method-assign,assignment]
        self._loop.add_reader(self._fd, self._on_readable)

    def _recv(self, bufsize: int) -> bytes:
        """paho's socket read, served from the buffer: BlockingIOError when it is empty (paho keeps
        a partly read packet and resumes), b"" once the peer has closed."""
        available = len(self._buffer) - self._position
        if available <= 0:
            if self._eof:
                return b""
            raise BlockingIOError
        end = self._position + min(bufsize, available)
        data = bytes(self._buffer[self._position : end])
        self._position = end
        if end == len(self._buffer):
            self._buffer.clear()
            self._position = 0
        return data

    def _buffered(self) -> int:
        return len(self._buffer) - self._position

    def _fill(self) -> None:
        sock = self._paho._sock
        if sock is None:
            return
        if self._position:
            del self._buffer[: self._position]
            self._position = 0
        was_empty = not self._buffer
        while len(self._buffer) < BUFFER_CAP:
            try:
                data = sock.recv(CHUNK)
            except (BlockingIOError, InterruptedError, ssl.SSLWantReadError):
                break
            if not data:
                self._eof = True
                break
            self._buffer += data
        if was_empty and self._buffer:
            self.buffered_since = time.time()
        if len(self._buffer) >= BUFFER_CAP and self._loop is not None:
            self._loop.remove_reader(self._fd)  # resumed once parsing has made room
            self._paused = True

    def _on_readable(self) -> None:
        try:
            self._fill()
        except Exception as exc:
            self._fail(exc)
            return
        self._parse()

    def _parse(self) -> None:
        self._parse_scheduled = False
        try:
            for _ in range(PACKETS_PER_TURN):
                if not (self._eof or self._buffered()):
                    break
                # One packet per call. After EOF with nothing left, paho's connection-lost handling
                # runs, which aiomqtt turns into MqttError.
                if self._paho.loop_read() != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    return
        except Exception as exc:
            self._fail(exc)
            return
        if not self._buffered():
            # Only a partly received packet (held by paho) or nothing is left.
            self.buffered_since = None
        if self._paused and self._buffered() < BUFFER_CAP // 2 and self._loop is not None:
            self._paused = False
            self._loop.add_reader(self._fd, self._on_readable)
        if self._buffered() and not self._parse_scheduled and self._loop is not None:
            self._parse_scheduled = True
            self._loop.call_soon(self._parse)

    def _fail(self, exc: Exception) -> None:
        """As aiomqtt's own reader: a broken connection ends the client."""
        disconnected = self._client._disconnected
        if not disconnected.done():
            disconnected.set_exception(exc)
