"""Outbox retention: delivered and refused emails are deleted once they are older than the retention.

An outbox row is also what keeps its email from being written twice (unique on kind, subject and
recipient), so only rows that can never be written again go: those of issues that have ended (every
email of an ongoing issue, reminders included, may still be due) and plant daily summaries (only the
current plant day's summary is ever written). Rows still waiting to be sent are never deleted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise.expressions import Q

from models.outbox import KIND_DAILY_SUMMARY, OutboxMessage

# Rows deleted per statement: on SQLite a statement holds the one connection, so a first pruning of
# a large table goes in short steps that signal batches can run between.
CHUNK = 1000


async def prune_outbox(*, now: datetime, keep: timedelta) -> int:
    """Delete sent or refused emails settled before `now - keep`; returns how many were deleted."""
    cutoff = now - keep
    settled = Q(sent_at__lt=cutoff) | Q(failed_at__lt=cutoff)
    final = Q(kind=KIND_DAILY_SUMMARY) | Q(issue__end_at__isnull=False)
    deleted = 0
    while True:
        ids = await OutboxMessage.filter(settled, final).limit(CHUNK).values_list("id", flat=True)
        if not ids:
            return deleted
        deleted += await OutboxMessage.filter(id__in=list(ids)).delete()
        if len(ids) < CHUNK:
            return deleted
