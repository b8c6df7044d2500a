"""The per-account issue revision: stamped on every issue change, the position subscriptions resume from."""

from __future__ import annotations

from tortoise.expressions import F

from models.tenancy import Account


async def next_revision(account_id: str) -> int:
    """Call inside the change's transaction: the account row stays locked until it commits (Postgres),
    so revisions commit in increasing order."""
    await Account.filter(id=account_id).update(revision=F("revision") + 1)
    # The row exists: the caller is authenticated into this account.
    [value] = await Account.filter(id=account_id).values_list("revision", flat=True)
    return int(value)  # type: ignore[call-overload]  # flat values_list yields the column values
