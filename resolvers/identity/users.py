"""Users of an account."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from models.identity import User
from models.roles import Role
from resolvers.common.actor import Actor
from resolvers.common.bodies import UserIn
from resolvers.common.changes import Change, publish
from resolvers.common.config_views import View, user_view
from resolvers.common.errors import conflict, not_found


async def list_users(*, actor: Actor) -> list[View]:
    actor.require(Role.READ_ONLY)
    return [user_view(u) for u in await User.filter(account_id=actor.account_id).order_by("email")]


async def upsert_user(*, actor: Actor, data: UserIn) -> View:
    """Create the user, or change the role of the user with that email."""
    actor.require(Role.ADMIN)
    async with in_transaction():
        user = await User.select_for_update().get_or_none(account_id=actor.account_id, email=data.email)
        if user is None:
            user = await User.create(account_id=actor.account_id, email=data.email, role=data.role)
        elif user.role != data.role:
            if user.role == Role.ADMIN:
                await _keep_an_admin(actor.account_id, user.id)
            user.role = data.role
            await user.save(update_fields=["role", "updated_at"])
    # A role change alters what the user's keys may do.
    await publish(Change("credentials", actor.account_id, user.id))
    return user_view(user)


async def delete_user(*, actor: Actor, user_id: int) -> None:
    actor.require(Role.ADMIN)
    async with in_transaction():
        user = await User.select_for_update().get_or_none(account_id=actor.account_id, id=user_id)
        if user is None:
            raise not_found("user", user_id)
        if user.role == Role.ADMIN:
            await _keep_an_admin(actor.account_id, user.id)
        await user.delete()  # cascades to the user's API keys
    await publish(Change("credentials", actor.account_id, user_id))


async def _keep_an_admin(account_id: str, leaving_id: int) -> None:
    others = await User.filter(account_id=account_id, role=Role.ADMIN).exclude(id=leaving_id).count()
    if others == 0:
        raise conflict("the account's last admin cannot be removed or demoted")
