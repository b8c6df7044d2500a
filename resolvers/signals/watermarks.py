"""Ingestion watermarks: the moment up to which stations can be judged (stopped, offline).

Detection reads applied state. While MQTT ingestion lags, a station whose next output waits unapplied
(in this gateway or in another instance sharing the subscription) would look silent; judging it at
the oldest unapplied message's receipt time instead of the clock keeps such a lag from opening stops.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from models.signals import IngestMark


async def record_mark(*, instance: str, behind_since: datetime | None, now: datetime) -> None:
    """Write this instance's watermark (every instance with MQTT ingestion, every tick)."""
    updated = await IngestMark.filter(instance=instance).update(behind_since=behind_since, seen_at=now)
    if not updated:
        await IngestMark.update_or_create(
            instance=instance, defaults={"behind_since": behind_since, "seen_at": now}
        )


async def forget_mark(instance: str) -> None:
    await IngestMark.filter(instance=instance).delete()


async def judged_until(now: datetime, *, own: datetime | None, instance: str, fresh: timedelta) -> datetime:
    """`now`, or earlier while an instance holds received messages unapplied. Instances silent for
    longer than `fresh` are left out: stopped or cut off, their unacknowledged messages go back to the
    broker and to the instances still running."""
    others = (
        await IngestMark.filter(behind_since__isnull=False, seen_at__gte=now - fresh)
        .exclude(instance=instance)
        .values_list("behind_since", flat=True)
    )
    moments: list[datetime] = [now]
    moments += [m for m in (own, *others) if isinstance(m, datetime)]
    return min(moments)
