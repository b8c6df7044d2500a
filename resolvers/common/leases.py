"""Named leases: one gateway instance at a time runs a job, another takes over once the lease expires."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from models.signals import Lease


async def hold_lease(*, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease; True while `holder` holds it until now + ttl.

    One conditional UPDATE decides: it matches only when the caller already holds the lease or the
    holder let it expire, so two instances cannot both win (the row lock orders them).
    """
    taken = await Lease.filter(Q(holder=holder) | Q(expires_at__lt=now), name=name).update(
        holder=holder, expires_at=now + ttl
    )
    if taken:
        return True
    if await Lease.exists(name=name):
        return False
    try:
        await Lease.create(name=name, holder=holder, expires_at=now + ttl)
    except IntegrityError:
        return False  # another instance created it first
    return True


async def release_lease(*, name: str, holder: str, now: datetime) -> None:
    """Give the lease up at once (clean shutdown), so another instance need not wait for the expiry."""
    await Lease.filter(name=name, holder=holder).update(expires_at=now - timedelta(seconds=1))


async def lease_holder(*, name: str, now: datetime) -> str | None:
    row = await Lease.get_or_none(name=name)
    return row.holder if row is not None and row.expires_at >= now else None


# An account whose history is being generated (POST /api/admin/seedrun/demo) holds `seed:<hash>`:
# the live timers leave its stations alone until the history reaches the present. The name hashes the
# account id (ids of 40 characters would not fit the name column); the holder carries the account id.
SEEDING_PREFIX = "seed:"


def seeding_lease(account_id: str) -> str:
    return SEEDING_PREFIX + hashlib.sha1(account_id.encode()).hexdigest()[:32]


def seeding_holder(account_id: str) -> str:
    """A holder name for one seeding run of the account."""
    return f"{account_id}/{uuid.uuid4().hex[:12]}"


async def seeding_accounts(*, now: datetime) -> list[str]:
    """Accounts whose history is being written now (their seeding lease has not expired)."""
    holders = await Lease.filter(name__startswith=SEEDING_PREFIX, expires_at__gte=now).values_list(
        "holder", flat=True
    )
    return [str(h).rsplit("/", 1)[0] for h in holders]
