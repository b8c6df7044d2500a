"""Who may call: users, their API keys (hash only) and tablet access codes."""

from __future__ import annotations

from tortoise import fields

from models.base import Stamped
from models.tenancy import Account


class User(Stamped):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "andon.Account", related_name="users", on_delete=fields.CASCADE
    )
    account_id: str
    email = fields.CharField(max_length=254)
    role = fields.CharField(max_length=20)

    class Meta:
        table = "user"
        unique_together = (("account", "email"),)


class ApiKey(Stamped):
    """An API key. Only the SHA-256 digest of the secret is kept."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "andon.Account", related_name="api_keys", on_delete=fields.CASCADE
    )
    account_id: str
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "andon.User", related_name="api_keys", on_delete=fields.CASCADE
    )
    user_id: int
    name = fields.CharField(max_length=100)
    # None: the key follows its user's role; otherwise a lower role or `device`.
    role = fields.CharField(max_length=20, null=True)
    secret_hash = fields.CharField(max_length=64, unique=True)
    # The first characters of the secret, enough to tell keys apart in a list.
    prefix = fields.CharField(max_length=16)

    class Meta:
        table = "api_key"


class AccessCode(Stamped):
    """A tablet/LFD code. It alone names the account, so it is unique across accounts."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "andon.Account", related_name="access_codes", on_delete=fields.CASCADE
    )
    account_id: str
    code = fields.CharField(max_length=32, unique=True)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "andon.User", related_name="access_codes", null=True, on_delete=fields.SET_NULL
    )

    class Meta:
        table = "access_code"
