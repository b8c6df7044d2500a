"""The demo account `andon demo` creates: the demo plant of resolvers.demo.layout (assembly running around
the clock, so the demo shows live stops whenever it starts; packing on weekday shifts), the default
causes and a fresh API key. The week of history is written by POST /api/admin/seedrun/demo."""

from __future__ import annotations

from models.identity import ApiKey, User
from models.roles import Role
from models.tenancy import Account
from resolvers.catalog.defaults import seed_run
from resolvers.common.actor import SYSTEM_ACCOUNT, Actor
from resolvers.common.bodies import NewAccountIn
from resolvers.demo.layout import demo_layout
from resolvers.identity.accounts import create_account
from resolvers.identity.api_keys import issue_api_key

DEMO_ACCOUNT = "demo"
DEMO_DOMAIN = "demo.andon.local"
DEMO_KEY_NAME = "demo key"
DEMO_PLANT = "demo-plant"
_SYSTEM = Actor(account_id=SYSTEM_ACCOUNT, role=Role.ADMIN, via="system")
GROUP_SHIFTS: dict[str, list[dict[str, float]]] = {"assembly": []}


async def ensure_demo_account() -> str:
    """Create the demo account if missing (idempotent) and return a new API key; older demo keys are revoked."""
    if not await Account.filter(id=DEMO_ACCOUNT).exists():
        await create_account(
            actor=_SYSTEM,
            data=NewAccountIn(
                domain=DEMO_DOMAIN, plantName="Demo Plant", accountId=DEMO_ACCOUNT, timezone="Europe/London"
            ),
        )
    admin = await _admin()
    actor = Actor(
        account_id=DEMO_ACCOUNT, role=Role.ADMIN, via="api-key", user_id=admin.id, email=admin.email
    )
    # The layout now (fast); the week of history comes from POST /api/admin/seedrun/demo once the
    # gateway serves (gateway.cli), before the simulator starts.
    await seed_run(actor=actor)
    await demo_layout(actor=actor, plant_code=DEMO_PLANT, group_shifts=GROUP_SHIFTS)
    await ApiKey.filter(account_id=DEMO_ACCOUNT, name=DEMO_KEY_NAME).delete()
    key = await issue_api_key(user=admin, name=DEMO_KEY_NAME, role=None)
    return str(key["apiKey"])


async def _admin() -> User:
    return await User.get(account_id=DEMO_ACCOUNT, email=f"admin@{DEMO_DOMAIN}")
