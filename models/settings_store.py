"""Per-account configuration values (SPEC section 10); the keys themselves live in models.config_keys."""

from __future__ import annotations

from tortoise import fields

from models.base import Stamped
from models.tenancy import Account


class AccountConfig(Stamped):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "andon.Account", related_name="config", on_delete=fields.CASCADE
    )
    account_id: str
    key = fields.CharField(max_length=64)
    value: fields.Field[dict[str, object] | None] = fields.JSONField(null=True)

    class Meta:
        table = "account_config"
        unique_together = (("account", "key"),)
