"""Issue and escalation emails (SPEC section 9) through the outbox, into a real aiosmtpd SMTP server.

The session app sends to the session's SMTP sink (tests/conftest.py), polling every 0.2 s. Every test
works in an account of its own, so its emails are told apart by the recipients' domain.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.message import EmailMessage

from starlette.testclient import TestClient

from models.outbox import OutboxMessage
from resolvers.issue_end import end_issue
from tests.conftest import Tenant
from tests.helpers.mail import (
    NASTY,
    SETTLE_SECONDS,
    WITHIN_SECONDS,
    issue_view,
    layout,
    start_issue,
    subjects,
    user,
)
from tests.smtp_sink import SmtpSink, html_part, text_part


def wait_count(sink: SmtpSink, address: str, count: int) -> list[EmailMessage]:
    assert sink.wait(lambda: len(sink.to(address)) >= count, WITHIN_SECONDS), subjects(sink, address)
    time.sleep(SETTLE_SECONDS)
    return sink.to(address)


def test_issue_start_and_end_email_the_groups_issue_subscribers_and_the_watchers(
    client: TestClient, tenant: Tenant, other_tenant: Tenant, smtp_sink: SmtpSink
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
    [started] = wait_count(smtp_sink, fan, 1)
    assert NASTY in str(started["Subject"]) and "started" in str(started["Subject"]).lower()
    assert started["From"] == f"andon@{tenant.domain}"
    html = html_part(started)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "https://andon.example.com/board" in html
    assert NASTY in text_part(started)  # plain text is not HTML: the name is shown as written
    assert issue_view(tenant, issue_id)["startNotifiedAt"] is not None

    tenant.ok(tenant.post(f"/api/issue/{issue_id}/event", {"type": "watch"}, key=watcher_key))
    client.portal.call(  # type: ignore[union-attr]  # the portal exists inside `with TestClient`
        lambda: end_issue(account_id=tenant.account_id, issue_id=issue_id, end_at=datetime.now(UTC))
    )
    mails = wait_count(smtp_sink, fan, 2)
    assert [s for s in subjects(smtp_sink, fan) if "ended" in s.lower()], subjects(smtp_sink, fan)
    assert len(mails) == 2
    [ended] = wait_count(smtp_sink, watcher, 1)
    assert "ended" in str(ended["Subject"]).lower()
    assert issue_view(tenant, issue_id)["endNotifiedAt"] is not None
    for nobody in (elsewhere, escalations_only, stranger):
        assert smtp_sink.to(nobody) == [], nobody


def test_an_issue_nobody_follows_writes_no_email_and_stays_unnotified(
    client: TestClient, tenant: Tenant, smtp_sink: SmtpSink
) -> None:
    layout(tenant)
    issue_id = start_issue(tenant, endAt=None)
    time.sleep(SETTLE_SECONDS)
    assert smtp_sink.to_any(tenant.domain) == []
    assert issue_view(tenant, issue_id)["startNotifiedAt"] is None
    count = client.portal.call(lambda: OutboxMessage.filter(issue_id=issue_id).count())  # type: ignore[union-attr]
    assert count == 0


def escalation_mails(sink: SmtpSink, address: str) -> list[EmailMessage]:
    return [m for m in sink.to(address) if "escalat" in str(m["Subject"]).lower()]


def test_manual_and_automatic_escalations_each_email_the_escalation_subscribers_once(
    client: TestClient, tenant: Tenant, smtp_sink: SmtpSink
) -> None:
    layout(tenant)
    boss, _ = user(tenant, "boss", {"g1": ["escalation"]})
    fan, _ = user(tenant, "fan", {"g1": ["issue"]})
    manual = start_issue(tenant)
    tenant.ok(tenant.post(f"/api/issue/{manual}/event", {"type": "escalate", "operator": "JB"}))
    assert smtp_sink.wait(lambda: len(escalation_mails(smtp_sink, boss)) >= 1, WITHIN_SECONDS)
    [event] = [e for e in issue_view(tenant, manual)["events"] if e["type"] == "escalate"]
    assert smtp_sink.wait(lambda: issue_view(tenant, manual)["events"][-1]["notifiedAt"] is not None, 3.0)
    assert "operator JB" in text_part(escalation_mails(smtp_sink, boss)[0])
    assert event["id"]

    tenant.ok(tenant.post("/api/admin/config", {"config": {"ESCALATE_UNACKNOWLEDGED_AFTER_MINUTES": 0.02}}))
    # s1 already has an ongoing stop: the automatic one is a slow issue on the same station.
    automatic = start_issue(tenant, type="slow")
    assert smtp_sink.wait(lambda: len(escalation_mails(smtp_sink, boss)) >= 3, WITHIN_SECONDS + 5)
    time.sleep(SETTLE_SECONDS)
    mails = escalation_mails(smtp_sink, boss)
    # One for the manual escalation, one for each issue's automatic (unacknowledged) escalation.
    assert len(mails) == 3, [m["Subject"] for m in mails]
    assert len({m["Message-ID"] for m in mails}) == 3
    auto_events = [e for e in issue_view(tenant, automatic)["events"] if e["type"] == "escalate"]
    assert len(auto_events) == 1 and auto_events[0]["userId"] is None
    assert smtp_sink.wait(
        lambda: all(
            e["notifiedAt"] for e in issue_view(tenant, automatic)["events"] if e["type"] == "escalate"
        ),
        3.0,
    )
    assert "automatically" in text_part(mails[-1]) or "automatically" in text_part(mails[-2])
    assert escalation_mails(smtp_sink, fan) == []


def test_escalation_reminders_repeat_until_acknowledged_once_per_number(
    client: TestClient, tenant: Tenant, smtp_sink: SmtpSink
) -> None:
    layout(tenant)
    boss, _ = user(tenant, "boss", {"g1": ["escalation"]})
    # A reminder every 1.2 s.
    tenant.ok(tenant.post("/api/admin/config", {"config": {"ESCALATION_REPEAT_MINUTES": 0.02}}))
    issue_id = start_issue(tenant)
    tenant.ok(tenant.post(f"/api/issue/{issue_id}/event", {"type": "escalate"}))
    assert smtp_sink.wait(
        lambda: any("reminder 2" in str(m["Subject"]) for m in smtp_sink.to(boss)), WITHIN_SECONDS
    ), subjects(smtp_sink, boss)
    tenant.ok(tenant.post(f"/api/issue/{issue_id}/event", {"type": "acknowledge"}))
    time.sleep(SETTLE_SECONDS)  # a reminder written just before the acknowledgement may still arrive
    settled = subjects(smtp_sink, boss)
    time.sleep(3.0)
    assert subjects(smtp_sink, boss) == settled, "reminders went on after the acknowledgement"
    assert len(settled) == len(set(settled)), settled  # each reminder number once
    assert [s for s in settled if "reminder" not in s], settled  # the escalation itself
    assert {"reminder 1", "reminder 2"} <= {s.rpartition("(")[2].rstrip(")") for s in settled}, settled
