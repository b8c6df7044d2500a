"""The figures of one recipient's daily summary, cut from the plant day's issue CSV rows. Pure.

Rules (documented in docs/notifications.md): downtime counts `stop` issues that are not excluded, clipped
to the plant day (an issue still open counts until `now`); the issue count and top causes count issues
that are not excluded; unreported downtime is those issues without a cause (count and clipped time).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from models.durations import format_duration
from models.ranges import TimeRange
from resolvers.issues.listing import CSV_COLUMNS

TOP_CAUSES = 5
_COLUMN = {name: index for index, name in enumerate(CSV_COLUMNS)}


@dataclass(slots=True)
class StationLine:
    code: str
    name: str
    group: str
    issue_count: int = 0
    downtime_ms: int = 0
    availability: float | None = None
    oee: float | None = None

    @property
    def downtime_formatted(self) -> str:
        return format_duration(self.downtime_ms)

    @property
    def availability_formatted(self) -> str:
        return _percent(self.availability)

    @property
    def oee_formatted(self) -> str:
        return _percent(self.oee)


def _percent(value: float | None) -> str:
    # None: no planned production that day, so there is nothing to measure (not 0 %).
    return "n/a" if value is None else f"{value:.2f} %"


@dataclass(slots=True)
class CauseLine:
    code: str
    description: str
    issue_count: int = 0
    downtime_ms: int = 0

    @property
    def downtime_formatted(self) -> str:
        return format_duration(self.downtime_ms)


@dataclass(slots=True)
class Summary:
    stations: list[StationLine]
    top_causes: list[CauseLine]
    issues: list[dict[str, object]]
    rows: list[list[object]]
    issue_count: int = 0
    downtime_ms: int = 0
    unreported_count: int = 0
    unreported_ms: int = 0

    @property
    def downtime_formatted(self) -> str:
        return format_duration(self.downtime_ms)

    @property
    def unreported_formatted(self) -> str:
        return format_duration(self.unreported_ms)


def clipped_ms(start: str, end: str | None, span: TimeRange, now: datetime) -> int:
    """Milliseconds of [start, end or now) inside the span."""
    lo = max(datetime.fromisoformat(start), span.start)
    hi = min(datetime.fromisoformat(end) if end else now, span.end)
    return max(0, (hi - lo) // timedelta(milliseconds=1))


def _local(iso: object) -> str | None:
    return datetime.fromisoformat(str(iso)).strftime("%Y-%m-%d %H:%M") if iso else None


def summarise(
    *,
    stations: Iterable[tuple[str, str, str]],
    rows: Sequence[Sequence[object]],
    span: TimeRange,
    now: datetime,
) -> Summary:
    """`stations` are (code, name, group name) of the recipient's groups; rows outside them are left out."""
    lines = {code: StationLine(code, name, group) for code, name, group in stations}
    mine = [list(r) for r in rows if r[_COLUMN["stationCode"]] in lines]
    summary = Summary(stations=list(lines.values()), top_causes=[], issues=[], rows=mine)
    causes: dict[str, CauseLine] = {}
    for row in mine:
        value = {name: row[index] for name, index in _COLUMN.items()}
        summary.issues.append({**value, "start": _local(value["startAt"]), "end": _local(value["endAt"])})
        if value["excludedAt"]:
            continue
        ms = clipped_ms(str(value["startAt"]), value["endAt"], span, now)  # type: ignore[arg-type]
        line = lines[str(value["stationCode"])]
        line.issue_count += 1
        summary.issue_count += 1
        if value["type"] == "stop":
            line.downtime_ms += ms
            summary.downtime_ms += ms
        code = value["causeCode"]
        if code is None:
            summary.unreported_count += 1
            summary.unreported_ms += ms
            continue
        cause = causes.setdefault(str(code), CauseLine(str(code), str(value["causeDescription"] or code)))
        cause.issue_count += 1
        cause.downtime_ms += ms
    summary.top_causes = sorted(causes.values(), key=lambda c: (-c.downtime_ms, -c.issue_count, c.code))[
        :TOP_CAUSES
    ]
    return summary
