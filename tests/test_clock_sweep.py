"""A clock sweep: the time-sensitive rules at every 90 minutes of whole weeks, against expectations
written out here rather than computed by the code under test.

Six weeks: a spring-forward and a fall-back week in each of three plant time zones (America/Chicago,
Europe/London, and Australia/Sydney, whose clocks go forward in October). Each runs from the Thursday
before its change to the Thursday after, so it crosses a Monday (the week codes) and the change. At each
instant, for plant days starting at 00:00, 02:00 (inside Chicago's and Sydney's change hour) and 06:00:
range codes (today, yesterday, this-week, last-7-days, last-24-hours, current-shift and previous-shift
with a night shift across the change), plant days, the daily summary that is due, the demo week and its
schedule, and escalation deadlines and reminders.

The expectations call neither models.ranges nor zoneinfo: each week carries its UTC offsets before and
after its change (checked against the tz database once, in the first test), and the rules are restated
from docs/issues.md, docs/notifications.md and docs/demo.md as arithmetic on those offsets. A few
figures are plain literals (the 23 and 25 hour plant days, the 7 and 9 hour night shifts). Pure rules
only: no database, so the module runs once whatever the backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from models.ranges import RangeError, Shift, TimeRange, plant_day, resolve_range, summary_day
from models.tenancy import Plant
from resolvers.demo.layout import GROUPS, _schedule, demo_week
from resolvers.issues.escalation import due_conditions, time_deadlines
from resolvers.mail.reminders import due_reminder

pytestmark = pytest.mark.backend_independent

STEP = timedelta(minutes=90)
INSTANTS = 7 * 24 * 60 // 90  # one whole week of them
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
TICK = timedelta(microseconds=1)  # the finest step a datetime takes: "just before"
DAY_START_HOURS = (0, 2, 6)
SUMMARY_HOURS = (1, 2, 7)  # 1 and 2: inside London's, Chicago's and Sydney's change hours; 7: the default


@dataclass(frozen=True)
class Week:
    """A plant time zone around one clock change, as a table: the change and the offsets either side."""

    name: str
    zone: str
    change: datetime  # the UTC instant the clocks change
    before: timedelta  # UTC offset before it
    after: timedelta  # and after

    def local(self, moment: datetime) -> datetime:
        """The plant's wall clock (naive) at a UTC instant."""
        offset = self.before if moment < self.change else self.after
        return (moment + offset).replace(tzinfo=None)

    def utc(self, wall: datetime) -> datetime:
        """A wall time read as docs/issues.md says (fold=0): before the later of the two wall readings of
        the change, the offset before it (a time in a spring-forward gap lands later by the gap, an
        ambiguous fall-back time is its first occurrence); from that reading on, the offset after it."""
        settled = (self.change + max(self.before, self.after)).replace(tzinfo=None)
        return (wall - (self.before if wall < settled else self.after)).replace(tzinfo=UTC)

    def instants(self) -> list[datetime]:
        """Every 90 minutes from local midnight on the Thursday before the change, for a week."""
        thursday = self.local(self.change).date() - timedelta(days=3)
        start = self.utc(datetime.combine(thursday, time()))
        return [start + i * STEP for i in range(INSTANTS)]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _h(hours: float) -> timedelta:
    return timedelta(hours=hours)


# The 2025 changes (tz database, restated by hand; test_the_offset_tables_are_the_tz_database checks them).
WEEKS = [
    Week("chicago-spring", "America/Chicago", _utc("2025-03-09T08:00"), _h(-6), _h(-5)),
    Week("chicago-fall", "America/Chicago", _utc("2025-11-02T07:00"), _h(-5), _h(-6)),
    Week("london-spring", "Europe/London", _utc("2025-03-30T01:00"), _h(0), _h(1)),
    Week("london-fall", "Europe/London", _utc("2025-10-26T01:00"), _h(1), _h(0)),
    Week("sydney-fall", "Australia/Sydney", _utc("2025-04-05T16:00"), _h(11), _h(10)),
    Week("sydney-spring", "Australia/Sydney", _utc("2025-10-04T16:00"), _h(10), _h(11)),
]
BY_NAME = {w.name: w for w in WEEKS}

# The one plant day of each week that is not 24 hours long, by week and day start hour, worked out by
# hand from the table above. A day start after the change's wall hour on its Sunday (06:00, and 02:00 in
# London and after Chicago's fold) makes the Saturday's plant day the odd one; 02:00 is in the gap in
# Chicago's spring and Sydney's, and in the fold of Sydney's autumn.
ODD_DAYS: dict[tuple[str, int], tuple[date, int]] = {
    ("chicago-spring", 0): (date(2025, 3, 9), 23),
    ("chicago-spring", 2): (date(2025, 3, 9), 23),  # Sunday 02:00 is in the gap: 03:00 CDT
    ("chicago-spring", 6): (date(2025, 3, 8), 23),
    ("chicago-fall", 0): (date(2025, 11, 2), 25),
    ("chicago-fall", 2): (date(2025, 11, 1), 25),  # Sunday 02:00 is after the fold: CST
    ("chicago-fall", 6): (date(2025, 11, 1), 25),
    ("london-spring", 0): (date(2025, 3, 30), 23),
    ("london-spring", 2): (date(2025, 3, 29), 23),
    ("london-spring", 6): (date(2025, 3, 29), 23),
    ("london-fall", 0): (date(2025, 10, 26), 25),
    ("london-fall", 2): (date(2025, 10, 25), 25),
    ("london-fall", 6): (date(2025, 10, 25), 25),
    ("sydney-fall", 0): (date(2025, 4, 6), 25),
    ("sydney-fall", 2): (date(2025, 4, 6), 25),  # Sunday 02:00 is ambiguous: its first occurrence, AEDT
    ("sydney-fall", 6): (date(2025, 4, 5), 25),
    ("sydney-spring", 0): (date(2025, 10, 5), 23),
    ("sydney-spring", 2): (date(2025, 10, 5), 23),  # Sunday 02:00 is in the gap: 03:00 AEDT
    ("sydney-spring", 6): (date(2025, 10, 4), 23),
}

# Every night 22:00 + 8 h (the Saturday night spans each week's change), weekday mornings and afternoons:
# (weekday, start hour, hours), as the Shift values below.
SHIFT_TABLE = [(d, 22.0, 8.0) for d in range(7)] + [(d, h, 8.0) for d in range(5) for h in (6.0, 14.0)]
SHIFTS = tuple(Shift(*row) for row in SHIFT_TABLE)
# The Saturday night across the change lasts 7 hours of elapsed time in spring, 9 in the fall.
NIGHT_ACROSS_THE_CHANGE = {"spring": 7, "fall": 9}

week_cases = pytest.mark.parametrize("week", WEEKS, ids=[w.name for w in WEEKS])
hour_cases = pytest.mark.parametrize("hour", DAY_START_HOURS, ids=[f"day-start-{h}" for h in DAY_START_HOURS])


# --- the expectations ----------------------------------------------------------------------------------


def day_start(week: Week, day: date, hour: int) -> datetime:
    return week.utc(datetime.combine(day, time(hour)))


def plant_date(week: Week, moment: datetime, hour: int) -> date:
    """The plant day containing `moment`: of the dates around its wall date, the latest that has begun."""
    wall = week.local(moment).date()
    return max(d for d in (wall - DAY, wall, wall + DAY) if day_start(week, d, hour) <= moment)


def plant_days(week: Week, first: date, count: int, hour: int) -> TimeRange:
    return TimeRange(day_start(week, first, hour), day_start(week, first + count * DAY, hour))


def expected_ranges(week: Week, now: datetime, hour: int) -> dict[str, TimeRange]:
    today = plant_date(week, now, hour)
    monday = today - today.weekday() * DAY
    return {
        "today": plant_days(week, today, 1, hour),
        "yesterday": plant_days(week, today - DAY, 1, hour),
        "this-week": plant_days(week, monday, 7, hour),
        "last-7-days": plant_days(week, today - 6 * DAY, 7, hour),
        "last-24-hours": TimeRange(now - 24 * HOUR, now),
        # No shifts: the plant runs 24/7 and a shift is the plant day.
        "current-shift": plant_days(week, today, 1, hour),
        "previous-shift": plant_days(week, today - DAY, 1, hour),
    }


@cache
def shift_occurrences(week: Week) -> list[TimeRange]:
    """Occurrences starting on the wall dates from 16 days before the sweep to its end: start and end on the
    wall clock (a 22:00 + 8 h shift ends at 06:00 whatever the change did in between), none where the end
    is not after the start."""
    found = []
    first, last = (week.local(m).date() for m in (week.instants()[0], week.instants()[-1]))
    for offset in range((last - first).days + 17):
        day = first - 16 * DAY + offset * DAY
        for weekday, start_hour, hours in SHIFT_TABLE:
            if weekday == day.weekday():
                wall_start = datetime.combine(day, time()) + _h(start_hour)
                start, end = week.utc(wall_start), week.utc(wall_start + _h(hours))
                if end > start:
                    found.append(TimeRange(start, end))
    return found


def expected_shifts(week: Week, now: datetime) -> tuple[TimeRange | None, TimeRange]:
    """(the occurrence running at now or None, the one that ended last before it began or before now)."""
    occurrences = [o for o in shift_occurrences(week) if o.start <= now]
    current = max((o for o in occurrences if o.start <= now < o.end), key=lambda o: o.start, default=None)
    reference = current.start if current else now
    previous = max((o for o in occurrences if o.end <= reference), key=lambda o: o.end)
    return current, previous


def summary_moment(week: Week, now: datetime, summary_hour: int) -> datetime:
    """The latest summary hour, plant-local, at or before now."""
    wall = week.local(now).date()
    moments = (week.utc(datetime.combine(d, time(summary_hour))) for d in (wall - DAY, wall))
    return max(m for m in moments if m <= now)


def expected_summary_day(week: Week, now: datetime, hour: int, summary_hour: int) -> date:
    """docs/notifications.md: the plant day before the one the latest summary hour belongs to on the wall
    clock (its date's, or the date before's when the hour is earlier than the day start)."""
    wall = week.local(summary_moment(week, now, summary_hour)).date()
    return (wall if summary_hour >= hour else wall - DAY) - DAY


def _resolve(code: str, week: Week, now: datetime, hour: int, shifts: tuple[Shift, ...] = ()) -> TimeRange:
    return resolve_range(code, now=now, timezone=week.zone, day_start_hour=hour, shifts=shifts)


def _at(week: Week, moment: datetime) -> str:
    return f"{moment.isoformat()} ({week.local(moment):%a %Y-%m-%d %H:%M} local)"


def _report(wrong: list[str]) -> str:
    return f"{len(wrong)} mismatches, the first:\n" + "\n".join(wrong[:12])


# --- the table itself ----------------------------------------------------------------------------------


@week_cases
def test_the_offset_tables_are_the_tz_database(week: Week) -> None:
    """The expectations rest on the table: every half hour of the 60 days around the change, both ways."""
    zone = ZoneInfo(week.zone)
    moment = week.change - 30 * DAY
    while moment < week.change + 30 * DAY:
        assert week.local(moment) == moment.astimezone(zone).replace(tzinfo=None), moment
        wall = week.local(moment)
        assert week.utc(wall) == wall.replace(tzinfo=zone).astimezone(UTC), wall
        gap_or_fold = wall.replace(minute=wall.minute + 15)  # wall times the UTC grid never names
        assert week.utc(gap_or_fold) == gap_or_fold.replace(tzinfo=zone).astimezone(UTC), gap_or_fold
        moment += timedelta(minutes=30)


# --- range codes and plant days ------------------------------------------------------------------------


@week_cases
@hour_cases
def test_day_based_range_codes_at_every_instant(week: Week, hour: int) -> None:
    wrong = []
    for now in week.instants():
        for code, expected in expected_ranges(week, now, hour).items():
            got = _resolve(code, week, now, hour)
            if got != expected:
                wrong.append(f"{code} at {_at(week, now)}: {got} != {expected}")
    assert not wrong, _report(wrong)


@week_cases
def test_shift_codes_at_every_instant(week: Week) -> None:
    wrong = []
    for now in week.instants():
        current, previous = expected_shifts(week, now)
        try:
            got: TimeRange | None = _resolve("current-shift", week, now, 0, SHIFTS)
        except RangeError:
            got = None  # no shift running (weekend days)
        if got != current:
            wrong.append(f"current-shift at {_at(week, now)}: {got} != {current}")
        got_previous = _resolve("previous-shift", week, now, 0, SHIFTS)
        if got_previous != previous:
            wrong.append(f"previous-shift at {_at(week, now)}: {got_previous} != {previous}")
    assert not wrong, _report(wrong)


@week_cases
def test_the_night_shift_across_the_change_lasts_7_or_9_hours(week: Week) -> None:
    """The Saturday 22:00 + 8 h night ends at 06:00 on the wall clock: an hour less or more in between."""
    sunday = week.local(week.change).date()
    during = week.change  # the change itself is inside that night in every zone here
    night = _resolve("current-shift", week, during, 0, SHIFTS)
    assert week.local(night.start) == datetime.combine(sunday - DAY, time(22))
    assert week.local(night.end) == datetime.combine(sunday, time(6))
    assert night.end - night.start == _h(NIGHT_ACROSS_THE_CHANGE[week.name.split("-")[1]])


@week_cases
@hour_cases
def test_plant_days_are_24_hours_but_the_one_across_the_change(week: Week, hour: int) -> None:
    """Every plant day from a week before the sweep to its end (last-7-days reaches that far back), named
    by plant_day() and as `today` at its start, is 24 hours long but the one literal odd day."""
    odd_day, odd_hours = ODD_DAYS[(week.name, hour)]
    first = week.local(week.instants()[0]).date() - 7 * DAY
    for offset in range(16):
        day = first + offset * DAY
        span = plant_day(day, timezone=week.zone, day_start_hour=hour)
        assert span == plant_days(week, day, 1, hour), day
        assert span.end - span.start == _h(odd_hours if day == odd_day else 24), day
        assert _resolve("today", week, span.start, hour) == span, day  # the day start belongs to its day
        assert _resolve("today", week, span.end - TICK, hour) == span, day


# --- the daily summary ---------------------------------------------------------------------------------


# London, day start 02:00, summary hour 01:00 is the case that once skipped a plant day: on 30 March 01:00
# is in the spring-forward gap and its instant is 02:00 BST, the day start; read from that instant, the
# hour fell in the new plant day and plant day 28 March was never due (models.ranges.summary_day).
SUMMARY_CASES = [
    pytest.param(w, h, s, id=f"{w.name}-day-start-{h}-summary-{s}")
    for w in WEEKS
    for h in DAY_START_HOURS
    for s in SUMMARY_HOURS
]
summary_cases = pytest.mark.parametrize(("week", "hour", "summary_hour"), SUMMARY_CASES)


def summary_instants(week: Week, summary_hour: int) -> list[datetime]:
    """The sweep's instants, and every summary hour of the week and the microsecond before it."""
    first = week.local(week.instants()[0]).date()
    hours = [week.utc(datetime.combine(first + i * DAY, time(summary_hour))) for i in range(8)]
    return sorted({*week.instants(), *hours, *(h - TICK for h in hours)})


def _summary(week: Week, now: datetime, hour: int, summary_hour: int) -> date:
    return summary_day(now=now, timezone=week.zone, day_start_hour=hour, summary_hour=summary_hour)


@week_cases
@hour_cases
@pytest.mark.parametrize("summary_hour", SUMMARY_HOURS, ids=[f"summary-{h}" for h in SUMMARY_HOURS])
def test_the_due_summary_at_every_instant(week: Week, hour: int, summary_hour: int) -> None:
    """Which plant day's summary is due: at each instant, at each summary hour and just before it."""
    wrong = []
    for now in summary_instants(week, summary_hour):
        due = _summary(week, now, hour, summary_hour)
        expected = expected_summary_day(week, now, hour, summary_hour)
        if due != expected:
            wrong.append(f"summary at {_at(week, now)}: {due} != {expected}")
    assert not wrong, _report(wrong)


@summary_cases
def test_each_plant_day_comes_due_once_at_its_summary_hour(week: Week, hour: int, summary_hour: int) -> None:
    """From one of those instants to the next, the due summary moves on by exactly one plant day when a
    summary hour came round in between, and stays otherwise: no plant day is skipped or due twice."""
    wrong = []
    instants = summary_instants(week, summary_hour)
    for before, now in pairwise(instants):
        came_round = summary_moment(week, now, summary_hour) > before
        due_before, due = (_summary(week, m, hour, summary_hour) for m in (before, now))
        if due - due_before != (DAY if came_round else timedelta(0)):
            wrong.append(f"summary from {_at(week, before)} to {_at(week, now)}: {due_before} -> {due}")
    assert not wrong, _report(wrong)


def test_the_summary_example_of_the_docs_in_the_week_after_spring_forward() -> None:
    """docs/notifications.md: day start 6, summary hour 7: Tuesday 07:00 sends Monday 06:00 to Tuesday
    06:00. And on the Sunday of the change, the 23-hour Saturday."""
    chicago = "America/Chicago"

    def due(text: str) -> date:
        return summary_day(now=_utc(text), timezone=chicago, day_start_hour=6, summary_hour=7)

    assert due("2025-03-11T12:00") == date(2025, 3, 10)  # Tuesday 07:00 CDT
    assert due("2025-03-11T11:59:59.999999") == date(2025, 3, 9)
    assert plant_day(date(2025, 3, 10), timezone=chicago, day_start_hour=6) == TimeRange(
        _utc("2025-03-10T11:00"), _utc("2025-03-11T11:00")
    )
    assert due("2025-03-09T12:00") == date(2025, 3, 8)  # Sunday 07:00 CDT, after the change
    assert plant_day(date(2025, 3, 8), timezone=chicago, day_start_hour=6) == TimeRange(
        _utc("2025-03-08T12:00"), _utc("2025-03-09T11:00")
    )


# --- the demo week -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Laid:
    """What the demo schedule laid out from one first day covers: its wall dates and its UTC extent."""

    days: frozenset[date]
    first_start: datetime
    last_end: datetime


@cache
def demo_schedule(zone: str, first_day: date) -> Laid:
    stations = [code for _name, codes in GROUPS.values() for code in codes]
    entries = _schedule(stations, ZoneInfo(zone), first_day)
    return Laid(
        frozenset(e.plannedStartAt.replace(tzinfo=None).date() for e in entries),
        min(e.plannedStartAt.astimezone(UTC) for e in entries),
        max(e.plannedEndAt.astimezone(UTC) for e in entries),
    )


@week_cases
@hour_cases
def test_the_demo_week_is_last_7_days_at_every_instant(week: Week, hour: int) -> None:
    """docs/demo.md: the history covers last-7-days at the moment it is written, up to that moment, and
    the schedule's days are the plant days of that range (weekdays only, 06:00-22:00 local, so inside
    them for the day start hours swept here, all up to 06:00)."""
    plant = Plant(timezone=week.zone, day_start_hour=hour)  # unsaved: demo_week reads two fields
    wrong = []
    for now in week.instants():
        today = plant_date(week, now, hour)
        first_day = today - 6 * DAY
        range_ = plant_days(week, first_day, 7, hour)
        span = demo_week(plant, now)
        if (
            span != TimeRange(range_.start, now)
            or span.start != _resolve("last-7-days", week, now, hour).start
        ):
            wrong.append(f"demo week at {_at(week, now)}: {span}, not from {range_.start}")
        # demo_layout lays the schedule out from the local date of the demo week's start.
        if week.local(span.start).date() != first_day:
            wrong.append(f"demo week at {_at(week, now)} starts on {week.local(span.start)}, not {first_day}")
        laid = demo_schedule(week.zone, first_day)
        weekdays = {first_day + i * DAY for i in range(7) if (first_day + i * DAY).weekday() < 5}
        if laid.days != weekdays:
            wrong.append(
                f"demo schedule at {_at(week, now)}: days {sorted(laid.days)}, not {sorted(weekdays)}"
            )
        if laid.first_start < range_.start or laid.last_end > range_.end:
            wrong.append(f"demo schedule at {_at(week, now)}: {laid} reaches outside {range_}")
    assert not wrong, _report(wrong)


# --- escalation ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ev:
    """What due_conditions reads of an event."""

    type: str
    id: int = 0
    estimate_end_at: datetime | None = None


def _config(unacknowledged: float, unestimated: float) -> dict[str, object]:
    return {
        "ESCALATE_UNACKNOWLEDGED_AFTER_MINUTES": unacknowledged,
        "ESCALATE_UNESTIMATED_AFTER_MINUTES": unestimated,
        "ESCALATE_ON_ESTIMATE_EXPIRY": False,
        "ESCALATION_REPEAT_MINUTES": 0,
    }


# (unacknowledged, unestimated) minutes; 0 is off. 75 minutes carries an issue started before the change
# past it; 2.5 is a fraction of a minute.
ESCALATION_CONFIGS = [(10.0, 75.0), (0.0, 75.0), (2.5, 0.0)]
SETTLED_BY = {"unacknowledged": "acknowledge", "unestimated": "estimate"}


def _due(start: datetime, config: dict[str, object], now: datetime, events: tuple[Ev, ...] = ()) -> set[str]:
    return set(due_conditions(start_at=start, events=list(events), config=config, now=now))  # type: ignore[arg-type]


@week_cases
def test_escalation_deadlines_at_every_instant(week: Week) -> None:
    """An issue started at each instant (and minutes before the change) escalates each condition exactly
    when its minutes have elapsed, whatever the wall clock did meanwhile; not a microsecond before; and
    not at all once the event that settles it is there."""
    starts = [*week.instants(), *(week.change - timedelta(minutes=m) for m in (1, 5, 30, 61))]
    wrong = []
    for start in starts:
        for unacknowledged, unestimated in ESCALATION_CONFIGS:
            config = _config(unacknowledged, unestimated)
            minutes = {"unacknowledged": unacknowledged, "unestimated": unestimated}
            expected = {key: start + timedelta(minutes=m) for key, m in minutes.items() if m}
            deadlines = time_deadlines(start_at=start, config=config)
            if deadlines != expected:
                wrong.append(f"deadlines from {_at(week, start)} {minutes}: {deadlines} != {expected}")
            for key, deadline in expected.items():
                for now in (deadline - TICK, deadline):
                    due = {k for k, d in expected.items() if d <= now}
                    if (got := _due(start, config, now)) != due:
                        wrong.append(f"{key} from {_at(week, start)} at {_at(week, now)}: {got} != {due}")
                if key in _due(start, config, deadline + DAY, (Ev(SETTLED_BY[key], 1),)):
                    wrong.append(f"{key} from {_at(week, start)} escalates after {SETTLED_BY[key]}")
    assert not wrong, _report(wrong)


def test_an_escalation_across_the_fall_back_is_due_after_elapsed_minutes_not_wall_minutes() -> None:
    """Chicago, 2 November 2025: a stop at 01:55 CDT is 10 minutes unacknowledged at 01:05 CST, an hour
    earlier on the wall clock than 02:05."""
    week = BY_NAME["chicago-fall"]
    start = _utc("2025-11-02T06:55")
    config = _config(10, 0)
    assert week.local(start) == datetime(2025, 11, 2, 1, 55)
    assert _due(start, config, _utc("2025-11-02T07:04:59.999999")) == set()
    assert _due(start, config, _utc("2025-11-02T07:05")) == {"unacknowledged"}
    assert week.local(_utc("2025-11-02T07:05")) == datetime(2025, 11, 2, 1, 5)


@week_cases
def test_reminders_at_every_instant(week: Week) -> None:
    """Reminder n is due at the first escalation + n x the interval (docs/notifications.md), counted in
    elapsed minutes: 45 minutes from each instant, across the change for the instants before it."""
    every = 45
    wrong = []
    for first in week.instants():
        for n in (1, 2, 3):
            moment = first + n * timedelta(minutes=every)
            for now, expected in ((moment - TICK, n - 1), (moment, n)):
                got = due_reminder(first_escalation_at=first, every_minutes=every, now=now)
                if got != expected:
                    wrong.append(f"reminder from {_at(week, first)} at {_at(week, now)}: {got} != {expected}")
        if due_reminder(first_escalation_at=first, every_minutes=every, now=first - TICK) != 0:
            wrong.append(f"a reminder before the escalation of {_at(week, first)}")
    assert not wrong, _report(wrong)
