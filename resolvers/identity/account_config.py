"""Per-account configuration (GET/POST /api/admin/config)."""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from models.config_keys import CONFIG_KEYS
from models.roles import Role
from models.settings_store import AccountConfig
from resolvers.common.actor import Actor
from resolvers.common.changes import Change, publish
from resolvers.common.errors import invalid


async def config_values(account_id: str) -> dict[str, Any]:
    """Every known key's value for the account, defaults filled in."""
    return (await config_values_for({account_id}))[account_id]


async def config_values_for(account_ids: set[str]) -> dict[str, dict[str, Any]]:
    """config_values of several accounts in one query."""
    stored: dict[str, dict[str, Any]] = {a: {} for a in account_ids}
    for row in await AccountConfig.filter(account_id__in=list(account_ids)):
        stored[row.account_id][row.key] = (row.value or {}).get("v")
    return {
        a: {k: values.get(k, spec.default) for k, spec in CONFIG_KEYS.items()} for a, values in stored.items()
    }


async def list_config(*, actor: Actor) -> list[dict[str, Any]]:
    actor.require(Role.ADMIN)
    values = await config_values(actor.account_id)
    return [
        {"key": key, "value": values[key], "required": spec.required, "type": spec.type}
        for key, spec in CONFIG_KEYS.items()
    ]


def _validated(config: dict[str, Any]) -> dict[str, Any]:
    for key, value in config.items():
        spec = CONFIG_KEYS.get(key)
        if spec is None:
            raise invalid(f"config.{key}", f"unknown config key {key!r}; known: {', '.join(CONFIG_KEYS)}")
        if value is None:
            if spec.required:
                raise invalid(f"config.{key}", f"{key} is required and cannot be cleared")
            continue
        problem = spec.check(value)
        if problem:
            raise invalid(f"config.{key}", f"{key} {problem}")
    return config


async def set_config(*, actor: Actor, config: dict[str, Any]) -> list[dict[str, str]]:
    """Validate every key first, then store all of them in one transaction. null resets to the default."""
    actor.require(Role.ADMIN)
    values = _validated(config)
    messages = []
    async with in_transaction():
        for key, value in values.items():
            if value is None:
                await AccountConfig.filter(account_id=actor.account_id, key=key).delete()
                messages.append({"key": key, "message": "reset to default"})
                continue
            await AccountConfig.update_or_create(
                # Wrapped: Tortoise's JSONField would parse a bare string value as JSON text.
                defaults={"value": {"v": value}},
                account_id=actor.account_id,
                key=key,
            )
            messages.append({"key": key, "message": "updated"})
    await publish(Change("config", actor.account_id))
    return messages
