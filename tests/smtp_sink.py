"""A real SMTP server (aiosmtpd) on a free port of 127.0.0.1 that keeps every email it accepts."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from tests.helpers.waiting import poll
from tests.services import free_port


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self._sink.accept([str(r).lower() for r in envelope.rcpt_tos], message)
        return "250 OK"


class _Controller(Controller):
    """Stopping cuts the open client connections too, as a server going down does; aiosmtpd's own stop
    leaves their transports to be collected with the loop (an unclosed-transport warning)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions: list[SMTP] = []

    def factory(self) -> SMTP:
        session: SMTP = super().factory()
        self.sessions.append(session)
        return session

    async def _cut(self) -> None:
        for session in self.sessions:
            if session.transport is not None:
                session.transport.close()
        await asyncio.sleep(0)  # the transports' connection_lost callbacks run

    def stop(self, no_assert: bool = False) -> None:
        if self._thread is not None:
            asyncio.run_coroutine_threadsafe(self._cut(), self.loop).result(5)
        super().stop(no_assert)


class SmtpSink:
    """Start, stop and start again on the same port (an outage); `received` keeps (recipient, email)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[tuple[str, EmailMessage]] = []
        self._lock = threading.Lock()
        self._controller: _Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def accept(self, recipients: list[str], message: EmailMessage) -> None:
        with self._lock:
            self.received.extend((r, message) for r in recipients)

    def start(self) -> None:
        self._controller = _Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, recipient: str) -> list[EmailMessage]:
        with self._lock:
            return [m for r, m in self.received if r == recipient.lower()]

    def to_any(self, suffix: str) -> list[tuple[str, EmailMessage]]:
        """Every email to an address ending with `suffix` (e.g. one test account's domain)."""
        with self._lock:
            return [(r, m) for r, m in self.received if r.endswith(suffix.lower())]

    def wait(self, done: Callable[[], bool], timeout: float) -> bool:
        """Whether `done()` holds within `timeout` seconds."""
        return poll(done, bool, timeout=timeout)


def html_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None, "no HTML part"
    return str(part.get_content())


def text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "no plain-text part"
    return str(part.get_content())
