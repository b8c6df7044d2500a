"""API keys: the secret is returned once, only its digest is stored."""

from __future__ import annotations

from models.identity import ApiKey, User
from models.roles import Role, effective, rank
from models.secrets import new_api_key
from resolvers.common.actor import Actor
from resolvers.common.bodies import ApiKeyIn
from resolvers.common.changes import Change, publish
from resolvers.common.config_views import View, api_key_view
from resolvers.common.errors import invalid, not_found


def _view(key: ApiKey) -> View:
    role = effective(Role(key.user.role), Role(key.role) if key.role else None)
    return api_key_view(key, key.user.email, role.value)


async def list_api_keys(*, actor: Actor) -> list[View]:
    """Admins see every key of the account, anyone else only their own."""
    actor.require(Role.READ_ONLY)
    query = ApiKey.filter(account_id=actor.account_id)
    if actor.role is not Role.ADMIN:
        query = query.filter(user_id=actor.user_id)
    return [_view(k) for k in await query.order_by("id").select_related("user")]


async def create_api_key(*, actor: Actor, data: ApiKeyIn) -> View:
    actor.require(Role.ADMIN)
    user = await User.get_or_none(account_id=actor.account_id, id=data.userId)
    if user is None:
        raise invalid("userId", f"no user with id {data.userId} in this account")
    key_role = data.key_role()
    if key_role is not None and key_role is not Role.DEVICE and rank(key_role) > rank(Role(user.role)):
        raise invalid("role", f"a key cannot exceed its user's role ({user.role})")
    return await issue_api_key(user=user, name=data.name, role=key_role)


async def issue_api_key(*, user: User, name: str, role: Role | None) -> View:
    """Create a key for `user`; the view carries the secret in `apiKey`, the only time it is shown."""
    view = await insert_api_key(user=user, name=name, role=role)
    await publish(Change("credentials", view["accountId"], view["id"]))
    return view


async def insert_api_key(*, user: User, name: str, role: Role | None) -> View:
    """The insert alone, for callers that publish after their own transaction commits."""
    secret, secret_hash, prefix = new_api_key()
    key = await ApiKey.create(
        account_id=user.account_id,
        user=user,
        name=name,
        role=role.value if role else None,
        secret_hash=secret_hash,
        prefix=prefix,
    )
    return {**_view(key), "apiKey": secret}


async def delete_api_key(*, actor: Actor, key_id: int) -> None:
    actor.require(Role.ADMIN)
    deleted = await ApiKey.filter(account_id=actor.account_id, id=key_id).delete()
    if not deleted:
        raise not_found("API key", key_id)
    await publish(Change("credentials", actor.account_id, key_id))
