"""Account → plant → station group → station, and the catalogues an account keeps (SKUs, reasons)."""

from __future__ import annotations

from tortoise import fields

from models.base import Stamped


class Account(Stamped):
    """A tenant. Every other row belongs to exactly one."""

    id = fields.CharField(primary_key=True, max_length=40)
    domain = fields.CharField(max_length=253, unique=True)
    name = fields.CharField(max_length=200)
    # Last issue revision handed out. Bumped inside each issue transaction, so the row lock makes
    # revisions of one account commit in order: a subscriber resuming after N never misses a smaller one.
    revision = fields.BigIntField(default=0)

    class Meta:
        table = "account"


class Plant(Stamped):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "andon.Account", related_name="plants", on_delete=fields.CASCADE
    )
    account_id: str
    code = fields.CharField(max_length=32)
    name = fields.CharField(max_length=200)
    timezone = fields.CharField(max_length=64, default="UTC")
    day_start_hour = fields.SmallIntField(default=0)

    class Meta:
        table = "plant"
        unique_together = (("account", "code"),)


class StationGroup(Stamped):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "andon.Account", related_name="station_groups", on_delete=fields.CASCADE
    )
    account_id: str
    plant: fields.ForeignKeyRelation[Plant] = fields.ForeignKeyField(
        "andon.Plant", related_name="station_groups", on_delete=fields.RESTRICT
    )
    plant_id: int
    code = fields.CharField(max_length=32)
    name = fields.CharField(max_length=200)
    # [{weekDay 0=Mon..6, startHour, duration hours}]; empty means 24/7.
    shifts: fields.Field[list[dict[str, float]]] = fields.JSONField(default=list)

    class Meta:
        table = "station_group"
        unique_together = (("account", "code"),)


class Station(Stamped):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "andon.Account", related_name="stations", on_delete=fields.CASCADE
    )
    account_id: str
    plant: fields.ForeignKeyRelation[Plant] = fields.ForeignKeyField(
        "andon.Plant", related_name="stations", on_delete=fields.RESTRICT
    )
    plant_id: int
    group: fields.ForeignKeyNullableRelation[StationGroup] = fields.ForeignKeyField(
        "andon.StationGroup", related_name="stations", null=True, on_delete=fields.SET_NULL
    )
    group_id: int | None
    code = fields.CharField(max_length=32)
    name = fields.CharField(max_length=200)
    cycle_time = fields.FloatField(null=True)
    downtime_detection_mode = fields.CharField(max_length=20, default="off")
    utilisation_downtime_threshold = fields.FloatField(null=True)
    downtime_duration_threshold_multiplier = fields.FloatField(default=1.5)
    slow_duration_threshold = fields.FloatField(null=True)
    idle_cost_per_minute = fields.FloatField(null=True)
    archived_at = fields.DatetimeField(null=True)

    class Meta:
        table = "station"
        unique_together = (("account", "code"),)


class Sku(Stamped):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "andon.Account", related_name="skus", on_delete=fields.CASCADE
    )
    account_id: str
    code = fields.CharField(max_length=32)
    name = fields.CharField(max_length=200)
    cycle_time = fields.FloatField(null=True)
    value = fields.FloatField(null=True)
    downtime_duration_threshold_multiplier = fields.FloatField(null=True)

    class Meta:
        table = "sku"
        unique_together = (("account", "code"),)


class NonProductionReason(Stamped):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "andon.Account", related_name="non_production_reasons", on_delete=fields.CASCADE
    )
    account_id: str
    code = fields.CharField(max_length=32)
    description = fields.CharField(max_length=200)

    class Meta:
        table = "non_production_reason"
        unique_together = (("account", "code"),)
