"""Per-minute station windows (what analysis reads) and the planned schedules that split them."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.base import Stamped
from models.tenancy import Account, NonProductionReason, Sku, Station


class StationWindow(Model):
    """One station, one minute. Written by signal ingestion in batches, idempotent on replay."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "andon.Account", related_name="station_windows", on_delete=fields.CASCADE
    )
    account_id: str
    station: fields.ForeignKeyRelation[Station] = fields.ForeignKeyField(
        "andon.Station", related_name="windows", on_delete=fields.CASCADE
    )
    station_id: int
    # UTC, on a whole minute.
    window_start_at = fields.DatetimeField()
    total_ms = fields.IntField(default=60000)
    shift_ms = fields.IntField(default=0)
    scheduled_production_ms = fields.IntField(default=0)
    scheduled_non_production_ms = fields.IntField(default=0)
    productive_ms = fields.IntField(default=0)
    downtime_ms = fields.IntField(default=0)
    production_good_count = fields.IntField(default=0)
    production_bad_count = fields.IntField(default=0)
    # Seconds per unit over the minute's output, null without output.
    cycle_time_avg = fields.FloatField(null=True)
    line_speed_avg = fields.FloatField(null=True)
    electrical_kwh = fields.FloatField(null=True)
    rssi_avg = fields.FloatField(null=True)
    is_alive = fields.BooleanField(default=False)
    # Signals applied to this minute, and how many carried line speed and RSSI: averages merge across
    # batches (and instances) by weight.
    signal_count = fields.IntField(default=0)
    line_speed_samples = fields.IntField(default=0)
    rssi_samples = fields.IntField(default=0)
    # SKU running at the end of the minute (changeovers split output by the last code seen).
    sku: fields.ForeignKeyNullableRelation[Sku] = fields.ForeignKeyField(
        "andon.Sku", related_name="windows", null=True, on_delete=fields.SET_NULL
    )
    sku_id: int | None

    class Meta:
        table = "station_window"
        unique_together = (("station", "window_start_at"),)
        indexes = (("account_id", "window_start_at"),)


class ProductionSchedule(Stamped):
    """A planned production run of one SKU on one station."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "andon.Account", related_name="production_schedules", on_delete=fields.CASCADE
    )
    account_id: str
    station: fields.ForeignKeyRelation[Station] = fields.ForeignKeyField(
        "andon.Station", related_name="production_schedules", on_delete=fields.CASCADE
    )
    station_id: int
    sku: fields.ForeignKeyRelation[Sku] = fields.ForeignKeyField(
        "andon.Sku", related_name="production_schedules", on_delete=fields.RESTRICT
    )
    sku_id: int
    planned_start_at = fields.DatetimeField()
    planned_end_at = fields.DatetimeField()
    planned_quantity = fields.IntField(null=True)

    class Meta:
        table = "production_schedule"
        indexes = (("station_id", "planned_start_at"),)


class NonProductionSchedule(Stamped):
    """Planned time without production (maintenance, breaks): never downtime."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "andon.Account", related_name="non_production_schedules", on_delete=fields.CASCADE
    )
    account_id: str
    station: fields.ForeignKeyRelation[Station] = fields.ForeignKeyField(
        "andon.Station", related_name="non_production_schedules", on_delete=fields.CASCADE
    )
    station_id: int
    reason: fields.ForeignKeyRelation[NonProductionReason] = fields.ForeignKeyField(
        "andon.NonProductionReason", related_name="schedules", on_delete=fields.RESTRICT
    )
    reason_id: int
    planned_start_at = fields.DatetimeField()
    planned_end_at = fields.DatetimeField()

    class Meta:
        table = "non_production_schedule"
        indexes = (("station_id", "planned_start_at"),)
