"""Wire formats of time (SPEC section 3): ISO 8601 UTC with milliseconds and Z, epoch milliseconds; and
timestamps as raw SQL hands them back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

# A source of the present: clock-driven code takes one where it must read the present itself (tests and
# replays pass their own); utc_now is the real one.
Clock = Callable[[], datetime]


def iso_ms(value: datetime | None) -> str | None:
    """`2025-05-29T13:40:45.831Z`, or None."""
    if value is None:
        return None
    utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def epoch_ms(value: datetime | None) -> int | None:
    if value is None:
        return None
    utc = value if value.tzinfo else value.replace(tzinfo=UTC)
    return int(utc.timestamp() * 1000)


# Every instant a client gives (REST, GraphQL, MQTT) lies in these years: a plant's records start after
# 2000 and nothing is planned past 2200. Outside, a value is a typo or a probe (year 1 at +14:00, year
# 9999 at -14:00), and near the ends of datetime's range the conversion to UTC itself overflows.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def bounded_instant(value: datetime) -> datetime:
    """An input instant checked against [EARLIEST, LATEST); raises ValueError with a message fit for a
    400 otherwise. An instant without an offset is read as UTC for the check and returned as given."""
    out_of_range = ValueError(f"must be between {EARLIEST.year} and {LATEST.year - 1} (UTC)")
    try:
        utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except OverflowError:
        raise out_of_range from None  # beyond datetime's range in UTC, so far beyond ours
    if not EARLIEST <= utc < LATEST:
        raise out_of_range
    return value


def utc_now() -> datetime:
    return datetime.now(UTC)


def db_moment(value: Any) -> Any:
    """A timestamp column read with raw SQL as an aware datetime: asyncpg gives datetimes, SQLite the
    ISO text Tortoise stored (parsed with the C `fromisoformat`); None stays None."""
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return value
