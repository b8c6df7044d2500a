"""Wire views of rows: one dict shape per entity, used by REST and GraphQL alike."""

from __future__ import annotations

from typing import Any

from models.identity import AccessCode, ApiKey, User
from models.tenancy import NonProductionReason, Plant, Sku, Station, StationGroup
from models.timefmt import iso_ms

View = dict[str, Any]


def _stamps(row: Any) -> View:
    return {"createdAt": iso_ms(row.created_at), "updatedAt": iso_ms(row.updated_at)}


def plant_view(p: Plant) -> View:
    return {
        "code": p.code,
        "name": p.name,
        "timezone": p.timezone,
        "dayStartHour": p.day_start_hour,
        "accountId": p.account_id,
        **_stamps(p),
    }


def station_group_view(g: StationGroup, plant_code: str) -> View:
    return {
        "code": g.code,
        "name": g.name,
        "plantCode": plant_code,
        "shifts": g.shifts,
        "accountId": g.account_id,
        **_stamps(g),
    }


def station_view(s: Station, plant_code: str, group_code: str | None) -> View:
    return {
        "code": s.code,
        "name": s.name,
        "plantCode": plant_code,
        "groupCode": group_code,
        "cycleTime": s.cycle_time,
        "downtimeDetectionMode": s.downtime_detection_mode,
        "utilisationDowntimeThreshold": s.utilisation_downtime_threshold,
        "downtimeDurationThresholdMultiplier": s.downtime_duration_threshold_multiplier,
        "slowDurationThreshold": s.slow_duration_threshold,
        "idleCostPerMinute": s.idle_cost_per_minute,
        "archivedAt": iso_ms(s.archived_at),
        "accountId": s.account_id,
        **_stamps(s),
    }


def sku_view(k: Sku) -> View:
    return {
        "code": k.code,
        "name": k.name,
        "cycleTime": k.cycle_time,
        "value": k.value,
        "downtimeDurationThresholdMultiplier": k.downtime_duration_threshold_multiplier,
        "accountId": k.account_id,
        **_stamps(k),
    }


def non_production_reason_view(r: NonProductionReason) -> View:
    return {"code": r.code, "description": r.description, "accountId": r.account_id, **_stamps(r)}


def user_view(u: User) -> View:
    return {"id": u.id, "email": u.email, "role": u.role, "accountId": u.account_id, **_stamps(u)}


def api_key_view(k: ApiKey, user_email: str, effective_role: str) -> View:
    """Metadata only: the secret is never shown after creation."""
    return {
        "id": k.id,
        "name": k.name,
        "userId": k.user_id,
        "userEmail": user_email,
        "role": effective_role,
        "prefix": k.prefix,
        "accountId": k.account_id,
        **_stamps(k),
    }


def access_code_view(c: AccessCode, creator_email: str | None) -> View:
    return {"code": c.code, "accountId": c.account_id, "email": creator_email, **_stamps(c)}
