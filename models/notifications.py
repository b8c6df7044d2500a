"""Who wants which emails: per user, per station group (SPEC section 9)."""

from __future__ import annotations

from tortoise import fields

from models.base import Stamped
from models.identity import User
from models.tenancy import Account, StationGroup

KINDS = ("none", "issue", "escalation", "daily-summary")


class NotificationPreference(Stamped):
    """A stored choice. A group without a row reads as ['none']."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "andon.Account", related_name="notification_preferences", on_delete=fields.CASCADE
    )
    account_id: str
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "andon.User", related_name="notification_preferences", on_delete=fields.CASCADE
    )
    user_id: int
    group: fields.ForeignKeyRelation[StationGroup] = fields.ForeignKeyField(
        "andon.StationGroup", related_name="notification_preferences", on_delete=fields.CASCADE
    )
    group_id: int
    kinds: fields.Field[list[str]] = fields.JSONField(default=list)

    class Meta:
        table = "notification_preference"
        unique_together = (("user", "group"),)
