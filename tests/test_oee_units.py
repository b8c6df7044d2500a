"""Pure pieces of the analysis: percentages, the OEE product, plant-local windows, range sweeps."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from models.calendar import intersect, merge, subtract
from models.oee import buckets, oee_percent, percent
from models.ranges import Shift, TimeRange
from resolvers.analysis.figures import Span, _within, _without

pytestmark = pytest.mark.backend_independent  # pure: no database

T0 = datetime(2025, 3, 29, tzinfo=UTC)


def test_percentages_round_clamp_and_go_null_without_a_base() -> None:
    assert percent(1, 3) == 33.33 and percent(5, 0) is None and percent(7, 5) == 100.0
    assert oee_percent(93.33, 80.0, 93.75) == 70.0
    assert oee_percent(None, 80.0, 90.0) is None and oee_percent(90.0, 0.0, None) == 0.0


def test_day_windows_follow_the_plant_clock_across_dst() -> None:
    # London springs forward at 01:00 on 2025-03-30: the plant day from 06:00 on the 29th lasts 23 hours.
    span = TimeRange(T0, T0 + timedelta(days=3))
    days = buckets("day", span, timezone="Europe/London", day_start_hour=6, shifts=[])
    assert [d.duration_ms // 3_600_000 for d in days] == [6, 23, 24, 19]
    hours = buckets(
        "hour", TimeRange(T0, T0 + timedelta(hours=5)), timezone="Asia/Kolkata", day_start_hour=0, shifts=[]
    )
    assert hours[0].end.minute == 30 and len(hours) == 6
    shifts = buckets("shift", span, timezone="UTC", day_start_hour=0, shifts=[Shift(0, 22, 8)])
    assert [(s.start.isoformat(), s.duration_ms) for s in shifts] == [
        ("2025-03-31T22:00:00+00:00", 2 * 3_600_000)
    ]


def _random_ranges(rng: random.Random, count: int) -> list[TimeRange]:
    found = []
    for _ in range(count):
        start = T0 + timedelta(minutes=rng.randrange(0, 2000))
        found.append(TimeRange(start, start + timedelta(minutes=rng.randrange(1, 120))))
    return merge(found)


def test_sweeps_agree_with_the_calendar_functions() -> None:
    rng = random.Random(7)
    for _ in range(300):
        ranges, cuts = _random_ranges(rng, 12), _random_ranges(rng, 12)
        assert _without(ranges, cuts) == [(r.start, r.end) for r in subtract(ranges, cuts)]
        [span] = _random_ranges(rng, 1)
        found = _within(ranges, [r.end for r in ranges], Span(span.start, span.end))
        assert found == [(r.start, r.end) for r in intersect(ranges, span)]
