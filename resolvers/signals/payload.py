"""The signal payload of SPEC section 7, validated the same way over MQTT and HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from models.timefmt import bounded_instant
from resolvers.common.bodies import CauseCode, Code

# A count per message (units since the last one) and a running total: generous, finite bounds.
MAX_UNITS_PER_SIGNAL = 1_000_000
Increment = Annotated[int, Field(ge=0, le=MAX_UNITS_PER_SIGNAL)]
Total = Annotated[int, Field(ge=0, le=2**53)]
Measure = Annotated[float, Field(ge=-1e12, le=1e12, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)]
# A device clock may run a little ahead; anything further is a wrong clock, not a signal from the future.
FUTURE_SKEW = timedelta(minutes=5)
# Backfill older than this would land in windows analysis has long read.
MAX_AGE = timedelta(days=30)
# Epoch milliseconds between 2001 and 2286: a value outside is seconds or garbage.
_EPOCH_MS_MIN, _EPOCH_MS_MAX = 10**12, 10**13


class SignalIn(BaseModel):
    """One station's signal. Unknown keys are refused; numbers must be JSON numbers."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, populate_by_name=True)

    production_complete_good: Increment | None = Field(
        default=None, validation_alias=AliasChoices("production_complete_good", "production_complete")
    )
    production_complete_bad: Increment | None = None
    production_count_good: Total | None = Field(
        default=None, validation_alias=AliasChoices("production_count_good", "production_count")
    )
    production_count_bad: Total | None = None
    productive: bool | None = None
    line_speed: Measure | None = None
    electrical_kwh: NonNegative | None = None
    electrical_kwh_interval: NonNegative | None = None
    rssi: Measure | None = None
    sku: Code | None = None
    error_code: CauseCode | None = None
    timestamp: datetime | None = None

    @field_validator("productive", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> Any:
        # Devices send 0/1; JSON booleans are accepted too. Anything else is a type error.
        if value in (0, 1) and not isinstance(value, float):
            return bool(value)
        if isinstance(value, bool) or value is None:
            return value
        raise ValueError("must be 0 or 1")

    @field_validator("timestamp", mode="before")
    @classmethod
    def _moment(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            if not _EPOCH_MS_MIN <= value < _EPOCH_MS_MAX:
                raise ValueError("epoch milliseconds expected (13 digits)")
            return bounded_instant(datetime.fromtimestamp(value / 1000, UTC))
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                raise ValueError("must be ISO 8601 or epoch milliseconds") from None
            # The one rule for instants first: the conversion to UTC overflows near datetime's ends.
            return bounded_instant(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
        raise ValueError("must be ISO 8601 or epoch milliseconds")

    def moment(self, received_at: datetime) -> datetime:
        """When the signal happened: its timestamp (in UTC), else its receipt."""
        return self.timestamp if self.timestamp is not None else received_at


class HttpSignalIn(SignalIn):
    """POST /api/signal: the same object plus the station it is about."""

    stationCode: Code


def check_moment(at: datetime, now: datetime) -> str | None:
    """Why a signal's time is refused, or None."""
    if at > now + FUTURE_SKEW:
        return "is in the future"
    if at < now - MAX_AGE:
        return f"is older than {MAX_AGE.days} days"
    return None
