"""Range codes (SPEC section 6): plant days, weeks, months, shifts and ISO intervals, in UTC and across DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from models.ranges import RangeError, Shift, TimeRange, range_view, resolve_range

pytestmark = pytest.mark.backend_independent  # pure: no database

LONDON = "Europe/London"
# Mon-Fri: morning 06-14, afternoon 14-22, night 22-06 (the Friday night ends Saturday 06:00).
THREE_SHIFTS = tuple(Shift(day, hour, 8) for day in range(5) for hour in (6, 14, 22))
# Wednesday 2025-05-07 10:30 UTC; Monday of that week is 2025-05-05.
WEDNESDAY = datetime(2025, 5, 7, 10, 30, tzinfo=UTC)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def span(start: datetime, end: datetime) -> TimeRange:
    return TimeRange(start, end)


def hours(r: TimeRange) -> float:
    return (r.end - r.start) / timedelta(hours=1)


# --- named codes, UTC plant, day starts at midnight ---------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("today", span(at(2025, 5, 7), at(2025, 5, 8))),
        ("yesterday", span(at(2025, 5, 6), at(2025, 5, 7))),
        ("this-week", span(at(2025, 5, 5), at(2025, 5, 12))),
        ("last-week", span(at(2025, 4, 28), at(2025, 5, 5))),
        ("this-month", span(at(2025, 5, 1), at(2025, 6, 1))),
        ("last-month", span(at(2025, 4, 1), at(2025, 5, 1))),
        ("last-24-hours", span(at(2025, 5, 6, 10, 30), at(2025, 5, 7, 10, 30))),
        ("last-7-days", span(at(2025, 5, 1), at(2025, 5, 8))),
        ("last-30-days", span(at(2025, 4, 8), at(2025, 5, 8))),
        ("current-shift", span(at(2025, 5, 7), at(2025, 5, 8))),
        ("previous-shift", span(at(2025, 5, 6), at(2025, 5, 7))),
    ],
)
def test_every_named_code_in_utc(code: str, expected: TimeRange) -> None:
    assert resolve_range(code, now=WEDNESDAY, timezone="UTC") == expected


def test_last_month_in_january_is_december_of_the_year_before() -> None:
    r = resolve_range("last-month", now=at(2025, 1, 15), timezone="UTC")
    assert r == span(at(2024, 12, 1), at(2025, 1, 1))


def test_the_day_start_itself_belongs_to_the_new_day() -> None:
    assert resolve_range("today", now=at(2025, 5, 7), timezone="UTC") == span(at(2025, 5, 7), at(2025, 5, 8))


def test_code_is_stripped_but_case_sensitive() -> None:
    assert resolve_range("  today \n", now=WEDNESDAY, timezone="UTC") == span(at(2025, 5, 7), at(2025, 5, 8))
    with pytest.raises(RangeError, match="unknown range code 'Today'"):
        resolve_range("Today", now=WEDNESDAY, timezone="UTC")


def test_now_in_another_offset_is_the_same_instant() -> None:
    plus_two = WEDNESDAY.astimezone(timezone(timedelta(hours=2)))
    assert resolve_range("last-24-hours", now=plus_two, timezone="UTC") == resolve_range(
        "last-24-hours", now=WEDNESDAY, timezone="UTC"
    )


# --- London, day starts at 06:00 ---------------------------------------------------------------------


def test_before_the_day_start_is_still_the_previous_plant_day() -> None:
    # 05:30 BST on Wednesday 7 May is before the 06:00 start: still Tuesday's plant day.
    r = resolve_range("today", now=at(2025, 5, 7, 4, 30), timezone=LONDON, day_start_hour=6)
    assert r == span(at(2025, 5, 6, 5), at(2025, 5, 7, 5))


def test_after_the_day_start_is_the_new_plant_day() -> None:
    r = resolve_range("yesterday", now=at(2025, 5, 7, 5), timezone=LONDON, day_start_hour=6)
    assert r == span(at(2025, 5, 6, 5), at(2025, 5, 7, 5))


@pytest.mark.parametrize(
    ("now", "expected", "length"),
    [
        # Spring forward at 01:00 GMT on Sunday 30 March: midnight GMT to midnight BST.
        (at(2025, 3, 30, 12), span(at(2025, 3, 30), at(2025, 3, 30, 23)), 23),
        # Fall back at 01:00 GMT on Sunday 26 October: midnight BST to midnight GMT.
        (at(2025, 10, 26, 12), span(at(2025, 10, 25, 23), at(2025, 10, 27)), 25),
    ],
)
def test_today_lasts_23_or_25_hours_on_dst_days(now: datetime, expected: TimeRange, length: int) -> None:
    r = resolve_range("today", now=now, timezone=LONDON)
    assert r == expected
    assert hours(r) == length


def test_with_a_six_oclock_start_the_short_day_is_the_saturday_plant_day() -> None:
    # Sunday 30 March 03:00 BST is before 06:00: the plant day that began Saturday 06:00 GMT, 23 h long.
    r = resolve_range("today", now=at(2025, 3, 30, 2), timezone=LONDON, day_start_hour=6)
    assert r == span(at(2025, 3, 29, 6), at(2025, 3, 30, 5))
    assert hours(r) == 23


def test_week_across_spring_forward_is_167_hours_and_starts_monday() -> None:
    # Sunday 30 March noon: the week began Monday 24 March.
    r = resolve_range("this-week", now=at(2025, 3, 30, 12), timezone=LONDON, day_start_hour=6)
    assert r == span(at(2025, 3, 24, 6), at(2025, 3, 31, 5))
    assert hours(r) == 167


def test_week_across_fall_back_is_169_hours() -> None:
    r = resolve_range("this-week", now=at(2025, 10, 22, 12), timezone=LONDON, day_start_hour=6)
    assert r == span(at(2025, 10, 20, 5), at(2025, 10, 27, 6))
    assert hours(r) == 169


def test_early_monday_is_still_last_weeks_sunday() -> None:
    # Monday 31 March 05:00 BST, before the day start: this-week is still the week of 24 March.
    r = resolve_range("this-week", now=at(2025, 3, 31, 4), timezone=LONDON, day_start_hour=6)
    assert r.start == at(2025, 3, 24, 6)
    last = resolve_range("last-week", now=at(2025, 3, 31, 4), timezone=LONDON, day_start_hour=6)
    assert last == span(at(2025, 3, 17, 6), at(2025, 3, 24, 6))


def test_this_month_march_2025_in_london() -> None:
    # 1 April 05:00 BST is before the day start, so the plant day is 31 March and the month is March.
    r = resolve_range("this-month", now=at(2025, 4, 1, 4), timezone=LONDON, day_start_hour=6)
    assert r == span(at(2025, 3, 1, 6), at(2025, 4, 1, 5))
    assert hours(r) == 31 * 24 - 1


def test_last_month_from_april_in_london() -> None:
    r = resolve_range("last-month", now=at(2025, 4, 15, 12), timezone=LONDON, day_start_hour=6)
    assert r == span(at(2025, 3, 1, 6), at(2025, 4, 1, 5))


def test_last_7_days_in_london_are_whole_plant_days_ending_with_today() -> None:
    r = resolve_range("last-7-days", now=at(2025, 4, 2, 12), timezone=LONDON, day_start_hour=6)
    # 27 March 06:00 GMT to 3 April 06:00 BST, across the spring change.
    assert r == span(at(2025, 3, 27, 6), at(2025, 4, 3, 5))
    assert hours(r) == 7 * 24 - 1


def test_last_24_hours_ignores_the_plant_day() -> None:
    r = resolve_range("last-24-hours", now=at(2025, 3, 30, 12), timezone=LONDON, day_start_hour=6)
    assert r == span(at(2025, 3, 29, 12), at(2025, 3, 30, 12))


def test_without_shifts_a_shift_is_the_plant_day() -> None:
    now = at(2025, 5, 7, 4, 30)
    tuesday = span(at(2025, 5, 6, 5), at(2025, 5, 7, 5))
    monday = span(at(2025, 5, 5, 5), at(2025, 5, 6, 5))
    assert resolve_range("current-shift", now=now, timezone=LONDON, day_start_hour=6) == tuesday
    assert resolve_range("previous-shift", now=now, timezone=LONDON, day_start_hour=6) == monday


# --- shifts ------------------------------------------------------------------------------------------


def shift_at(
    code: str, now: datetime, shifts: tuple[Shift, ...] = THREE_SHIFTS, tz: str = "UTC"
) -> TimeRange:
    return resolve_range(code, now=now, timezone=tz, shifts=shifts)


@pytest.mark.parametrize(
    ("now", "current", "previous"),
    [
        # Wednesday mid-morning.
        (WEDNESDAY, span(at(2025, 5, 7, 6), at(2025, 5, 7, 14)), span(at(2025, 5, 6, 22), at(2025, 5, 7, 6))),
        # Tuesday 03:00: inside Monday's night shift, which crossed midnight.
        (
            at(2025, 5, 6, 3),
            span(at(2025, 5, 5, 22), at(2025, 5, 6, 6)),
            span(at(2025, 5, 5, 14), at(2025, 5, 5, 22)),
        ),
        # Exactly 06:00 Wednesday: the night shift has ended (half-open), the morning one has begun.
        (
            at(2025, 5, 7, 6),
            span(at(2025, 5, 7, 6), at(2025, 5, 7, 14)),
            span(at(2025, 5, 6, 22), at(2025, 5, 7, 6)),
        ),
        # Saturday 02:00: Friday's night shift is still running.
        (
            at(2025, 5, 10, 2),
            span(at(2025, 5, 9, 22), at(2025, 5, 10, 6)),
            span(at(2025, 5, 9, 14), at(2025, 5, 9, 22)),
        ),
    ],
)
def test_current_and_previous_shift(now: datetime, current: TimeRange, previous: TimeRange) -> None:
    assert shift_at("current-shift", now) == current
    assert shift_at("previous-shift", now) == previous


@pytest.mark.parametrize("now", [at(2025, 5, 10, 10), at(2025, 5, 10, 6), at(2025, 5, 12, 3)])
def test_no_shift_running_on_the_weekend(now: datetime) -> None:
    # Saturday 10:00, Saturday 06:00 sharp, Monday 03:00 (no Sunday night shift in this pattern).
    with pytest.raises(RangeError, match=r"^no shift is running now$"):
        shift_at("current-shift", now)
    assert shift_at("previous-shift", now) == span(at(2025, 5, 9, 22), at(2025, 5, 10, 6))


def test_sunday_night_shift_runs_into_monday() -> None:
    shifts = (Shift(6, 22, 8), Shift(0, 6, 8))
    assert shift_at("current-shift", at(2025, 5, 12, 3), shifts) == span(
        at(2025, 5, 11, 22), at(2025, 5, 12, 6)
    )
    # Monday's morning shift is the pattern's only other one: it ran a week earlier.
    assert shift_at("previous-shift", at(2025, 5, 12, 3), shifts) == span(
        at(2025, 5, 5, 6), at(2025, 5, 5, 14)
    )


def test_fractional_start_hours() -> None:
    shifts = (Shift(2, 5.5, 8.25),)
    assert shift_at("current-shift", WEDNESDAY, shifts) == span(at(2025, 5, 7, 5, 30), at(2025, 5, 7, 13, 45))


def test_overlapping_shifts_now_belongs_to_the_one_started_last() -> None:
    shifts = (Shift(2, 6, 9), Shift(2, 14, 8))
    assert shift_at("current-shift", at(2025, 5, 7, 14, 30), shifts) == span(
        at(2025, 5, 7, 14), at(2025, 5, 7, 22)
    )
    # The 06:00-15:00 shift had not ended when the current one began: the previous is last week's 14:00.
    assert shift_at("previous-shift", at(2025, 5, 7, 14, 30), shifts) == span(
        at(2025, 4, 30, 14), at(2025, 4, 30, 22)
    )


@pytest.mark.parametrize(
    ("now", "expected", "length"),
    [
        # Saturday 22:00 GMT to Sunday 06:00 BST: 7 hours elapsed on spring-forward night.
        (at(2025, 3, 30, 3), span(at(2025, 3, 29, 22), at(2025, 3, 30, 5)), 7),
        # Saturday 22:00 BST to Sunday 06:00 GMT: 9 hours elapsed on fall-back night.
        (at(2025, 10, 26, 3), span(at(2025, 10, 25, 21), at(2025, 10, 26, 6)), 9),
    ],
)
def test_night_shift_ends_at_local_wall_time_across_dst(
    now: datetime, expected: TimeRange, length: int
) -> None:
    r = shift_at("current-shift", now, (Shift(5, 22, 8),), LONDON)
    assert r == expected
    assert hours(r) == length


def test_shift_swallowed_by_the_spring_forward_gap_does_not_happen_that_day() -> None:
    # Sunday 01:30-02:00 local: on 30 March 01:30 reads as 02:30 BST, after the 02:00 BST end.
    shifts = (Shift(6, 1.5, 0.5),)
    with pytest.raises(RangeError, match="no shift is running now"):
        shift_at("current-shift", at(2025, 3, 30, 1, 45), shifts, LONDON)
    assert shift_at("previous-shift", at(2025, 3, 30, 3), shifts, LONDON) == span(
        at(2025, 3, 23, 1, 30), at(2025, 3, 23, 2)
    )


@pytest.mark.parametrize(
    ("week_day", "start_hour", "duration_hours"),
    [(7, 6, 8), (-1, 6, 8), (0, 24, 8), (0, -1, 8), (0, 6, 0), (0, 6, 169), (0, float("nan"), 8)],
)
def test_shift_rejects_impossible_values(week_day: int, start_hour: float, duration_hours: float) -> None:
    with pytest.raises(ValueError, match="shift"):
        Shift(week_day, start_hour, duration_hours)


# --- explicit ISO intervals --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("2025-05-01T00:00:00Z/2025-05-02T00:00:00Z", span(at(2025, 5, 1), at(2025, 5, 2))),
        (
            "2025-05-01T08:00:00+02:00/2025-05-01T17:30:00.250+02:00",
            span(at(2025, 5, 1, 6), datetime(2025, 5, 1, 15, 30, 0, 250_000, tzinfo=UTC)),
        ),
        ("2025-05-01T00:00Z/2025-05-01T01:00-05:00", span(at(2025, 5, 1), at(2025, 5, 1, 6))),
        # No offset: plant-local (London is on BST in July).
        ("2025-07-01T00:00:00/2025-07-02T00:00:00", span(at(2025, 6, 30, 23), at(2025, 7, 1, 23))),
        # Mixed, with whitespace around the sides.
        (" 2025-07-01T06:00 / 2025-07-01T12:00:00Z ", span(at(2025, 7, 1, 5), at(2025, 7, 1, 12))),
        # Exactly 400 days is allowed.
        ("2024-01-01T00:00:00Z/2025-02-04T00:00:00Z", span(at(2024, 1, 1), at(2025, 2, 4))),
    ],
)
def test_iso_intervals(code: str, expected: TimeRange) -> None:
    assert resolve_range(code, now=WEDNESDAY, timezone=LONDON, day_start_hour=6) == expected


def test_naive_side_in_a_dst_gap_reads_with_the_offset_before_the_change() -> None:
    r = resolve_range("2025-03-30T01:30/2025-03-30T04:00", now=WEDNESDAY, timezone=LONDON)
    assert r == span(at(2025, 3, 30, 1, 30), at(2025, 3, 30, 3))


@pytest.mark.parametrize(
    "code", ["2025-05-02T00:00:00Z/2025-05-01T00:00:00Z", "2025-05-01T02:00:00+02:00/2025-05-01T00:00:00Z"]
)
def test_reversed_interval_is_refused(code: str) -> None:
    with pytest.raises(RangeError, match="reversed or empty"):
        resolve_range(code, now=WEDNESDAY, timezone="UTC")


def test_empty_interval_is_refused() -> None:
    with pytest.raises(RangeError, match="reversed or empty"):
        resolve_range("2025-05-01T00:00:00Z/2025-05-01T00:00:00Z", now=WEDNESDAY, timezone="UTC")


def test_interval_over_400_days_is_refused() -> None:
    with pytest.raises(RangeError, match="more than 400 days"):
        resolve_range("2024-01-01T00:00:00Z/2025-02-04T00:00:00.001Z", now=WEDNESDAY, timezone="UTC")


@pytest.mark.parametrize(
    "code",
    [
        "/",
        "2025-05-01T00:00:00Z/",
        "yesterday/today",
        "2025-05-01/2025-05-02",
        "20250501T000000Z/20250502T000000Z",
        "2025-W18-1T00:00/2025-W18-2T00:00",
        "2025-05-01T00:00:00Z/2025-05-02T00:00:00Z/2025-05-03T00:00:00Z",
        "2025-13-01T00:00:00Z/2025-05-02T00:00:00Z",
        "2025-05-01T24:00:00Z/2025-05-02T00:00:00Z",
        "2025-05-01T00:00:00 02:00/2025-05-02T00:00:00Z",
        "0001-01-01T00:00:00+01:00/2025-01-01T00:00:00Z",
        # Fullwidth digits: fromisoformat must never see them.
        "\uff12\uff10\uff12\uff15-05-01T00:00:00Z/2025-05-02T00:00:00Z",
    ],
)
def test_garbage_interval_is_a_range_error(code: str) -> None:
    with pytest.raises(RangeError) as caught:
        resolve_range(code, now=WEDNESDAY, timezone="UTC")
    assert "\n" not in str(caught.value)


def test_bad_side_message_shows_the_expected_shape() -> None:
    with pytest.raises(
        RangeError, match=r"'2025-05-01' is not an ISO 8601 date-time; write an interval like"
    ):
        resolve_range("2025-05-01/2025-05-02", now=WEDNESDAY, timezone="UTC")


# --- errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["tomorrow", "", "this_week", "last-8-days", "current shift"])
def test_unknown_code_lists_the_valid_ones(code: str) -> None:
    with pytest.raises(RangeError) as caught:
        resolve_range(code, now=WEDNESDAY, timezone="UTC")
    message = str(caught.value)
    assert message.startswith(f"unknown range code {code!r}; use one of today, yesterday, this-week,")
    assert message.endswith("or an ISO interval like 2025-05-01T00:00:00Z/2025-05-02T00:00:00Z")


def test_a_huge_code_is_cut_short_in_the_message() -> None:
    with pytest.raises(RangeError) as caught:
        resolve_range("x" * 10_000, now=WEDNESDAY, timezone="UTC")
    assert len(str(caught.value)) < 400
    assert "..." in str(caught.value)


@pytest.mark.parametrize(
    "tz", ["Mars/Base", "Europe", "", "../etc/passwd", "/etc/localtime", "utc", "x" * 300]
)
def test_unknown_timezone_is_a_range_error(tz: str) -> None:
    with pytest.raises(RangeError, match=r"^unknown timezone .*; use an IANA name like Europe/London$"):
        resolve_range("today", now=WEDNESDAY, timezone=tz)


@pytest.mark.parametrize("hour", [-1, 24])
def test_day_start_hour_outside_the_day_is_a_range_error(hour: int) -> None:
    with pytest.raises(RangeError, match="day start hour"):
        resolve_range("today", now=WEDNESDAY, timezone="UTC", day_start_hour=hour)


def test_naive_now_is_a_programming_error_not_a_range_error() -> None:
    with pytest.raises(ValueError, match="now must be timezone-aware") as caught:
        resolve_range("today", now=datetime(2025, 5, 7), timezone="UTC")
    assert not isinstance(caught.value, RangeError)


# --- TimeRange and its wire view ---------------------------------------------------------------------


def test_time_range_is_stored_in_utc_and_refuses_naive_or_reversed_bounds() -> None:
    plus_two = timezone(timedelta(hours=2))
    r = TimeRange(datetime(2025, 5, 1, 2, tzinfo=plus_two), datetime(2025, 5, 1, 3, tzinfo=plus_two))
    assert r.start.tzinfo is UTC and r == span(at(2025, 5, 1), at(2025, 5, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        TimeRange(datetime(2025, 5, 1), at(2025, 5, 2))
    with pytest.raises(ValueError, match="ends before it starts"):
        TimeRange(at(2025, 5, 2), at(2025, 5, 1))


def test_duration_ms_is_the_difference_of_the_millisecond_bounds() -> None:
    r = TimeRange(
        datetime(2025, 5, 1, 0, 0, 0, 900, tzinfo=UTC), datetime(2025, 5, 1, 0, 0, 0, 1_100, tzinfo=UTC)
    )
    assert r.duration_ms == 1
    assert span(at(2025, 5, 1), at(2025, 5, 2)).duration_ms == 86_400_000


def test_range_view() -> None:
    r = resolve_range("today", now=at(2025, 3, 30, 12), timezone=LONDON)
    assert range_view(r) == {
        "from": 1_743_292_800_000,
        "to": 1_743_375_600_000,
        "duration": 82_800_000,
        "fromIso": "2025-03-30T00:00:00.000Z",
        "toIso": "2025-03-30T23:00:00.000Z",
        "durationFormatted": "23h 00m",
    }


def test_range_view_keeps_milliseconds() -> None:
    r = resolve_range("2025-05-01T00:00:00.250Z/2025-05-03T03:04:05.999999Z", now=WEDNESDAY, timezone="UTC")
    view = range_view(r)
    assert view["from"] == 1_746_057_600_250
    assert view["to"] == 1_746_241_445_999
    assert view["duration"] == view["to"] - view["from"]
    assert view["fromIso"] == "2025-05-01T00:00:00.250Z"
    assert view["toIso"] == "2025-05-03T03:04:05.999Z"
    assert view["durationFormatted"] == "2d 03h"
