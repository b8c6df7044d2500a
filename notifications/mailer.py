"""Where emails go: an SMTP server (ANDON_SMTP_URL) or, without one, .eml files in a local folder."""

from __future__ import annotations

import os
import tempfile
from email.message import Message
from email.utils import parseaddr
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib

_TIMEOUT = 10.0


class PermanentRefusal(Exception):
    """The server refused this one email for good (5xx): retrying cannot help."""


class Mailer(Protocol):
    async def open(self) -> None:
        """Connect; raises when the destination is unreachable (everything is retried later)."""
        ...

    async def send(self, message: Message, *, recipient: str, name: str) -> None:
        """Hand over one email; PermanentRefusal for a 5xx, any other exception is transient."""
        ...

    async def close(self) -> None: ...


class SmtpMailer:
    """One connection per batch, reused for every email in it."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._tls = parts.scheme == "smtps"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (465 if self._tls else 25)
        self._user = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._client: aiosmtplib.SMTP | None = None

    async def open(self) -> None:
        client = aiosmtplib.SMTP(
            hostname=self._host,
            port=self._port,
            use_tls=self._tls,
            username=self._user,
            password=self._password,
            timeout=_TIMEOUT,
        )
        await client.connect()
        self._client = client

    async def send(self, message: Message, *, recipient: str, name: str) -> None:
        assert self._client is not None, "open() first"
        try:
            # Flattened once here; the envelope sender is the From address.
            await self._client.sendmail(parseaddr(str(message["From"]))[1], [recipient], message.as_bytes())
        except aiosmtplib.SMTPRecipientsRefused as exc:
            if all(r.code >= 500 for r in exc.recipients):
                raise PermanentRefusal(str(exc)) from exc
            raise
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code >= 500:
                raise PermanentRefusal(f"{exc.code} {exc.message}") from exc
            raise

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except aiosmtplib.SMTPException:
                client.close()


class FolderMailer:
    """The embedded default: each email is written to `folder/NAME.eml` (atomically: a reader never sees a
    half-written file, and writing the same email again replaces it)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def open(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)

    async def send(self, message: Message, *, recipient: str, name: str) -> None:
        fd, temp = tempfile.mkstemp(dir=self.folder, prefix=".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(message.as_bytes())
            os.replace(temp, self.folder / f"{name}.eml")
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    async def close(self) -> None:
        return None


def build_mailer(smtp_url: str | None, outbox_dir: Path) -> Mailer:
    return SmtpMailer(smtp_url) if smtp_url else FolderMailer(outbox_dir)
