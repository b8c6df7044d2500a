"""The sender loop: claims due outbox rows, builds and hands over each email, records what happened.

Woken by every issue change on the bus (new rows are written with one) and by the schedulers, and
polls every `poll_seconds` besides, so an email reaches a reachable SMTP server within seconds of its
trigger whichever gateway instance wrote it. While the server is down, rows are retried with an
exponential backoff capped at `retry_max_seconds`; nothing is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from functools import partial

import aiosmtplib

from models.outbox import OutboxMessage
from models.timefmt import utc_now
from notifications.compose import Composer
from notifications.mailer import Mailer, PermanentRefusal
from resolvers.common.changes import Change
from resolvers.common.metrics import OUTBOX_FAILURES
from resolvers.common.outage import database_unreachable
from resolvers.mail.delivery import claim_due, record_failed, record_retry, record_sent, stamp_notified

log = logging.getLogger(__name__)

BATCH = 100
# Longer than a batch can take to send: a row is re-claimed only when its sender has died.
LEASE = timedelta(minutes=5)
# Longest wait between two attempts to record a delivery while the database is away.
RECORD_RETRY_MAX_SECONDS = 5.0


class OutboxSender:
    def __init__(
        self,
        mailer_factory: Callable[[], Mailer],
        *,
        poll_seconds: float = 1.0,
        retry_max_seconds: float = 300,
    ) -> None:
        self._mailer_factory = mailer_factory
        self._poll = poll_seconds
        self._retry_max = retry_max_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Monotonic instant of the first of the consecutive failures to reach the mail server (connect
        # or a broken connection), None once it takes emails again: /api/health reads it.
        self.failing_since: float | None = None

    def wake(self) -> None:
        self._wake.set()

    async def on_change(self, change: Change) -> None:
        if change.kind == "issue":
            self.wake()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-sender")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                if await self.deliver_due() >= BATCH:
                    continue  # a full batch: more may be due right now
            except Exception:
                log.exception("outbox sender failed; retrying in %.1f s", self._poll)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)

    async def deliver_due(self, refs: Sequence[str] | None = None) -> int:
        """Claim one batch of due emails and send it; returns how many rows were claimed."""
        now = utc_now()
        rows = await claim_due(now=now, limit=BATCH, lease=LEASE, refs=refs)
        if rows:
            await self._send_batch(rows)
        return len(rows)

    async def _send_batch(self, rows: list[OutboxMessage]) -> None:
        mailer = self._mailer_factory()
        try:
            await mailer.open()
        except Exception as exc:
            log.warning("mail server unreachable (%s); %d email(s) wait for a retry", exc, len(rows))
            self._failed(len(rows))
            for row in rows:
                await self._recorded(
                    partial(
                        record_retry, row, error=f"connect: {exc}", now=utc_now(), max_delay=self._retry_max
                    )
                )
            return
        self.failing_since = None  # reached and signed in: the server takes emails again
        sent: list[OutboxMessage] = []
        composer = Composer(utc_now())
        try:
            for index, row in enumerate(rows):
                if not await self._send_one(mailer, composer, row):
                    # The connection is gone: the rest of the batch waits for the next attempt.
                    self._failed(0)
                    for rest in rows[index + 1 :]:
                        await self._recorded(
                            partial(
                                record_retry,
                                rest,
                                error="connection lost",
                                now=utc_now(),
                                max_delay=self._retry_max,
                            )
                        )
                    break
                if row.sent_at is not None:
                    sent.append(row)
        finally:
            await mailer.close()
        if sent:
            await self._recorded(partial(stamp_notified, sent, now=utc_now()))

    def _failed(self, attempts: int) -> None:
        OUTBOX_FAILURES.inc(attempts)
        if self.failing_since is None:
            self.failing_since = time.monotonic()

    async def _send_one(self, mailer: Mailer, composer: Composer, row: OutboxMessage) -> bool:
        """Send one row and record the outcome; False when the connection broke (stop the batch)."""
        try:
            message = await composer.compose(row)
        except Exception as exc:
            log.exception("cannot build email %s (%s to %s)", row.id, row.kind, row.recipient)
            OUTBOX_FAILURES.inc()
            await self._recorded(
                partial(record_retry, row, error=f"compose: {exc}", now=utc_now(), max_delay=self._retry_max)
            )
            return True
        try:
            await mailer.send(message, recipient=row.recipient, name=f"{row.id:08d}-{row.kind}")
        except PermanentRefusal as exc:
            log.warning("email %s to %s refused for good: %s", row.id, row.recipient, exc)
            OUTBOX_FAILURES.inc()
            await self._recorded(partial(record_failed, row, error=str(exc), now=utc_now()))
            return True
        except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused) as exc:
            # A temporary refusal of this email (4xx): the connection is still good for the others.
            log.warning("email %s to %s deferred by the server (%s); will retry", row.id, row.recipient, exc)
            OUTBOX_FAILURES.inc()
            await self._recorded(
                partial(record_retry, row, error=str(exc), now=utc_now(), max_delay=self._retry_max)
            )
            return True
        except Exception as exc:
            log.warning("email %s to %s not sent (%s); will retry", row.id, row.recipient, exc)
            OUTBOX_FAILURES.inc()
            await self._recorded(
                partial(record_retry, row, error=str(exc), now=utc_now(), max_delay=self._retry_max)
            )
            return False
        row.sent_at = utc_now()
        await self._recorded(partial(record_sent, [row.id], now=row.sent_at))
        return True

    async def _recorded(self, write: Callable[[], Awaitable[None]]) -> None:
        """Write a delivery outcome, waiting out a database outage. An email the server accepted but not
        recorded as sent would otherwise stay claimed for LEASE and then go out a second time (and the
        rest of its batch wait LEASE)."""
        delay = self._poll
        while True:
            try:
                await write()
                return
            except Exception as exc:
                if not database_unreachable(exc):
                    raise
                log.warning(
                    "database unreachable (%s); recording an email's delivery again in %.1f s", exc, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECORD_RETRY_MAX_SECONDS)
