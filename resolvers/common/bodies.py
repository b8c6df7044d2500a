"""Request bodies, validated the same way whichever transport brought them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    field_validator,
    model_validator,
)

from models.codes import ACCOUNT_ID_PATTERN, CODE_MAX, CODE_PATTERN
from models.roles import Role
from models.timefmt import bounded_instant

Code = Annotated[str, StringConstraints(min_length=1, max_length=CODE_MAX, pattern=CODE_PATTERN)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    ),
]
Minutes = Annotated[float, Field(ge=0, le=10080)]
Seconds = Annotated[float, Field(gt=0, le=86400)]
# Bodies pass a before-validator, so values arrive as Python objects: ISO strings need lax datetimes.
# Every instant of every body is bounded by the one rule of models.timefmt.bounded_instant.
Timestamp = Annotated[datetime, Strict(False), AfterValidator(bounded_instant)]
DetectionMode = Literal["off", "production-cycle", "utilisation"]
UserRole = Literal["read-only", "operator", "member", "supervisor", "admin"]
KeyRole = Literal["read-only", "operator", "member", "supervisor", "admin", "device"]

MAX_SCHEDULE_SPAN = timedelta(days=400)

# Fields a client may echo back from a GET when it posts the object again (read-modify-write).
_READ_ONLY = frozenset({"id", "accountId", "createdAt", "updatedAt"})


class Body(BaseModel):
    """Strict JSON types, camelCase names, unknown fields refused (typos must not pass silently)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_read_only(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if k not in _READ_ONLY or k in cls.model_fields}
        return data

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if _holds_nul(value):
            raise ValueError("must not contain a NUL character (\\u0000)")
        return value

    def given(self) -> dict[str, Any]:
        """Only the fields the caller sent, so an upsert leaves the others as they are."""
        return self.model_dump(include=self.model_fields_set)


def _holds_nul(value: Any) -> bool:
    """Whether a string in `value` (nested lists and objects included) holds NUL, which Postgres text
    cannot store (SQLite would, so both backends refuse it here alike). Walked without recursion."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False


def _check_timezone(value: str) -> str:
    if value not in available_timezones():
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not an IANA time zone name (e.g. Europe/London)") from None
    return value


class PlantIn(Body):
    code: Code
    name: Name
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "UTC"
    dayStartHour: Annotated[int, Field(ge=0, le=23)] = 0

    _tz = field_validator("timezone")(_check_timezone)


class Shift(Body):
    weekDay: Annotated[int, Field(ge=0, le=6, description="0 = Monday … 6 = Sunday")]
    startHour: Annotated[float, Field(ge=0, lt=24)]
    duration: Annotated[float, Field(gt=0, le=24, description="hours")]


class StationGroupIn(Body):
    code: Code
    name: Name
    plantCode: Code
    shifts: Annotated[list[Shift], Field(max_length=100)] = []


class StationIn(Body):
    code: Code
    name: Name
    plantCode: Code
    groupCode: Code | None = None
    cycleTime: Seconds | None = None
    downtimeDetectionMode: DetectionMode = "off"
    utilisationDowntimeThreshold: Minutes | None = None
    downtimeDurationThresholdMultiplier: Annotated[float, Field(ge=1, le=100)] = 1.5
    slowDurationThreshold: Minutes | None = None
    idleCostPerMinute: Annotated[float, Field(ge=0, le=1e9)] | None = None
    archivedAt: Timestamp | None = None


class SkuIn(Body):
    code: Code
    name: Name
    cycleTime: Seconds | None = None
    value: Annotated[float, Field(ge=0, le=1e12)] | None = None
    downtimeDurationThresholdMultiplier: Annotated[float, Field(ge=1, le=100)] | None = None


class NonProductionReasonIn(Body):
    code: Code
    description: Name


class ScheduleIn(Body):
    """A production run (`skuCode`) or a non-production entry (`nonProductionReasonCode`), never both."""

    stationCode: Code
    skuCode: Code | None = None
    nonProductionReasonCode: Code | None = None
    plannedStartAt: Timestamp
    plannedEndAt: Timestamp
    plannedQuantity: Annotated[int, Field(ge=0, le=10**9)] | None = None

    @field_validator("plannedStartAt", "plannedEndAt")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("needs a time zone offset or Z (e.g. 2025-05-29T06:00:00.000Z)")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> ScheduleIn:
        if (self.skuCode is None) == (self.nonProductionReasonCode is None):
            raise ValueError("give exactly one of skuCode (production) or nonProductionReasonCode")
        if self.nonProductionReasonCode is not None and self.plannedQuantity is not None:
            raise ValueError("plannedQuantity belongs to production schedules (skuCode) only")
        if self.plannedEndAt <= self.plannedStartAt:
            raise ValueError("plannedEndAt must be after plannedStartAt")
        if self.plannedEndAt - self.plannedStartAt > MAX_SCHEDULE_SPAN:
            raise ValueError(f"a schedule entry spans at most {MAX_SCHEDULE_SPAN.days} days")
        return self


class UserIn(Body):
    email: Email
    role: UserRole


class ApiKeyIn(Body):
    userId: Annotated[int, Field(ge=1)]
    name: Name
    role: KeyRole | None = None

    def key_role(self) -> Role | None:
        return Role(self.role) if self.role else None


class NewAccountIn(Body):
    domain: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True,
            to_lower=True,
            min_length=3,
            max_length=253,
            pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$",
        ),
    ]
    plantName: Name
    accountId: (
        Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=ACCOUNT_ID_PATTERN)] | None
    ) = None
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "UTC"

    _tz = field_validator("timezone")(_check_timezone)


class ConfigIn(Body):
    # Values are checked per key (models.config_keys) so the error can name the key.
    config: Annotated[dict[str, Any], Field(min_length=1, max_length=50)]


CauseCode = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=r"^[a-zA-Z0-9._-]+$")]
IssueType = Literal["stop", "slow"]
EventType = Literal["acknowledge", "estimate", "escalate", "cause", "watch", "exclude", "include"]


class IssueIn(Body):
    type: IssueType
    stationCode: Code
    startAt: Timestamp
    endAt: Timestamp | None = None

    @field_validator("startAt", "endAt")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("needs a time zone offset or Z (e.g. 2025-05-29T13:40:45.831Z)")
        return value


class IssueEventIn(Body):
    type: EventType
    # Minutes from now until the station is expected back.
    estimatedTime: Annotated[float, Field(ge=1, le=10080)] | None = None
    causeCode: CauseCode | None = None
    operator: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=8)] | None = (
        None
    )


class CauseIn(Body):
    code: CauseCode
    description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    parentCauseCode: CauseCode | None = None


PreferenceKind = Literal["none", "issue", "escalation", "daily-summary"]


class PreferenceIn(Body):
    stationGroupCode: Code
    preference: Annotated[list[PreferenceKind], Field(min_length=1, max_length=4)]

    @field_validator("preference")
    @classmethod
    def _none_alone(cls, value: list[str]) -> list[str]:
        if "none" in value and len(set(value)) > 1:
            raise ValueError("'none' cannot be combined with other kinds")
        return list(dict.fromkeys(value))  # duplicates dropped, order kept
