"""Tablet and LFD access codes: operator role for the account, revoked at once on delete."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from models.identity import AccessCode
from models.roles import Role
from models.secrets import new_access_code, normalise_access_code
from resolvers.common.actor import Actor
from resolvers.common.changes import Change, publish
from resolvers.common.config_views import View, access_code_view
from resolvers.common.errors import not_found


async def list_access_codes(*, actor: Actor) -> list[View]:
    actor.require(Role.ADMIN)
    rows = (
        await AccessCode.filter(account_id=actor.account_id)
        .order_by("created_at")
        .select_related("created_by")
    )
    return [access_code_view(c, c.created_by.email if c.created_by else None) for c in rows]


async def create_access_code(*, actor: Actor) -> View:
    actor.require(Role.ADMIN)
    for _ in range(5):
        try:
            row = await AccessCode.create(
                account_id=actor.account_id, code=new_access_code(), created_by_id=actor.user_id
            )
            break
        except IntegrityError:
            continue  # a collision across all accounts: draw again
    else:
        raise RuntimeError("could not draw a unique access code")
    await publish(Change("credentials", actor.account_id, row.id))
    return {"code": row.code}


async def delete_access_code(*, actor: Actor, code: str) -> None:
    actor.require(Role.ADMIN)
    row = await AccessCode.get_or_none(account_id=actor.account_id, code=normalise_access_code(code))
    if row is None:
        raise not_found("access code", code)
    await row.delete()
    # The row id, not the code: changes travel through Redis and must carry no secret.
    await publish(Change("credentials", actor.account_id, row.id))
