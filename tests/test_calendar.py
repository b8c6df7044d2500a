"""The planned-production calendar: shift occurrences clipped to a range, and interval arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from models.calendar import contains, intersect, merge, shift_occurrences, shift_ranges, subtract, total_ms
from models.ranges import Shift, TimeRange

pytestmark = pytest.mark.backend_independent  # pure: no database


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def r(a: datetime, b: datetime) -> TimeRange:
    return TimeRange(a, b)


def test_no_shifts_is_the_whole_range() -> None:
    within = r(utc(2026, 3, 2), utc(2026, 3, 3))
    assert shift_ranges([], "UTC", within) == [within]


def test_day_shift_clipped_to_the_range_in_plant_time() -> None:
    # Monday 06:00-14:00 in Berlin (UTC+1 in March before DST) = 05:00-13:00 UTC.
    shifts = [Shift(0, 6, 8)]
    got = shift_ranges(shifts, "Europe/Berlin", r(utc(2026, 3, 2, 10), utc(2026, 3, 3)))
    assert got == [r(utc(2026, 3, 2, 10), utc(2026, 3, 2, 13))]


def test_night_shift_from_the_previous_day_reaches_into_the_range() -> None:
    # Sunday 22:00 + 8 h ends Monday 06:00.
    got = shift_ranges([Shift(6, 22, 8)], "UTC", r(utc(2026, 3, 2), utc(2026, 3, 3)))
    assert got == [r(utc(2026, 3, 2), utc(2026, 3, 2, 6))]


def test_touching_shifts_merge() -> None:
    got = shift_ranges([Shift(0, 6, 8), Shift(0, 14, 8)], "UTC", r(utc(2026, 3, 2), utc(2026, 3, 3)))
    assert got == [r(utc(2026, 3, 2, 6), utc(2026, 3, 2, 22))]
    assert total_ms(got) == 16 * 3600 * 1000


def test_subtract_and_intersect() -> None:
    base = [r(utc(2026, 1, 1, 0), utc(2026, 1, 1, 10))]
    cut = merge([r(utc(2026, 1, 1, 2), utc(2026, 1, 1, 3)), r(utc(2026, 1, 1, 5), utc(2026, 1, 1, 12))])
    assert subtract(base, cut) == [
        r(utc(2026, 1, 1, 0), utc(2026, 1, 1, 2)),
        r(utc(2026, 1, 1, 3), utc(2026, 1, 1, 5)),
    ]
    assert intersect(cut, r(utc(2026, 1, 1, 6), utc(2026, 1, 1, 7))) == [
        r(utc(2026, 1, 1, 6), utc(2026, 1, 1, 7))
    ]
    assert contains(base, utc(2026, 1, 1, 9, 59)) and not contains(base, utc(2026, 1, 1, 10))


def test_back_to_back_shifts_stay_separate_occurrences_and_a_handover_is_not_counted_twice() -> None:
    within = r(utc(2026, 3, 2), utc(2026, 3, 3))
    got = shift_occurrences([Shift(0, 6, 8), Shift(0, 14, 8)], "UTC", within)
    assert got == [r(utc(2026, 3, 2, 6), utc(2026, 3, 2, 14)), r(utc(2026, 3, 2, 14), utc(2026, 3, 2, 22))]
    overlapping = shift_occurrences([Shift(0, 6, 8.5), Shift(0, 14, 8)], "UTC", within)
    # The half hour of handover belongs to the first shift only; the second starts when it ends.
    assert overlapping == [
        r(utc(2026, 3, 2, 6), utc(2026, 3, 2, 14, 30)),
        r(utc(2026, 3, 2, 14, 30), utc(2026, 3, 2, 22)),
    ]
