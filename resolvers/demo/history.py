"""The demo week's story, station by station: when output comes, which SKU runs, where the stops are.

Pure planning (no database): resolvers.demo.seed plays the plan through the live code paths. Output
comes only in planned production time (in shift, outside non-production schedules), one aggregated
signal a minute with jitter; a planned interval holds a few long stops (half of them with a device
error code naming a cause of the default tree) and a few short micro-stops.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from models.ranges import TimeRange

# Device error codes of the default cause tree (resolvers.catalog.defaults) that the stops name.
ERROR_CODES = (
    "mechanical.conveyor.belt-jam",
    "mechanical.tooling.wear",
    "electrical.sensor",
    "electrical.drive",
    "material.shortage",
)
# Causes operators pick for the stops without an error code.
OPERATOR_CAUSES = ("operator.absent", "changeover.cleaning", "material.defective", "quality.inspection")
SIGNAL_EVERY = 60.0  # seconds between aggregated signals
LONG_STOPS_PER_HOUR = 1 / 3
MICRO_STOPS_PER_HOUR = 1 / 4
LONG_STOP_MINUTES = (5.0, 30.0)
MICRO_STOP_SECONDS = (100.0, 200.0)
SPEED = (0.86, 0.97)  # share of the ideal rate a station runs at, per interval
BAD_SHARE = 0.02


@dataclass(frozen=True, slots=True)
class Output:
    at: datetime
    good: int
    bad: int
    sku: str | None = None  # set on a changeover


@dataclass(frozen=True, slots=True)
class Stop:
    """No output from `last_output` to `end`; detected at `detect_at`, `error_code` sent before that."""

    last_output: datetime
    detect_at: datetime
    end: datetime
    long: bool
    error_code: str | None
    operator_cause: str | None
    acknowledged: bool


@dataclass(slots=True)
class StationPlan:
    outputs: list[Output] = field(default_factory=list)
    stops: list[Stop] = field(default_factory=list)


def plan_station(
    *,
    rng: random.Random,
    planned: list[TimeRange],
    sku_at: list[tuple[TimeRange, str, float]],
    threshold_for: dict[str, timedelta],
    end: datetime,
) -> StationPlan:
    """The station's outputs and stops over its planned intervals, up to `end`.

    `sku_at`: production runs (span, SKU code, ideal cycle seconds); `threshold_for`: per SKU code, how
    long without output is a stop (the detector's rule).
    """
    plan = StationPlan()
    current: str | None = None
    for interval in planned:
        interval = TimeRange(interval.start, min(interval.end, end))
        if interval.end - interval.start < timedelta(minutes=5):
            continue
        run = next((r for r in sku_at if r[0].start <= interval.start < r[0].end), None)
        sku, cycle = (run[1], run[2]) if run else (current or sku_at[0][1], sku_at[0][2])
        stops = _stops_in(rng, interval, threshold_for[sku])
        speed = rng.uniform(*SPEED)
        carry = 0.0
        at = interval.start + timedelta(seconds=rng.uniform(2, 10))
        last = at
        for stop in stops:
            stop_start = stop.last_output
            while at <= stop_start:
                carry, out = _units(rng, carry, (at - last).total_seconds(), cycle, speed)
                plan.outputs.append(Output(at, out[0], out[1], sku if sku != current else None))
                current = sku
                last = at
                at += timedelta(seconds=SIGNAL_EVERY + rng.uniform(-5, 5))
            # The stop runs from the last output before it (the detector's reference) to its end.
            stop = _anchored(stop, last, threshold_for[sku])
            plan.stops.append(stop)
            at = stop.end
            last = at - timedelta(seconds=cycle)  # the first output after a stop is one cycle's unit
        while at < interval.end - timedelta(seconds=1):
            carry, out = _units(rng, carry, (at - last).total_seconds(), cycle, speed)
            plan.outputs.append(Output(at, out[0], out[1], sku if sku != current else None))
            current = sku
            last = at
            at += timedelta(seconds=SIGNAL_EVERY + rng.uniform(-5, 5))
    return plan


def _units(
    rng: random.Random, carry: float, seconds: float, cycle: float, speed: float
) -> tuple[float, tuple[int, int]]:
    """Units made in `seconds` at `speed` of the ideal rate, fractions carried to the next signal."""
    made = carry + max(seconds, 0.0) / cycle * speed
    units = max(int(made), 1)
    bad = sum(1 for _ in range(units) if rng.random() < BAD_SHARE)
    return made - units, (units - bad, bad)


def _stops_in(rng: random.Random, interval: TimeRange, threshold: timedelta) -> list[Stop]:
    """Stop positions (by their start) spread over the interval, none overlapping, all inside it."""
    hours = (interval.end - interval.start).total_seconds() / 3600
    kinds = [True] * _count(rng, hours * LONG_STOPS_PER_HOUR) + [False] * _count(
        rng, hours * MICRO_STOPS_PER_HOUR
    )
    rng.shuffle(kinds)
    if not kinds:
        return []
    slot = (interval.end - interval.start) / len(kinds)
    stops = []
    for index, long in enumerate(kinds):
        length = timedelta(
            minutes=rng.uniform(*LONG_STOP_MINUTES) if long else rng.uniform(*MICRO_STOP_SECONDS) / 60
        )
        room = slot - length - timedelta(minutes=4)
        if room <= timedelta(0):
            continue
        start = interval.start + slot * index + timedelta(minutes=2) + room * rng.random()
        coded = long and rng.random() < 0.5
        stops.append(
            Stop(
                last_output=start,
                detect_at=start + threshold + timedelta(seconds=1),
                end=start + length,
                long=long,
                error_code=rng.choice(ERROR_CODES) if coded else None,
                operator_cause=rng.choice(OPERATOR_CAUSES)
                if long and not coded and rng.random() < 0.8
                else None,
                acknowledged=long and rng.random() < 0.85,
            )
        )
    return stops


def _anchored(stop: Stop, last_output: datetime, threshold: timedelta) -> Stop:
    length = stop.end - stop.last_output
    return Stop(
        last_output=last_output,
        detect_at=last_output + threshold + timedelta(seconds=1),
        end=last_output + length,
        long=stop.long,
        error_code=stop.error_code,
        operator_cause=stop.operator_cause,
        acknowledged=stop.acknowledged,
    )


def _count(rng: random.Random, mean: float) -> int:
    whole = int(mean)
    return whole + (1 if rng.random() < mean - whole else 0)
