"""MQTT messages set aside: acknowledged at the broker but not applied, kept for an admin to look at."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.tenancy import Account


class DeadLetter(Model):
    """One message of a known account that failed validation or application (bounded per account)."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "andon.Account", related_name="dead_letters", on_delete=fields.CASCADE
    )
    account_id: str
    topic = fields.CharField(max_length=120)
    # The drop kind (malformed, wrong_type, unknown_station...), apply_failed or internal.
    reason = fields.CharField(max_length=40)
    detail = fields.CharField(max_length=300)
    received_at = fields.DatetimeField()
    # The payload's first bytes (see resolvers/signals/dead_letters.py) and its whole size.
    payload = fields.BinaryField()
    payload_bytes = fields.IntField()

    class Meta:
        table = "dead_letter"
        indexes = (("account_id", "id"),)
