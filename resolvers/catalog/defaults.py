"""POST /api/admin/seedrun: the default cause tree and config for the caller's account (idempotent)."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from models.issues import Cause
from models.roles import Role
from models.settings_store import AccountConfig
from models.tenancy import Account
from resolvers.common.actor import Actor
from resolvers.common.changes import Change, publish

# (code, description, parent code): parents come before their children.
DEFAULT_CAUSES: tuple[tuple[str, str, str | None], ...] = (
    ("mechanical", "Mechanical", None),
    ("mechanical.conveyor", "Conveyor", "mechanical"),
    ("mechanical.conveyor.belt-jam", "Belt jam", "mechanical.conveyor"),
    ("mechanical.conveyor.motor", "Conveyor motor", "mechanical.conveyor"),
    ("mechanical.tooling", "Tooling", "mechanical"),
    ("mechanical.tooling.wear", "Tool wear", "mechanical.tooling"),
    ("mechanical.tooling.breakage", "Tool breakage", "mechanical.tooling"),
    ("electrical", "Electrical", None),
    ("electrical.sensor", "Sensor fault", "electrical"),
    ("electrical.drive", "Drive fault", "electrical"),
    ("material", "Material", None),
    ("material.shortage", "Material shortage", "material"),
    ("material.defective", "Defective material", "material"),
    ("quality", "Quality", None),
    ("quality.inspection", "Quality inspection", "quality"),
    ("quality.rework", "Rework", "quality"),
    ("operator", "Operator", None),
    ("operator.absent", "No operator", "operator"),
    ("operator.training", "Training", "operator"),
    ("changeover", "Changeover", None),
    ("changeover.sku", "SKU changeover", "changeover"),
    ("changeover.cleaning", "Cleaning", "changeover"),
    ("utilities", "Utilities", None),
    ("utilities.power", "Power outage", "utilities"),
    ("utilities.air", "Compressed air", "utilities"),
)


async def seed_run(*, actor: Actor) -> None:
    """Adds what is missing and changes nothing an admin already set."""
    actor.require(Role.ADMIN)
    account = await Account.get(id=actor.account_id)
    async with in_transaction():
        ids = {c.code: c.id for c in await Cause.filter(account_id=account.id)}
        for code, description, parent in DEFAULT_CAUSES:
            if code not in ids:
                created = await Cause.create(
                    account_id=account.id,
                    code=code,
                    description=description,
                    parent_id=ids[parent] if parent else None,
                )
                ids[code] = created.id
        await AccountConfig.get_or_create(
            account_id=account.id, key="EMAIL_FROM", defaults={"value": {"v": f"andon@{account.domain}"}}
        )
    await publish(Change("cause", account.id))
    await publish(Change("config", account.id))
