"""A real SMTP server (aiosmtpd) on a free port of 127.0.0.1 that keeps every email it accepts."""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

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


class SmtpSink:
    """Start, stop and start again on the same port (an outage); `received` keeps (recipient, email)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[tuple[str, EmailMessage]] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def accept(self, recipients: list[str], message: EmailMessage) -> None:
        with self._lock:
            self.received.extend((r, message) for r in recipients)

    def start(self) -> None:
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
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
