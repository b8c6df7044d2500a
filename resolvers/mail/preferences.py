"""Notification preferences: the caller's own, for every station group of the account (SPEC section 9)."""

from __future__ import annotations

from collections.abc import Sequence

from tortoise.transactions import in_transaction

from models.notifications import NotificationPreference
from models.roles import Role
from models.tenancy import StationGroup
from resolvers.common.actor import Actor
from resolvers.common.bodies import PreferenceIn
from resolvers.common.config_views import View
from resolvers.common.errors import invalid

NONE = ["none"]


def _user_id(actor: Actor) -> int:
    if actor.user_id is None:
        raise invalid(
            None, "notification preferences belong to a user: use a user's API key, not an access code"
        )
    return actor.user_id


async def list_preferences(*, actor: Actor) -> list[View]:
    """One row per station group, ordered by code; a group without a stored choice reads ['none']."""
    actor.require(Role.READ_ONLY)
    user_id = _user_id(actor)
    groups = await StationGroup.filter(account_id=actor.account_id).order_by("code")
    stored = {p.group_id: p.kinds for p in await NotificationPreference.filter(user_id=user_id)}
    return [
        {
            "preference": stored.get(g.id) or NONE,
            "stationGroupCode": g.code,
            "stationGroupName": g.name,
            "userId": user_id,
            "userEmail": actor.email,
        }
        for g in groups
    ]


async def set_preferences(*, actor: Actor, items: Sequence[PreferenceIn]) -> list[View]:
    """Set the caller's choices for the groups given (others unchanged); answers every group."""
    actor.require(Role.MEMBER)
    user_id = _user_id(actor)
    codes = [item.stationGroupCode for item in items]
    groups = {g.code: g for g in await StationGroup.filter(account_id=actor.account_id, code__in=codes)}
    for index, item in enumerate(items):
        if item.stationGroupCode not in groups:
            raise invalid(
                f"{index}.stationGroupCode", f"no station group {item.stationGroupCode!r} in this account"
            )
    async with in_transaction():
        for item in items:
            await NotificationPreference.update_or_create(
                defaults={"kinds": item.preference, "account_id": actor.account_id},
                user_id=user_id,
                group_id=groups[item.stationGroupCode].id,
            )
    return await list_preferences(actor=actor)
