"""Daily summaries (SPEC section 9): the previous plant day of a non-UTC plant, only the recipient's groups,
the same rows as a CSV attachment; and the pure rules they are computed with."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from starlette.testclient import TestClient

from models.outbox import KIND_DAILY_SUMMARY, OutboxMessage
from models.ranges import TimeRange, plant_day, summary_day
from notifications.summary import clipped_ms, summarise
from resolvers.issues.listing import CSV_COLUMNS
from resolvers.mail.reminders import due_reminder
from tests.conftest import Tenant
from tests.helpers.mail import NASTY, WITHIN_SECONDS, user
from tests.smtp_sink import SmtpSink, html_part, text_part

ZONE = "America/Chicago"
DAY_START = 6
# The whole gateway runs at this instant (the clock ticks on from it), so the summary due, and the stops
# around its plant day, are the same whatever the hour the suite runs. A Sunday morning after clocks went
# back at 02:00: the summary hour is 10 and the due summary is of plant day 2026-10-31, 06:00 CDT to
# 06:00 CST on 2026-11-01, which lasts 25 hours.
SUMMARY_AT = datetime(2026, 11, 1, 10, 30, tzinfo=ZoneInfo(ZONE))
DAY = date(2026, 10, 31)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _summaries(sink: SmtpSink, address: str) -> list:  # type: ignore[type-arg]
    return [m for m in sink.to(address) if "daily summary" in str(m["Subject"]).lower()]


def _later_check(t: Tenant, sink: SmtpSink, name: str) -> None:
    """A subscriber added now gets the day's summary at the next check (docs/notifications.md): wait for it.

    The check that writes it began after this call, and its email comes after every email the checks
    before it wrote (the sender goes by row id)."""
    address, _ = user(t, name, {"theirs": ["daily-summary"]})
    assert sink.wait(lambda: len(_summaries(sink, address)) >= 1, WITHIN_SECONDS + 2), name


@time_machine.travel(SUMMARY_AT, tick=True)
def test_a_daily_summary_covers_the_previous_plant_day_of_a_non_utc_plant_for_the_recipients_groups(
    client: TestClient, tenant: Tenant, smtp_sink: SmtpSink
) -> None:
    t = tenant
    t.ok(
        t.post("/api/plant", {"code": "chi", "name": "Chicago", "timezone": ZONE, "dayStartHour": DAY_START})
    )
    for group in ("mine", "theirs"):
        t.ok(t.post("/api/station-group", {"code": group, "name": group.title(), "plantCode": "chi"}))
    t.ok(t.post("/api/station", {"code": "a", "name": NASTY, "plantCode": "chi", "groupCode": "mine"}))
    t.ok(t.post("/api/station", {"code": "b", "name": "Quiet", "plantCode": "chi", "groupCode": "mine"}))
    t.ok(
        t.post(
            "/api/station", {"code": "x", "name": "Hidden Line", "plantCode": "chi", "groupCode": "theirs"}
        )
    )
    t.ok(t.post("/api/issue/cause", {"code": "jam", "description": "=Jam"}))
    zone, after = ZoneInfo(ZONE), DAY + timedelta(days=1)
    start = datetime(DAY.year, DAY.month, DAY.day, DAY_START, tzinfo=zone)
    end = datetime(after.year, after.month, after.day, DAY_START, tzinfo=zone)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=25)

    def make(station: str, begin: datetime, minutes: float) -> int:
        body = {"type": "stop", "stationCode": station, "startAt": _iso(begin)}
        body["endAt"] = _iso(begin + timedelta(minutes=minutes))
        return int(t.ok(t.post("/api/issue", body))[0]["id"])

    inside = make("a", start + timedelta(hours=2), 30)
    t.ok(t.post(f"/api/issue/{inside}/event", {"type": "cause", "causeCode": "jam"}))
    straddling = make("a", start - timedelta(minutes=20), 40)  # 20 minutes of it fall in the day
    make("a", start - timedelta(hours=3), 30)  # the day before
    make("a", end + timedelta(minutes=1), 10)  # the day after (in the past: it is 10:30 of that day)
    hidden = make("x", start + timedelta(hours=1), 15)  # a group the recipient did not choose

    t.ok(
        t.post(
            "/api/admin/config",
            {"config": {"DAILY_SUMMARY_HOUR": SUMMARY_AT.hour, "EMAIL_FROM": f"andon@{t.domain}"}},
        )
    )
    reader, _ = user(t, "reader", {"mine": ["daily-summary"]})
    assert smtp_sink.wait(lambda: len(_summaries(smtp_sink, reader)) >= 1, WITHIN_SECONDS + 2)
    # A second summary to the reader would come from the check that wrote the first or a later one: two
    # later checks, each seen writing a summary of its own, have ended by then.
    _later_check(t, smtp_sink, "later1")
    _later_check(t, smtp_sink, "later2")
    [mail] = _summaries(smtp_sink, reader)  # once, whatever the number of checks since

    assert DAY.isoformat() in str(mail["Subject"]) and "Chicago" in str(mail["Subject"])
    text, html = text_part(mail), html_part(mail)
    assert f"plant day {start.strftime('%Y-%m-%d %H:%M %Z')} to {end.strftime('%Y-%m-%d %H:%M %Z')}" in text
    assert "Hidden Line" not in text and "Hidden Line" not in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Issues:              2" in text
    # 30 minutes inside + 20 of the straddling stop; only the straddling one has no cause.
    assert "Downtime (stops):    50m 00s" in text
    assert "Unreported downtime: 1 issue, 20m 00s" in text
    # Availability and OEE from the downtime analysis of the same day: no shifts, so the whole (DST-aware)
    # day is planned; no output and no cycle time, so performance and with it OEE have no base.
    day_minutes = (end.astimezone(UTC) - start.astimezone(UTC)) / timedelta(minutes=1)
    availability = f"{(day_minutes - 50) / day_minutes * 100:.2f} %"
    assert f"2 issues, 50m 00s, availability {availability}, OEE n/a" in text
    assert "- Quiet (b, Mine): 0 issues, 0s, availability 100.00 %, OEE n/a" in text
    assert f'<td align="right">{availability}</td>' in html
    assert "=Jam (jam): 1, 30m 00s" in text

    [attachment] = list(mail.iter_attachments())
    assert attachment.get_filename() == f"andon-chi-{DAY.isoformat()}.csv"
    content = attachment.get_content()
    rows = list(csv.reader(io.StringIO(content if isinstance(content, str) else content.decode())))
    assert rows[0] == list(CSV_COLUMNS)
    assert sorted(int(r[0]) for r in rows[1:]) == sorted([inside, straddling])
    assert hidden not in {int(r[0]) for r in rows[1:]}
    cause_column = CSV_COLUMNS.index("causeDescription")
    assert "'=Jam" in [r[cause_column] for r in rows[1:]]  # the formula guard of the CSV downloads

    outbox = client.portal.call(  # type: ignore[union-attr]
        lambda: OutboxMessage.filter(kind=KIND_DAILY_SUMMARY, recipient=reader).values("day", "sent_at")
    )
    assert [(r["day"], r["sent_at"] is not None) for r in outbox] == [(DAY, True)]


# --- pure rules ---------------------------------------------------------------------------------------


def test_the_summary_day_is_the_plant_day_before_the_one_containing_the_summary_hour() -> None:
    chicago = ZoneInfo(ZONE)
    at = datetime(2025, 3, 10, 7, 30, tzinfo=chicago)  # the day after spring-forward
    assert summary_day(now=at, timezone=ZONE, day_start_hour=6, summary_hour=7) == date(2025, 3, 9)
    # Before today's summary hour, yesterday's is the latest: its day stays the due one.
    assert summary_day(now=at - timedelta(hours=1), timezone=ZONE, day_start_hour=6, summary_hour=7) == date(
        2025, 3, 8
    )
    # A summary hour before the day start: today's plant day began yesterday, so the one before it.
    early = datetime(2025, 3, 10, 3, 0, tzinfo=chicago)
    assert summary_day(now=early, timezone=ZONE, day_start_hour=6, summary_hour=3) == date(2025, 3, 8)
    # Clocks went forward at 02:00 on 2025-03-09: the plant day from 06:00 on the 8th lasts 23 h.
    span = plant_day(date(2025, 3, 8), timezone=ZONE, day_start_hour=6)
    assert span.end - span.start == timedelta(hours=23)
    assert span.start == datetime(2025, 3, 8, 12, 0, tzinfo=UTC)


def test_reminders_count_whole_intervals_and_are_off_at_zero() -> None:
    first = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)
    assert due_reminder(first_escalation_at=first, every_minutes=10, now=first + timedelta(minutes=9)) == 0
    assert due_reminder(first_escalation_at=first, every_minutes=10, now=first + timedelta(minutes=25)) == 2
    assert due_reminder(first_escalation_at=first, every_minutes=0, now=first + timedelta(days=1)) == 0


def test_summary_figures_clip_to_the_day_and_leave_out_excluded_issues() -> None:
    span = TimeRange(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 2, tzinfo=UTC))
    now = datetime(2025, 1, 3, tzinfo=UTC)

    def row(
        ident: int, kind: str, start: str, end: str | None, cause: str | None, excluded: str | None
    ) -> list[object]:
        values = dict.fromkeys(CSV_COLUMNS)
        values |= {"id": ident, "type": kind, "stationCode": "s", "stationName": "S", "startAt": start}
        values |= {"endAt": end, "causeCode": cause, "causeDescription": cause, "excludedAt": excluded}
        return [values[c] for c in CSV_COLUMNS]

    rows = [
        row(1, "stop", "2024-12-31T23:00:00+00:00", "2025-01-01T01:00:00+00:00", "jam", None),
        row(2, "slow", "2025-01-01T05:00:00+00:00", "2025-01-01T06:00:00+00:00", None, None),
        row(
            3,
            "stop",
            "2025-01-01T07:00:00+00:00",
            "2025-01-01T08:00:00+00:00",
            None,
            "2025-01-01T09:00:00+00:00",
        ),
        row(4, "stop", "2025-01-01T23:30:00+00:00", None, None, None),
    ]
    summary = summarise(stations=[("s", "S", "G"), ("t", "T", "G")], rows=rows, span=span, now=now)
    assert summary.issue_count == 3
    assert summary.downtime_ms == (60 + 30) * 60_000  # stop 1 clipped to 1 h, stop 4 open until the day's end
    assert summary.unreported_count == 2 and summary.unreported_ms == (60 + 30) * 60_000
    assert [(c.code, c.issue_count) for c in summary.top_causes] == [("jam", 1)]
    assert [(s.code, s.issue_count) for s in summary.stations] == [("s", 3), ("t", 0)]
    assert len(summary.rows) == 4  # the list and the CSV keep the excluded issue
    assert clipped_ms("2025-01-02T01:00:00+00:00", None, span, now) == 0
