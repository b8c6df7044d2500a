"""Columns every table shares."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Stamped(Model):
    """A row with creation and last-update times (UTC)."""

    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        abstract = True
