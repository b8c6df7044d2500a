"""Issue and escalation emails (SPEC section 9) through the outbox, into a real aiosmtpd SMTP server.

The session app sends to the session's SMTP sink (tests/conftest.py), polling every 0.2 s. Every test
works in an account of its own, so its emails are told apart by the recipients' domain. A test that
checks that an email did not come waits for a later one first (tests/helpers/mail_sentinels.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from starlette.testclient import TestClient

from models.issues import IssueEvent
from models.outbox import OutboxMessage
from resolvers.issues.ending import end_issue
from resolvers.mail.reminders import due_reminder
from tests.conftest import Tenant
from tests.helpers.mail import NASTY, WITHIN_SECONDS, issue_view, layout, start_issue, subjects, user
from tests.helpers.mail_sentinels import Sentinels
from tests.helpers.waiting import poll
from tests.smtp_sink import SmtpSink, html_part, text_part

# The reminder interval of these tests: 0.02 minutes is 1.2 s.
REPEAT_MINUTES = 0.02


@pytest.fixture(scope="module")
def sentinels(client: TestClient, smtp_sink: SmtpSink) -> Iterator[Sentinels]:
    yield Sentinels(client, smtp_sink)


def test_issue_start_and_end_email_the_groups_issue_subscribers_and_the_watchers(
    client: TestClient, tenant: Tenant, other_tenant: Tenant, smtp_sink: SmtpSink, sentinels: Sentinels
) -> None:
    layout(tenant)
    fan, _ = user(tenant, "fan", {"g1": ["issue"]})
    elsewhere, _ = user(tenant, "elsewhere", {"g2": ["issue", "escalation"]})
    escalations_only, _ = user(tenant, "boss", {"g1": ["escalation"]})
    watcher, watcher_key = user(tenant, "watcher")
    # Another account with the same group code: its subscriber never hears of this account's issues.
    other_tenant.ok(
        other_tenant.post(
            "/api/station-group", {"code": "g1", "name": "G1", "plantCode": other_tenant.plant_code}
        )
    )
    stranger, _ = user(other_tenant, "stranger", {"g1": ["issue", "escalation"]})

    issue_id = start_issue(tenant)
    assert smtp_sink.wait(lambda: len(smtp_sink.to(fan)) >= 1, WITHIN_SECONDS), subjects(smtp_sink, fan)
    started = smtp_sink.to(fan)[0]
    assert NASTY in str(started["Subject"]) and "started" in str(started["Subject"]).lower()
    assert started["From"] == f"andon@{tenant.domain}"
    html = html_part(started)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "https://andon.example.com/board" in html
    assert NASTY in text_part(started)  # plain text is not HTML: the name is shown as written
    # Stamped once the sender has recorded every email of the start, a moment after the last one.
    start_stamp = poll(lambda: issue_view(tenant, issue_id)["startNotifiedAt"], bool, timeout=WITHIN_SECONDS)
    assert start_stamp is not None

    tenant.ok(tenant.post(f"/api/issue/{issue_id}/event", {"type": "watch"}, key=watcher_key))
    client.portal.call(  # type: ignore[union-attr]  # the portal exists inside `with TestClient`
        lambda: end_issue(account_id=tenant.account_id, issue_id=issue_id, end_at=datetime.now(UTC))
    )
    assert smtp_sink.wait(
        lambda: len(smtp_sink.to(fan)) >= 2 and len(smtp_sink.to(watcher)) >= 1, WITHIN_SECONDS
    ), (subjects(smtp_sink, fan), subjects(smtp_sink, watcher))
    # Every email the start and the end wrote, to anyone of either account, has been sent by now, and
    # so has any second copy of one.
    sentinels.mail(tenant, other_tenant)
    fan_subjects = subjects(smtp_sink, fan)
    assert len(fan_subjects) == 2, fan_subjects
    assert [s for s in fan_subjects if "ended" in s.lower()], fan_subjects
    assert [s for s in fan_subjects if "started" in s.lower()], fan_subjects
    [ended] = smtp_sink.to(watcher)  # watching after the start: the end only
    assert "ended" in str(ended["Subject"]).lower()
    assert issue_view(tenant, issue_id)["endNotifiedAt"] is not None
    for nobody in (elsewhere, escalations_only, stranger):
        assert smtp_sink.to(nobody) == [], nobody


def test_an_issue_nobody_follows_writes_no_email_and_stays_unnotified(
    client: TestClient, tenant: Tenant, smtp_sink: SmtpSink, sentinels: Sentinels
) -> None:
    layout(tenant)
    issue_id = start_issue(tenant, endAt=None)
    # Its emails would have been written in the transaction that created it, committed by now.
    count = client.portal.call(lambda: OutboxMessage.filter(issue_id=issue_id).count())  # type: ignore[union-attr]
    assert count == 0
    # A later email, and its notified-at stamps, come after any email (and stamp) of this issue.
    sentinels.mail(tenant)
    assert smtp_sink.to_any(tenant.domain) == []
    assert issue_view(tenant, issue_id)["startNotifiedAt"] is None


def escalation_mails(sink: SmtpSink, address: str) -> list[EmailMessage]:
    return [m for m in sink.to(address) if "escalat" in str(m["Subject"]).lower()]


def escalations_notified(t: Tenant, issue_id: int) -> bool:
    return all(e["notifiedAt"] for e in issue_view(t, issue_id)["events"] if e["type"] == "escalate")


def test_manual_and_automatic_escalations_each_email_the_escalation_subscribers_once(
    client: TestClient, tenant: Tenant, smtp_sink: SmtpSink, sentinels: Sentinels
) -> None:
    layout(tenant)
    boss, _ = user(tenant, "boss", {"g1": ["escalation"]})
    fan, _ = user(tenant, "fan", {"g1": ["issue"]})
    manual = start_issue(tenant)
    tenant.ok(tenant.post(f"/api/issue/{manual}/event", {"type": "escalate", "operator": "JB"}))
    assert smtp_sink.wait(lambda: len(escalation_mails(smtp_sink, boss)) >= 1, WITHIN_SECONDS)
    [event] = [e for e in issue_view(tenant, manual)["events"] if e["type"] == "escalate"]
    assert poll(lambda: escalations_notified(tenant, manual), bool, timeout=WITHIN_SECONDS)
    assert "operator JB" in text_part(escalation_mails(smtp_sink, boss)[0])
    assert event["id"]

    tenant.ok(tenant.post("/api/admin/config", {"config": {"ESCALATE_UNACKNOWLEDGED_AFTER_MINUTES": 0.02}}))
    # s1 already has an ongoing stop: the automatic one is a slow issue on the same station.
    automatic = start_issue(tenant, type="slow")
    assert smtp_sink.wait(lambda: len(escalation_mails(smtp_sink, boss)) >= 3, WITHIN_SECONDS + 5)
    # A second escalation of either issue would come from the run that raised the first or a later one:
    # wait for two later runs, then for every email they (and anything before) wrote.
    sentinels.escalation_runs()
    sentinels.mail(tenant)
    mails = escalation_mails(smtp_sink, boss)
    # One for the manual escalation, one for each issue's automatic (unacknowledged) escalation.
    assert len(mails) == 3, [m["Subject"] for m in mails]
    assert len({m["Message-ID"] for m in mails}) == 3
    auto_events = [e for e in issue_view(tenant, automatic)["events"] if e["type"] == "escalate"]
    assert len(auto_events) == 1 and auto_events[0]["userId"] is None
    assert escalations_notified(tenant, automatic)
    assert "automatically" in text_part(mails[-1]) or "automatically" in text_part(mails[-2])
    assert escalation_mails(smtp_sink, fan) == []


def reminder_numbers(subject_lines: list[str]) -> list[int]:
    return [int(n) for s in subject_lines for n in re.findall(r"\(reminder (\d+)\)", s)]


def test_escalation_reminders_repeat_until_acknowledged_once_per_number(
    client: TestClient, tenant: Tenant, smtp_sink: SmtpSink, sentinels: Sentinels
) -> None:
    layout(tenant)
    boss, _ = user(tenant, "boss", {"g1": ["escalation"]})
    tenant.ok(tenant.post("/api/admin/config", {"config": {"ESCALATION_REPEAT_MINUTES": REPEAT_MINUTES}}))
    issue_id = start_issue(tenant)
    tenant.ok(tenant.post(f"/api/issue/{issue_id}/event", {"type": "escalate"}))
    # Only the latest due reminder is written (docs/notifications.md): a check that comes late, on a busy
    # machine, skips numbers. So the wait is for a repeat (a number past the first), not for number 2.
    assert smtp_sink.wait(
        lambda: max(reminder_numbers(subjects(smtp_sink, boss)), default=0) >= 2, WITHIN_SECONDS
    ), subjects(smtp_sink, boss)
    tenant.ok(tenant.post(f"/api/issue/{issue_id}/event", {"type": "acknowledge"}))
    acknowledged = datetime.now(UTC)
    # A run of the reminder job that read the issue before the acknowledgement committed may still write
    # (and send) the reminder due when it began: never one due later. A run that began an interval after
    # the acknowledgement handles this issue before the sentinel's, so a reminder it wrongly wrote (a
    # number due after the acknowledgement) has arrived once the sentinel's has.
    sentinels.reminder()
    sentinels.mail(tenant)
    received = subjects(smtp_sink, boss)

    async def first_escalation() -> datetime:
        event = await IssueEvent.filter(issue_id=issue_id, type="escalate").order_by("created_at").first()
        assert event is not None
        return event.created_at

    first = client.portal.call(first_escalation)  # type: ignore[union-attr]
    last_due = due_reminder(first_escalation_at=first, every_minutes=REPEAT_MINUTES, now=acknowledged)
    numbers = reminder_numbers(received)
    assert max(numbers) <= last_due, f"reminders went on after the acknowledgement: {received}"
    assert len(received) == len(set(received)), received  # each reminder number once
    assert [s for s in received if "reminder" not in s], received  # the escalation itself
    assert max(numbers) >= 2, received  # the repeat waited for (and each number once, above)
