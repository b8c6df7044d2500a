"""Reading MQTT packets in bulk for aiomqtt's paho client.

aiomqtt calls paho's `loop_read()` once each time the socket is readable, and paho reads one packet
per call with three or more `recv` system calls (command byte, length bytes, body). Under load that
leaves most of the backlog in the kernel and at the broker, where nothing in the gateway can see it:
the ingestion watermark (resolvers/ingest_marks.py) would call a station silent whose next output is
already on its way. This reader takes up to CHUNK bytes per readiness with one `recv` and lets paho
parse every complete packet from that buffer at once, so what has arrived waits in aiomqtt's queue,
where the watermark counts it; it also spends less CPU per message.

It swaps two private hooks (paho's `_sock_recv`, aiomqtt's socket reader); `install` must run once the
client is connected, and a new client (every reconnect) needs a new reader.
"""

from __future__ import annotations

import asyncio
import ssl

import aiomqtt
from paho.mqtt.enums import MQTTErrorCode

# One readiness reads at most this much: ~650 signal messages, a few milliseconds of parsing, so the
# event loop stays responsive while a backlog is drained.
CHUNK = 8 * 1024


class BulkReader:
    def __init__(self, client: aiomqtt.Client) -> None:
        self._client = client
        self._paho = client._client
        self._buffer = bytearray()
        self._position = 0
        self._eof = False

    def install(self) -> None:
        sock = self._paho.socket()
        if sock is None:
            return  # not connected: aiomqtt's own reader stays
        loop = asyncio.get_running_loop()
        loop.remove_reader(sock.fileno())
        self._paho._sock_recv = self._recv  # type: ignore[method-assign,assignment]
        loop.add_reader(sock.fileno(), self._on_readable)

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

    def _fill(self) -> None:
        sock = self._paho._sock
        if sock is None:
            return
        if self._position:
            del self._buffer[: self._position]
            self._position = 0
        while True:
            try:
                data = sock.recv(CHUNK)
            except (BlockingIOError, InterruptedError, ssl.SSLWantReadError):
                return
            if not data:
                self._eof = True
                return
            self._buffer += data
            # TLS may hold decrypted bytes the readiness of the socket no longer shows.
            pending = getattr(sock, "pending", None)
            if pending is None or not pending():
                return

    def _on_readable(self) -> None:
        try:
            self._fill()
            while self._eof or self._position < len(self._buffer):
                # One packet per call; an empty buffer ends the loop (or, after EOF, paho's
                # connection-lost handling, which aiomqtt turns into MqttError).
                if self._paho.loop_read() != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    return
        except Exception as exc:  # as aiomqtt's own reader: a broken connection ends the client
            disconnected = self._client._disconnected
            if not disconnected.done():
                disconnected.set_exception(exc)
