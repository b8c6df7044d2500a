"""Delivery guarantees of the outbox (SPEC section 9): an SMTP outage loses and duplicates nothing, two
gateway instances on one Postgres send each email once, and without ANDON_SMTP_URL mail lands as .eml
files, where `andon send-daily-summary` puts a summary too (once, unless --resend).

"Exactly once" is checked once nothing more can come: every email recorded as sent and a later email
through the same outbox arrived (tests/helpers/mail_sentinels.py), or the gateway processes exited."""

from __future__ import annotations

import email
import email.policy
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from models.outbox import OutboxMessage
from resolvers.issues.ending import end_issue
from tests.conftest import Tenant
from tests.gateway_process import (
    andon_env,
    describe,
    run_andon,
    running_gateway,
    running_gateways,
    subprocess_database,
)
from tests.helpers.issues import iso
from tests.helpers.mail import WITHIN_SECONDS, layout, now_iso, start_issue, user
from tests.helpers.mail_sentinels import SENTINEL_SECONDS, Sentinels
from tests.helpers.waiting import poll
from tests.smtp_sink import SmtpSink

# The SPEC's outage is 30 s of an SMTP server away while issues happen: with the session app's 1 s cap on
# the retry backoff (for the default 300 s), some 30 failed attempts per email. What it shows is that a
# failed attempt leaves the email waiting for the next one and the server's return delivers each once;
# three failed attempts in a row show that as well, in a few seconds instead of 30.
FAILED_ATTEMPTS = 3
SYSTEM_KEY = "mail-system-key-" + uuid.uuid4().hex


def _health(t: Tenant) -> dict[str, Any]:
    return t.client.get("/api/health").json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def sentinels(client: TestClient, smtp_sink: SmtpSink) -> Iterator[Sentinels]:
    yield Sentinels(client, smtp_sink)


def test_emails_written_while_smtp_is_down_arrive_exactly_once_when_it_is_back(
    client: TestClient, tenant: Tenant, smtp_sink: SmtpSink, sentinels: Sentinels
) -> None:
    layout(tenant)
    fans = [user(tenant, f"fan{i}", {"g1": ["issue", "escalation"]})[0] for i in range(3)]
    smtp_sink.stop()
    try:
        stop = start_issue(tenant)
        tenant.ok(tenant.post(f"/api/issue/{stop}/event", {"type": "escalate"}))
        slow = start_issue(tenant, type="slow")
        client.portal.call(  # type: ignore[union-attr]
            lambda: end_issue(account_id=tenant.account_id, issue_id=slow, end_at=datetime.now(UTC))
        )
        # /api/health names the outage (its probe result is cached for up to 5 s).
        mailer = poll(lambda: str(_health(tenant)["mailer"]), lambda m: "error" in m, timeout=WITHIN_SECONDS)
        assert "error" in mailer, mailer

        def rows() -> list[dict[str, Any]]:
            return client.portal.call(  # type: ignore[no-any-return, union-attr]
                lambda: OutboxMessage.filter(account_id=tenant.account_id).values(
                    "sent_at", "attempts", "last_error"
                )
            )

        # Every email is a row, tried again and again and waiting for the server: none is sent, none is
        # lost, none is given up.
        tried = poll(
            rows, lambda rs: all(r["attempts"] >= FAILED_ATTEMPTS for r in rs), timeout=SENTINEL_SECONDS
        )
        assert len(tried) == 4 * len(fans), tried
        assert all(r["attempts"] >= FAILED_ATTEMPTS for r in tried), tried
        assert all(r["sent_at"] is None and r["last_error"] for r in tried), tried
    finally:
        smtp_sink.start()
    for fan in fans:
        assert smtp_sink.wait(lambda fan=fan: len(smtp_sink.to(fan)) >= 4, WITHIN_SECONDS), fan  # type: ignore[misc]
    # Every email recorded as sent, then a later one arrived: no copy of any of them can still come.
    sentinels.mail(tenant)
    for fan in fans:
        mails = smtp_sink.to(fan)
        assert len(mails) == 4, [m["Subject"] for m in mails]
        assert len({m["Message-ID"] for m in mails}) == 4
        assert sum("escalat" in str(m["Subject"]).lower() for m in mails) == 1


def _call(http: httpx.Client, method: str, path: str, key: str, body: Any = None) -> Any:
    response = http.request(method, path, json=body, headers={"X-API-KEY": key})
    assert response.status_code == 200, response.text
    return response.json().get("result", response.json().get("results"))


def _account(http: httpx.Client, recipients: int, kinds: list[str]) -> tuple[str, str, list[str]]:
    """A new account with group g1 and stations s0..s9 in it, and `recipients` users subscribed to g1."""
    domain = f"mail-{uuid.uuid4().hex[:8]}.example.com"
    created = _call(
        http, "POST", "/api/admin/newaccount", SYSTEM_KEY, {"domain": domain, "plantName": "Main"}
    )
    admin, plant = created["apiKey"], created["plantCode"]
    _call(http, "POST", "/api/station-group", admin, {"code": "g1", "name": "G1", "plantCode": plant})
    for n in range(10):
        station = {"code": f"s{n}", "name": f"Station {n}", "plantCode": plant, "groupCode": "g1"}
        _call(http, "POST", "/api/station", admin, station)
    emails = []
    for n in range(recipients):
        address = f"user{n}@{domain}"
        person = _call(http, "POST", "/api/user", admin, {"email": address, "role": "member"})
        key = _call(http, "POST", "/api/apikey", admin, {"userId": person["id"], "name": "k"})["apiKey"]
        _call(
            http,
            "POST",
            "/api/notification-preference",
            key,
            [{"stationGroupCode": "g1", "preference": kinds}],
        )
        emails.append(address)
    return created["accountId"], admin, emails


@pytest.mark.postgres
def test_two_gateways_on_one_postgres_send_one_email_per_kind_issue_and_recipient(
    tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    with subprocess_database(tmp_path) as database:
        env = {
            "ANDON_DATABASE_URL": database,
            "ANDON_SYSTEM_API_KEY": SYSTEM_KEY,
            "ANDON_SMTP_URL": smtp_sink.url,
            "ANDON_MAIL_POLL_SECONDS": "0.1",
        }
        with (
            running_gateways(env, tmp_path, count=2) as gateways,
            gateways[0].client() as a,
            gateways[1].client() as b,
        ):
            _, admin, emails = _account(a, 8, ["issue"])
            domain = emails[0].partition("@")[2]
            issues = []
            for n in range(10):
                # Alternate instances: each writes rows the other may claim first.
                body = {"type": "stop", "stationCode": f"s{n}", "startAt": now_iso()}
                if n % 2:
                    body["endAt"] = now_iso()
                issues.append(_call(b if n % 2 else a, "POST", "/api/issue", admin, body)[0]["id"])
            expected = len(emails) * (10 + 5)  # ten started, five of them ended
            assert smtp_sink.wait(lambda: len(smtp_sink.to_any(domain)) >= expected, WITHIN_SECONDS)
            # An issue's start (end) is stamped once each of its emails is recorded as sent.

            def views() -> list[dict[str, Any]]:
                return [_call(a, "GET", f"/api/issue?id={issue_id}", admin)[0] for issue_id in issues]

            def stamped(found: list[dict[str, Any]]) -> bool:
                return all(v["startNotifiedAt"] and (v["endAt"] is None or v["endNotifiedAt"]) for v in found)

            final = poll(views, stamped, timeout=SENTINEL_SECONDS)
            assert stamped(final), final
        # Both processes have exited: no email can come after this, a second copy of one included.
        received = smtp_sink.to_any(domain)
        counts = Counter((r, str(m["Subject"])) for r, m in received)
        assert len(received) == expected and set(counts.values()) == {1}, counts.most_common(3)
        logs = gateways[0].stderr() + gateways[1].stderr()
        assert "Traceback" not in logs, logs


def _eml(folder: Path) -> list[EmailMessage]:
    found = []
    for path in sorted(folder.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        found.append(message)
    return found


def test_without_smtp_mail_is_written_as_eml_files_and_the_cli_sends_a_summary_once(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    with subprocess_database(tmp_path) as database:
        env = {
            "ANDON_DATABASE_URL": database,
            "ANDON_SYSTEM_API_KEY": SYSTEM_KEY,
            "ANDON_OUTBOX_DIR": str(outbox),
            "ANDON_MAIL_POLL_SECONDS": "0.1",
        }
        with running_gateway(env, tmp_path) as gateway, gateway.client() as http:
            assert http.get("/api/health").json()["mailer"] == "ok"
            account, admin, [reader] = _account(http, 1, ["issue", "daily-summary"])
            end = datetime.now(UTC)
            start = end - timedelta(minutes=10)
            body = {"type": "stop", "stationCode": "s1", "startAt": iso(start), "endAt": iso(end)}
            _call(http, "POST", "/api/issue", admin, body)
            files = poll(
                lambda: list(outbox.glob("*-issue-*.eml")), lambda f: len(f) >= 2, timeout=WITHIN_SECONDS
            )
            assert len(files) >= 2, files
        issue_mails = [m for m in _eml(outbox) if "Station 1" in str(m["Subject"])]
        assert sorted(str(m["Subject"]).split(" at ")[0] for m in issue_mails) == [
            "[Andon] Stop ended",
            "[Andon] Stop started",
        ]
        assert all(m["To"] == reader for m in issue_mails)

        # The plant is UTC with days from midnight: the day the stop started in holds (part of) it whatever
        # the hour (the wall clock's date a moment after the stop may already be the next day).
        day = start.date().isoformat()

        def summaries() -> list[EmailMessage]:
            return [m for m in _eml(outbox) if f"Daily summary: Main, {day}" in str(m["Subject"])]

        command = ["send-daily-summary", "--account", account, "--date", day]
        result = run_andon(command, andon_env(env), tmp_path)
        assert result.returncode == 0 and "1 sent, 0 waiting" in result.stdout, describe(result)
        [summary] = summaries()
        [attachment] = list(summary.iter_attachments())
        assert "Station 1" in str(attachment.get_content())
        again = run_andon(command, andon_env(env), tmp_path)
        assert again.returncode == 0 and "1 sent, 0 waiting" in again.stdout, describe(again)
        assert len(summaries()) == 1  # already sent: not again
        resent = run_andon([*command, "--resend"], andon_env(env), tmp_path)
        assert resent.returncode == 0, describe(resent)
        assert len(summaries()) == 2
        bad = run_andon(
            ["send-daily-summary", "--account", account, "--date", "yesterday"], andon_env(env), tmp_path
        )
        assert bad.returncode != 0 and "--date" in bad.stderr
