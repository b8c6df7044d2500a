"""The demo account `andon demo` creates: a plant, two groups, eight stations, two SKUs, the default
causes and a fresh API key."""

from __future__ import annotations

from models.identity import ApiKey, User
from models.roles import Role
from models.tenancy import Account
from resolvers.accounts import create_account
from resolvers.actor import SYSTEM_ACCOUNT, Actor
from resolvers.api_keys import issue_api_key
from resolvers.catalog import upsert_sku
from resolvers.inputs import NewAccountIn, SkuIn, StationGroupIn, StationIn
from resolvers.plants import upsert_station_group
from resolvers.seed import seed_run
from resolvers.stations import upsert_station

DEMO_ACCOUNT = "demo"
DEMO_DOMAIN = "demo.andon.local"
DEMO_KEY_NAME = "demo key"
_SYSTEM = Actor(account_id=SYSTEM_ACCOUNT, role=Role.ADMIN, via="system")
_WEEKDAY_SHIFTS = [{"weekDay": d, "startHour": 6, "duration": 16} for d in range(5)]
# Assembly runs around the clock (so the demo shows live stops whenever it starts); packing works
# weekday shifts and reads idle outside them.
_LAYOUT = {
    "assembly": ("Assembly", ["ASM-01", "ASM-02", "ASM-03", "ASM-04"], []),
    "packing": ("Packing", ["PCK-01", "PCK-02", "PCK-03", "PCK-04"], _WEEKDAY_SHIFTS),
}
_SKUS = {"WIDGET-A": "Widget A", "WIDGET-B": "Widget B"}


async def ensure_demo_account() -> str:
    """Create the demo layout if missing (idempotent) and return a new API key; older demo keys are revoked."""
    if not await Account.filter(id=DEMO_ACCOUNT).exists():
        await create_account(
            actor=_SYSTEM,
            data=NewAccountIn(
                domain=DEMO_DOMAIN, plantName="Demo Plant", accountId=DEMO_ACCOUNT, timezone="Europe/London"
            ),
        )
    admin = await User.get(account_id=DEMO_ACCOUNT, email=f"admin@{DEMO_DOMAIN}")
    actor = Actor(
        account_id=DEMO_ACCOUNT, role=Role.ADMIN, via="api-key", user_id=admin.id, email=admin.email
    )
    await _layout(actor)
    await ApiKey.filter(account_id=DEMO_ACCOUNT, name=DEMO_KEY_NAME).delete()
    key = await issue_api_key(user=admin, name=DEMO_KEY_NAME, role=None)
    return str(key["apiKey"])


async def _layout(actor: Actor) -> None:
    await seed_run(actor=actor)
    for code, name in _SKUS.items():
        await upsert_sku(actor=actor, data=SkuIn.model_validate({"code": code, "name": name}))
    for group_code, (group_name, stations, shifts) in _LAYOUT.items():
        await upsert_station_group(
            actor=actor,
            data=StationGroupIn.model_validate(
                {"code": group_code, "name": group_name, "plantCode": "demo-plant", "shifts": shifts}
            ),
        )
        for index, code in enumerate(stations):
            await upsert_station(
                actor=actor,
                data=StationIn.model_validate(
                    {
                        "code": code,
                        "name": f"{group_name} {index + 1}",
                        "plantCode": "demo-plant",
                        "groupCode": group_code,
                        # ASM-01 (10 s, a stop after 15 s) is the one the simulator starts stopped.
                        "cycleTime": 10 + 5 * index,
                        "downtimeDetectionMode": "production-cycle",
                        "idleCostPerMinute": 12.5,
                    }
                ),
            )
