"""Dead letters: MQTT messages acknowledged without being applied, kept (bounded) for the account's admins.

Only messages whose topic names a known account are stored; the rest are only counted, since anyone who
can reach the broker may publish any topic. Each account keeps its newest PER_ACCOUNT_MAX, the whole
table its newest TOTAL_MAX, and each keeps the payload's first PAYLOAD_KEPT bytes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from tortoise import connections
from tortoise.queryset import QuerySet

from models.dead_letters import DeadLetter
from models.roles import Role
from models.tenancy import Account
from models.timefmt import iso_ms
from resolvers.common.actor import Actor
from resolvers.common.config_views import View
from resolvers.signals.stats import DropKind

log = logging.getLogger(__name__)

PAYLOAD_KEPT = 1024
PER_ACCOUNT_MAX = 1000
TOTAL_MAX = 100_000
DETAIL_CHARS = 300
MAX_LIMIT = 1000
# How long `SELECT 1` may take before the database counts as down.
PROBE_SECONDS = 5.0


@dataclass(slots=True)  # not frozen: one is made per message received, and a frozen __init__ is slow
class Rejected:
    """A message set aside: where it came from, why, and its first bytes."""

    account_id: str | None  # None: no known account (only counted)
    topic: str
    reason: DropKind
    detail: str
    received_at: datetime
    payload: bytes
    payload_bytes: int

    @classmethod
    def of(
        cls,
        account_id: str | None,
        topic: str,
        reason: DropKind,
        detail: str,
        received_at: datetime,
        payload: bytes,
    ) -> Rejected:
        return cls(
            account_id,
            _storable(topic)[:120],
            reason,
            _storable(detail)[:DETAIL_CHARS],
            received_at,
            payload[:PAYLOAD_KEPT],
            len(payload),
        )

    def because(self, detail: str) -> Rejected:
        """The same message with another detail."""
        return replace(self, detail=_storable(detail)[:DETAIL_CHARS])


def _storable(text: str) -> str:
    """Text any database column holds: NUL (which Postgres refuses) and unpaired surrogates escaped."""
    if text.isascii() and "\x00" not in text:
        return text  # the common case (every valid topic), without the round trip
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


async def database_answers() -> bool:
    """Whether the database answers `SELECT 1`: tells a message that fails from a database that does."""
    try:
        await asyncio.wait_for(connections.get("default").execute_query("SELECT 1"), PROBE_SECONDS)
    except Exception:  # any failure to answer means: not up
        return False
    return True


async def record_dead_letters(letters: Sequence[Rejected]) -> int:
    """Store those of known accounts and trim to the bounds; returns how many were stored."""
    named = {letter.account_id for letter in letters if letter.account_id}
    if not named:
        return 0
    # An account deleted since its topic was resolved has no rows to hold its letters.
    existing = set(await Account.filter(id__in=named).values_list("id", flat=True))
    rows = [
        DeadLetter(
            account_id=letter.account_id,
            topic=letter.topic,
            reason=letter.reason,
            detail=letter.detail,
            received_at=letter.received_at,
            payload=letter.payload,
            payload_bytes=letter.payload_bytes,
        )
        for letter in letters
        if letter.account_id in existing
    ]
    if rows:
        await _insert(rows)
        for account_id in sorted({str(a) for a in existing}):
            await _trim(DeadLetter.filter(account_id=account_id), PER_ACCOUNT_MAX)
        await _trim(DeadLetter.all(), TOTAL_MAX)
    return len(rows)


async def _insert(rows: list[DeadLetter]) -> None:
    """All at once; if that fails while the database answers, one by one, leaving out a row that cannot
    be stored (it is counted and logged, never retried: a letter must not hold its message back)."""
    try:
        await DeadLetter.bulk_create(rows)
        return
    except Exception:
        if not await database_answers():
            raise
    for row in rows:
        try:
            await row.save()
        except Exception:
            if not await database_answers():
                raise
            log.exception("dead letter of %s (%s) could not be stored", row.topic, row.reason)


async def _trim(query: QuerySet[DeadLetter], keep: int) -> None:
    """Delete all but the newest `keep` rows of `query` (ids grow with time)."""
    cutoff = await query.order_by("-id").offset(keep).limit(1).values_list("id", flat=True)
    if cutoff:
        await query.filter(id__lte=cutoff[0]).delete()


def dead_letter_view(row: DeadLetter) -> View:
    payload = bytes(row.payload)
    return {
        "id": row.id,
        "topic": row.topic,
        "stationCode": row.topic.rsplit("/", 1)[-1],
        "reason": row.reason,
        "detail": row.detail,
        "receivedAt": iso_ms(row.received_at),
        # Text as sent where it is UTF-8; other bytes as \xNN escapes.
        "payload": payload.decode("utf-8", errors="backslashreplace"),
        "payloadBytes": row.payload_bytes,
        "payloadTruncated": row.payload_bytes > len(payload),
    }


async def list_dead_letters(*, actor: Actor, limit: int = 100, before: int | None = None) -> list[View]:
    """The account's dead letters, newest first; `before` (an id) continues after a page's last one."""
    actor.require(Role.ADMIN)
    query = DeadLetter.filter(account_id=actor.account_id)
    if before is not None:
        query = query.filter(id__lt=before)
    rows = await query.order_by("-id").limit(limit)
    return [dead_letter_view(row) for row in rows]
