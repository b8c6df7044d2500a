"""Creating an account with its first plant, admin user and API key (POST /api/admin/newaccount)."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.codes import slugify
from models.identity import User
from models.roles import Role
from models.tenancy import Account, Plant
from resolvers.common.actor import SYSTEM_ACCOUNT, Actor
from resolvers.common.bodies import NewAccountIn
from resolvers.common.changes import Change, publish
from resolvers.common.config_views import View
from resolvers.common.errors import conflict, forbidden, invalid
from resolvers.identity.api_keys import insert_api_key


async def create_account(*, actor: Actor, data: NewAccountIn) -> View:
    """Only the system key may create accounts."""
    if actor.via != "system" or actor.account_id != SYSTEM_ACCOUNT:
        raise forbidden("creating accounts needs the system key (ANDON_SYSTEM_API_KEY)")
    account_id = data.accountId or slugify(data.domain, 40)
    plant_code = slugify(data.plantName)
    if not account_id:
        raise invalid("domain", "cannot derive an account id from this domain")
    if not plant_code:
        raise invalid("plantName", "needs at least one letter or digit to derive a plant code")
    if await Account.filter(id=account_id).exists():
        raise conflict(f"account {account_id!r} already exists", "accountId")
    if await Account.filter(domain=data.domain).exists():
        raise conflict(f"an account for domain {data.domain!r} already exists", "domain")
    try:
        async with in_transaction():
            await Account.create(id=account_id, domain=data.domain, name=data.domain)
            await Plant.create(
                account_id=account_id, code=plant_code, name=data.plantName, timezone=data.timezone
            )
            admin = await User.create(
                account_id=account_id, email=f"admin@{data.domain}", role=Role.ADMIN.value
            )
            key = await insert_api_key(user=admin, name="initial admin key", role=None)
    except IntegrityError:
        raise conflict(f"account {account_id!r} or domain {data.domain!r} already exists") from None
    await publish(Change("credentials", account_id, key["id"]))
    return {"accountId": account_id, "plantCode": plant_code, "apiKey": key["apiKey"]}
