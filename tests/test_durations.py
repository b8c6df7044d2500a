"""`durationFormatted` (SPEC section 4): two largest units, floored to whole seconds."""

from __future__ import annotations

import math

import pytest

from models.durations import format_duration

pytestmark = pytest.mark.backend_independent  # pure: no database


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (45_000, "45s"),
        (750_000, "12m 30s"),
        (3_900_000, "1h 05m"),
        (183_600_000, "2d 03h"),
    ],
)
def test_spec_examples(ms: int, text: str) -> None:
    assert format_duration(ms) == text


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "0s"),
        (999, "0s"),
        (1_000, "1s"),
        (59_999, "59s"),
        (60_000, "1m 00s"),
        (3_599_999, "59m 59s"),
        (3_600_000, "1h 00m"),
        (86_399_999, "23h 59m"),
        (86_400_000, "1d 00h"),
    ],
)
def test_unit_boundaries_floor_to_whole_seconds(ms: int, text: str) -> None:
    assert format_duration(ms) == text


def test_negative_counts_as_zero() -> None:
    assert format_duration(-5) == "0s"
    assert format_duration(-86_400_000) == "0s"


def test_days_keep_growing_past_a_year() -> None:
    assert format_duration(400 * 86_400_000) == "400d 00h"
    assert format_duration(400 * 86_400_000 + 23 * 3_600_000 + 3_599_999) == "400d 23h"


def test_floats_are_floored() -> None:
    assert format_duration(59_999.9) == "59s"
    assert format_duration(60_000.0) == "1m 00s"
    assert format_duration(-0.5) == "0s"


@pytest.mark.parametrize("ms", [math.nan, math.inf, -math.inf])
def test_non_finite_is_rejected(ms: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        format_duration(ms)
