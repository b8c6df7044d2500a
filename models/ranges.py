"""Range codes (SPEC section 6): a code or an ISO interval at a plant and a moment → a UTC [start, end).

Pure and deterministic: the caller passes `now`, the plant's IANA timezone, its day start hour and
the shifts of the station group in question. Every range is half-open, [start, end), in UTC.

Semantics (product decisions):

- A plant day starts at `day_start_hour` local time and ends at the same local hour on the next
  calendar date, so it lasts 23 h or 25 h on a DST change day. If local `now` is before today's day
  start, the current plant day began yesterday; its date is the calendar date it began on.
- Local wall times are read with fold=0 (zoneinfo's default): a time in a spring-forward gap takes
  the offset in force before the change, so it lands later by the gap (01:30 on a London
  spring-forward day is 02:30 BST); an ambiguous fall-back time is its first occurrence (summer time).
- `today` is the current plant day, whole: its end may be in the future (callers cap at now when they
  need to). `yesterday` is the plant day before.
- `this-week` / `last-week`: 7 plant days from the day start of the Monday of the current plant
  day's date / of the Monday before.
- `this-month` / `last-month`: from the day start of the 1st of the month of the current plant day's
  date (/ of the month before) to the day start of the 1st of the following month.
- `last-24-hours`: [now - 24 h, now). `last-7-days` / `last-30-days`: the N whole plant days ending
  with today.
- Shifts are a weekly pattern in plant-local wall time. A shift ends at its local start plus its
  duration on the wall clock, so a 22:00 + 8 h night shift ends at 06:00 local even across a DST
  change (7 h or 9 h elapsed) and consecutive shifts neither gap nor overlap. An occurrence that
  starts in a spring-forward gap and would end before it starts does not happen that day.
- `current-shift`: the occurrence that contains now (if shifts overlap, the one that started last);
  when none is running → RangeError. `previous-shift`: the occurrence with the latest end at or before
  the start of the current one (at or before now when none is running), among those that ended in the
  14 days before. With no shifts the plant runs 24/7 and a shift is the plant day: current-shift is
  `today`, previous-shift is `yesterday`.
- `A/B`: ISO 8601 extended date-times with hours and minutes at least (`2025-05-01T00:00:00Z`,
  `+02:00` offsets, fractional seconds); a side without an offset is plant-local time (fold=0).
  Dates alone are refused (midnight or day start would be a guess). B must be after A and the span
  at most 400 days.
- Codes are case-sensitive as written in the SPEC; surrounding whitespace is ignored. An unknown code,
  a bad interval, an unknown timezone or a day start hour outside 0..23 → RangeError.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypedDict, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models.durations import format_duration
from models.timefmt import iso_ms

MAX_INTERVAL = timedelta(days=400)
SHIFT_LOOKBACK = timedelta(days=14)
MAX_SHIFT_HOURS = 7 * 24
EXAMPLE_INTERVAL = "2025-05-01T00:00:00Z/2025-05-02T00:00:00Z"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_SHOWN_MAX = 60
# [0-9], not \d: fromisoformat must never see non-ASCII digits.
_ISO_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:[0-9]{2})?"
)
# The current shift began at most a week (the longest shift) before now, the previous one ended at most
# SHIFT_LOOKBACK before that and began at most a week before it ended; one more day absorbs DST slack.
_SHIFT_SEARCH_DAYS = 7 + SHIFT_LOOKBACK.days + 7 + 1


class RangeError(ValueError):
    """A range code or interval that names no range; the message is one line fit for a 400."""


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Half-open [start, end) between aware datetimes, stored in UTC; end >= start."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("TimeRange bounds must be timezone-aware")
        if self.end < self.start:
            raise ValueError(f"TimeRange ends before it starts: {self.start} > {self.end}")
        # Normalised here so equality and the wire views never depend on the offset a caller used.
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        object.__setattr__(self, "end", self.end.astimezone(UTC))

    @property
    def duration_ms(self) -> int:
        """Milliseconds between the bounds as the wire shows them (each floored to the millisecond)."""
        return _epoch_ms(self.end) - _epoch_ms(self.start)


@dataclass(frozen=True, slots=True)
class Shift:
    """A weekly shift in plant-local time: `week_day` (0=Monday) at `start_hour` for `duration_hours`."""

    week_day: int
    start_hour: float
    duration_hours: float

    def __post_init__(self) -> None:
        # Comparisons are written so NaN fails them too.
        if not 0 <= self.week_day <= 6:
            raise ValueError(f"shift week_day must be 0..6 (0=Monday), got {self.week_day!r}")
        if not 0 <= self.start_hour < 24:
            raise ValueError(f"shift start_hour must be in [0, 24), got {self.start_hour!r}")
        if not 0 < self.duration_hours <= MAX_SHIFT_HOURS:
            raise ValueError(
                f"shift duration_hours must be in (0, {MAX_SHIFT_HOURS}], got {self.duration_hours!r}"
            )


# `from` is a keyword, hence the functional form.
RangeView = TypedDict(
    "RangeView",
    {"from": int, "to": int, "duration": int, "fromIso": str, "toIso": str, "durationFormatted": str},
)


def _day_start(zone: ZoneInfo, day_start_hour: int, day: date) -> datetime:
    return datetime(day.year, day.month, day.day, day_start_hour, tzinfo=zone).astimezone(UTC)


def _plant_days(zone: ZoneInfo, day_start_hour: int, first: date, count: int) -> TimeRange:
    return TimeRange(
        _day_start(zone, day_start_hour, first),
        _day_start(zone, day_start_hour, first + timedelta(days=count)),
    )


@dataclass(frozen=True, slots=True)
class _Context:
    """What a named code is resolved against: the plant's clock and shifts at `now` (UTC)."""

    zone: ZoneInfo
    day_start_hour: int
    now: datetime
    shifts: tuple[Shift, ...]

    def day_start(self, day: date) -> datetime:
        """The UTC instant plant day `day` starts."""
        return _day_start(self.zone, self.day_start_hour, day)

    def plant_days(self, first: date, count: int) -> TimeRange:
        """`count` whole plant days from `first`."""
        return _plant_days(self.zone, self.day_start_hour, first, count)

    @property
    def today(self) -> date:
        """The date of the plant day containing now."""
        local = self.now.astimezone(self.zone).date()
        return local if self.now >= self.day_start(local) else local - timedelta(days=1)


def resolve_range(
    code: str, *, now: datetime, timezone: str, day_start_hour: int = 0, shifts: Sequence[Shift] = ()
) -> TimeRange:
    """The UTC range `code` names for a plant at `now`; RangeError when it names none."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone = _zone(timezone)
    if not 0 <= day_start_hour <= 23:
        raise RangeError(f"plant day start hour {day_start_hour!r} is not in 0..23")
    text = code.strip()
    if "/" in text:
        return _interval(text, zone)
    resolver = _NAMED.get(text)
    if resolver is None:
        raise RangeError(
            f"unknown range code {_shown(text)}; use one of {', '.join(_NAMED)} "
            f"or an ISO interval like {EXAMPLE_INTERVAL}"
        )
    return resolver(_Context(zone, day_start_hour, now.astimezone(UTC), tuple(shifts)))


def plant_day(day: date, *, timezone: str, day_start_hour: int) -> TimeRange:
    """Plant day `day` (the calendar date it begins on) as a UTC range."""
    # A named day's bounds depend on no moment: no context at `now` (and no read of the clock) needed.
    return _plant_days(_zone(timezone), day_start_hour, day, 1)


def summary_day(*, now: datetime, timezone: str, day_start_hour: int, summary_hour: int) -> date:
    """The plant day whose daily summary is due at `now`: the one before the plant day that the latest
    `summary_hour` (plant-local) at or before `now` belongs to. It changes when that hour comes round.

    The hour's plant day is read on the wall clock (the hour's date, or the date before when the hour is
    earlier than the day start hour), not from its instant: in a spring-forward gap the instant of 01:00
    can be the day start itself (02:00 BST), which would make one plant day due twice and skip another."""
    zone = _zone(timezone)
    summary_date = now.astimezone(zone).date()
    if now < datetime.combine(summary_date, time(summary_hour), tzinfo=zone):
        summary_date -= timedelta(days=1)
    belongs_to = summary_date if summary_hour >= day_start_hour else summary_date - timedelta(days=1)
    return belongs_to - timedelta(days=1)


def range_view(r: TimeRange) -> RangeView:
    """The wire shape of a range (SPEC section 6): epoch-ms and ISO bounds, duration in ms and in words."""
    return {
        "from": _epoch_ms(r.start),
        "to": _epoch_ms(r.end),
        "duration": r.duration_ms,
        # iso_ms answers None only for None.
        "fromIso": cast(str, iso_ms(r.start)),
        "toIso": cast(str, iso_ms(r.end)),
        "durationFormatted": format_duration(r.duration_ms),
    }


def _epoch_ms(moment: datetime) -> int:
    # Integer arithmetic: exact where float timestamps can land a hair under a whole millisecond.
    return (moment - _EPOCH) // _MS


def _shown(text: str) -> str:
    """User input quoted for a one-line message, cut short so a huge parameter stays a short message."""
    return repr(text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 3] + "...")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    # Unknown keys, malformed or path-like keys and directories ("Europe") fail in these three ways.
    except (ZoneInfoNotFoundError, ValueError, OSError) as error:
        raise RangeError(f"unknown timezone {_shown(name)}; use an IANA name like Europe/London") from error


# --- named codes -------------------------------------------------------------------------------------


def _today(ctx: _Context) -> TimeRange:
    return ctx.plant_days(ctx.today, 1)


def _yesterday(ctx: _Context) -> TimeRange:
    return ctx.plant_days(ctx.today - timedelta(days=1), 1)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _this_week(ctx: _Context) -> TimeRange:
    return ctx.plant_days(_monday(ctx.today), 7)


def _last_week(ctx: _Context) -> TimeRange:
    return ctx.plant_days(_monday(ctx.today) - timedelta(days=7), 7)


def _next_month(first: date) -> date:
    # Day 28 exists in every month and +4 days always reaches the next one.
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1)


def _this_month(ctx: _Context) -> TimeRange:
    first = ctx.today.replace(day=1)
    return TimeRange(ctx.day_start(first), ctx.day_start(_next_month(first)))


def _last_month(ctx: _Context) -> TimeRange:
    first = ctx.today.replace(day=1)
    previous = (first - timedelta(days=1)).replace(day=1)
    return TimeRange(ctx.day_start(previous), ctx.day_start(first))


def _last_24_hours(ctx: _Context) -> TimeRange:
    return TimeRange(ctx.now - timedelta(hours=24), ctx.now)


def _last_days(count: int) -> Callable[[_Context], TimeRange]:
    def resolve(ctx: _Context) -> TimeRange:
        return ctx.plant_days(ctx.today - timedelta(days=count - 1), count)

    return resolve


# --- shifts ------------------------------------------------------------------------------------------


def _wall_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    return wall.replace(tzinfo=zone).astimezone(UTC)


def shift_occurrence(shift: Shift, day: date, zone: ZoneInfo) -> TimeRange | None:
    """`shift` on local date `day`, or None when a DST gap leaves it no time that day."""
    start = datetime.combine(day, time()) + timedelta(hours=shift.start_hour)
    end = start + timedelta(hours=shift.duration_hours)
    start_utc, end_utc = _wall_to_utc(start, zone), _wall_to_utc(end, zone)
    return TimeRange(start_utc, end_utc) if end_utc > start_utc else None


def _occurrences(ctx: _Context) -> list[TimeRange]:
    """Every shift occurrence starting on the local dates that can matter for now."""
    local_today = ctx.now.astimezone(ctx.zone).date()
    found: list[TimeRange] = []
    for back in range(_SHIFT_SEARCH_DAYS + 1):
        day = local_today - timedelta(days=back)
        for shift in ctx.shifts:
            if shift.week_day != day.weekday():
                continue
            occurrence = shift_occurrence(shift, day, ctx.zone)
            if occurrence is not None:
                found.append(occurrence)
    return found


def _running(ctx: _Context, occurrences: list[TimeRange]) -> TimeRange | None:
    containing = [o for o in occurrences if o.start <= ctx.now < o.end]
    # Overlapping shifts (a handover): now belongs to the one that started last.
    return max(containing, key=lambda o: (o.start, o.end), default=None)


def _current_shift(ctx: _Context) -> TimeRange:
    if not ctx.shifts:
        return _today(ctx)
    running = _running(ctx, _occurrences(ctx))
    if running is None:
        raise RangeError("no shift is running now")
    return running


def _previous_shift(ctx: _Context) -> TimeRange:
    if not ctx.shifts:
        return _yesterday(ctx)
    occurrences = _occurrences(ctx)
    running = _running(ctx, occurrences)
    reference = running.start if running else ctx.now
    ended = [o for o in occurrences if reference - SHIFT_LOOKBACK <= o.end <= reference]
    previous = max(ended, key=lambda o: (o.end, o.start), default=None)
    if previous is None:
        # Unreachable with a weekly pattern of shifts of at most a week; kept so the bound is explicit.
        raise RangeError(f"no shift ended in the {SHIFT_LOOKBACK.days} days before now")
    return previous


_NAMED: dict[str, Callable[[_Context], TimeRange]] = {
    "today": _today,
    "yesterday": _yesterday,
    "this-week": _this_week,
    "last-week": _last_week,
    "this-month": _this_month,
    "last-month": _last_month,
    "last-24-hours": _last_24_hours,
    "last-7-days": _last_days(7),
    "last-30-days": _last_days(30),
    "current-shift": _current_shift,
    "previous-shift": _previous_shift,
}

# --- explicit intervals ------------------------------------------------------------------------------


def _interval(text: str, zone: ZoneInfo) -> TimeRange:
    left, _, right = text.partition("/")
    start, end = _instant(left.strip(), zone), _instant(right.strip(), zone)
    if end <= start:
        raise RangeError(f"range {_shown(text)} is reversed or empty: its end must be after its start")
    if end - start > MAX_INTERVAL:
        raise RangeError(f"range {_shown(text)} spans more than {MAX_INTERVAL.days} days")
    return TimeRange(start, end)


def _instant(text: str, zone: ZoneInfo) -> datetime:
    """One side of an interval as a UTC instant; a side without an offset is plant-local time."""
    if not _ISO_DATE_TIME.fullmatch(text):
        raise RangeError(
            f"{_shown(text)} is not an ISO 8601 date-time; write an interval like {EXAMPLE_INTERVAL} "
            "(in a URL, encode '+' as %2B)"
        )
    try:
        parsed = datetime.fromisoformat(text)
        local = parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)
        return local.astimezone(UTC)
    # Out-of-range fields (month 13, hour 24) and instants beyond year 1..9999 once shifted to UTC.
    except (ValueError, OverflowError) as error:
        raise RangeError(f"{_shown(text)} is not a valid date-time: {error}") from error
