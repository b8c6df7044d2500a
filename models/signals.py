"""Per-station running state of signal ingestion and detection, and the leases that elect one worker."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.issues import Cause
from models.tenancy import Account, Sku, Station


class StationState(Model):
    """What ingestion and detection remember about one station, shared by every gateway instance."""

    # Rows are locked for update while a batch of signals is applied, so instances apply in turn.

    id = fields.IntField(primary_key=True)
    station: fields.OneToOneRelation[Station] = fields.OneToOneField(
        "andon.Station", related_name="state", on_delete=fields.CASCADE
    )
    station_id: int
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "andon.Account", related_name="station_states", on_delete=fields.CASCADE
    )
    account_id: str
    first_signal_at = fields.DatetimeField()
    last_signal_at = fields.DatetimeField()
    # Last running totals seen (the first one is only a baseline) and when they were sent.
    count_good_total = fields.BigIntField(null=True)
    count_bad_total = fields.BigIntField(null=True)
    totals_at = fields.DatetimeField(null=True)
    kwh_total = fields.FloatField(null=True)
    last_output_at = fields.DatetimeField(null=True)
    productive = fields.BooleanField(null=True)
    # When `productive` last changed value.
    productive_since = fields.DatetimeField(null=True)
    # Start of a run of outputs slower than the ideal cycle time, null while running at speed.
    slow_since = fields.DatetimeField(null=True)
    sku: fields.ForeignKeyNullableRelation[Sku] = fields.ForeignKeyField(
        "andon.Sku", related_name="running_on", null=True, on_delete=fields.SET_NULL
    )
    sku_id: int | None
    # A cause an error_code named before the stop was detected: applied when it opens.
    pending_cause: fields.ForeignKeyNullableRelation[Cause] = fields.ForeignKeyField(
        "andon.Cause", related_name="pending_on", null=True, on_delete=fields.SET_NULL
    )
    pending_cause_id: int | None
    # Live status (running, stopped, idle, offline) as last published.
    status = fields.CharField(max_length=10, default="running")
    status_at = fields.DatetimeField(null=True)
    # Windows before this minute (UTC) have their time fields computed.
    closed_until = fields.DatetimeField()

    class Meta:
        table = "station_state"


class Lease(Model):
    """A named job that one gateway instance runs at a time until `expires_at` (renewed while alive)."""

    name = fields.CharField(primary_key=True, max_length=40)
    holder = fields.CharField(max_length=100)
    expires_at = fields.DatetimeField()

    class Meta:
        table = "lease"


class IngestMark(Model):
    """How far one gateway instance's MQTT ingestion has applied what it received: detection on the
    lease holder never judges a station past the oldest message an instance holds unapplied."""

    instance = fields.CharField(primary_key=True, max_length=100)
    # Receipt time of its oldest received but not yet committed message; null when it holds none.
    behind_since = fields.DatetimeField(null=True)
    # When the instance last wrote this row: rows of instances gone silent are ignored.
    seen_at = fields.DatetimeField()

    class Meta:
        table = "ingest_mark"
