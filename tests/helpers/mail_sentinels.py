"""Positive sentinels for the tests that check that something did *not* happen (no email, no second
escalation, no reminder after an acknowledgement).

Sleeping and then looking proves nothing on a slow machine. Instead a test causes a later effect of the
same queue or timer, waits for it, and only then looks: whatever would have come before the sentinel has
come. Each sentinel rests on an order of the running gateway:

- The outbox sender claims due emails oldest first (by row id) and hands them to the SMTP server one
  after the other; the sink records an email before it answers. So once a later email has arrived, every
  email that was due before it was written has arrived too. An email waiting for a retry is not due, so
  `Sentinels.mail` first waits until the test's accounts have no email waiting at all.
- The lease holder runs its jobs one tick after the other. The escalation of an issue created now (and
  due at once) is raised by a run that read the ongoing issues after now: any run under way before has
  ended. The escalation of a second such issue, created once the first was raised, is raised by a later
  run still: by then a whole run that began after the call has ended too.
- The reminder job handles the escalated issues in the order of their first escalation, one run after
  the other: the sentinel's reminder comes after the reminders that run (and the runs before) wrote.

The sentinels work in an account of their own (made on first use), so their issues and emails never mix
with the test's. Its emails go to the session's SMTP sink like everyone else's.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from functools import cached_property
from typing import Any, TypeVar

from starlette.testclient import TestClient

from models.issues import IssueEvent
from models.outbox import OutboxMessage
from resolvers.issues.ending import end_issue
from tests.conftest import Tenant, new_tenant
from tests.helpers.issues import iso
from tests.helpers.mail import issue_view, user
from tests.helpers.waiting import poll
from tests.smtp_sink import SmtpSink

# A sentinel comes after work of the gateway that may itself be slow on a loaded machine (a backlog of
# emails, a timer run over many accounts): generous, unlike the SPEC bounds the tests assert.
SENTINEL_SECONDS = 30.0
# The sentinel account's reminder interval: 0.02 minutes is 1.2 s.
REMINDER_MINUTES = 0.02
T = TypeVar("T")


class Sentinels:
    """Later emails, escalation-timer runs and reminder runs, each waited for (see the module docstring)."""

    def __init__(self, client: TestClient, sink: SmtpSink | None = None) -> None:
        self.client = client
        self._sink = sink

    @cached_property
    def account(self) -> Tenant:
        """Group `mail` (its issues email the sentinel user), group `reminders` (escalations email them);
        stations of no group reach nobody. Issues older than a minute and not acknowledged are escalated,
        escalations are repeated every REMINDER_MINUTES."""
        t = new_tenant(self.client)
        for group in ("mail", "reminders"):
            t.ok(t.post("/api/station-group", {"code": group, "name": group, "plantCode": t.plant_code}))
        config = {
            "EMAIL_FROM": f"andon@{t.domain}",
            "ESCALATE_UNACKNOWLEDGED_AFTER_MINUTES": 1,
            "ESCALATE_UNESTIMATED_AFTER_MINUTES": 0,
            "ESCALATE_ON_ESTIMATE_EXPIRY": False,
            "ESCALATION_REPEAT_MINUTES": REMINDER_MINUTES,
        }
        t.ok(t.post("/api/admin/config", {"config": config}))
        user(t, "sentinel", {"mail": ["issue"], "reminders": ["escalation"]})
        return t

    @property
    def address(self) -> str:
        """Where the sentinel account's emails go."""
        return f"sentinel@{self.account.domain}"

    @property
    def sink(self) -> SmtpSink:
        assert self._sink is not None, "email sentinels need the SMTP sink"
        return self._sink

    def mail(self, *tenants: Tenant) -> None:
        """Wait until no email of `tenants` is waiting (each was handed to the server or refused for
        good: the sender records that only after the server answered), then for a later email through
        the same outbox and for its issue's notified-at stamps.

        Afterwards every email written before the call has reached the sink, any duplicate a sender
        would make of it too (a row sent again is claimed by id like any due row, ahead of the later
        one), and every notified-at stamp of the emails sent before it is written (a batch is stamped
        in row order, after its last email)."""
        accounts = [t.account_id for t in tenants]

        async def waiting() -> int:
            return await OutboxMessage.filter(
                account_id__in=accounts, sent_at__isnull=True, failed_at__isnull=True
            ).count()

        left = poll(lambda: self._call(waiting), lambda n: n == 0, timeout=SENTINEL_SECONDS)
        assert left == 0, f"{left} email(s) of {accounts} still waiting for the SMTP server"
        t = self.account
        station = self._station("mail")
        now = datetime.now(UTC)
        body = {
            "type": "stop",
            "stationCode": station,
            "startAt": iso(now - timedelta(minutes=10)),
            "endAt": iso(now - timedelta(minutes=5)),
        }
        issue_id = self._issue(body)  # already ended: a started and an ended email
        arrived = self.sink.wait(lambda: len(self._mails_of(station)) >= 2, SENTINEL_SECONDS)
        assert arrived, f"the sentinel emails of {station} did not arrive"
        view = poll(
            lambda: issue_view(t, issue_id),
            lambda v: bool(v["startNotifiedAt"] and v["endNotifiedAt"]),
            timeout=SENTINEL_SECONDS,
        )
        assert view["startNotifiedAt"] and view["endNotifiedAt"], view

    def escalation_runs(self, runs: int = 2) -> None:
        """Wait for `runs` escalations of fresh, at once due issues, each created once the previous one
        was raised. With the default 2, a whole escalation-timer run that began after the call has
        ended: everything it and the runs before it raised (events, and the emails written with them) is
        in the database. One is enough to know only that the run under way at the call has ended."""
        for _ in range(runs):
            station = self._station(None)
            start = datetime.now(UTC) - timedelta(minutes=10)  # past the account's one-minute deadline
            issue_id = self._issue({"type": "stop", "stationCode": station, "startAt": iso(start)})

            async def escalations(issue_id: int = issue_id) -> int:
                return await IssueEvent.filter(issue_id=issue_id, type="escalate").count()

            raised = poll(lambda: self._call(escalations), bool, timeout=SENTINEL_SECONDS)
            assert raised, f"the escalation timer did not escalate sentinel issue {issue_id}"
            self._end(issue_id)  # nothing left for the timers to do about it

    def reminder(self) -> None:
        """Wait for the email of a reminder written by a run of the reminder job that began at least one
        reminder interval after the call.

        A run handles the escalated issues in the order of their first escalation: an issue escalated
        before the call is handled before the sentinel's in that run (and in every run before it), so its
        reminder emails are written, and the sender going by row id sent, ahead of the sentinel's."""
        t = self.account
        station = self._station("reminders")
        issue_id = self._issue({"type": "stop", "stationCode": station, "startAt": iso(_now())})
        t.ok(t.post(f"/api/issue/{issue_id}/event", {"type": "escalate"}))

        def reminders() -> list[str]:
            return [str(m["Subject"]) for m in self._mails_of(station) if "(reminder " in str(m["Subject"])]

        # Any number: only the latest due reminder is written, so on a slow machine 1 may be skipped.
        assert self.sink.wait(lambda: bool(reminders()), SENTINEL_SECONDS), f"no reminder of {station}"
        self._end(issue_id)  # no more reminders

    # --- plumbing -------------------------------------------------------------------------------------

    def _station(self, group: str | None) -> str:
        """A new station of `group` (None: of no group), named like its code so subjects show which."""
        code = f"sentinel-{uuid.uuid4().hex[:10]}"
        body: dict[str, Any] = {"code": code, "name": code, "plantCode": self.account.plant_code}
        if group is not None:
            body["groupCode"] = group
        self.account.ok(self.account.post("/api/station", body))
        return code

    def _issue(self, body: dict[str, Any]) -> int:
        return int(self.account.ok(self.account.post("/api/issue", body))[0]["id"])

    def _mails_of(self, station: str) -> list[EmailMessage]:
        # Subjects end with the station's name (`… at NAME`, then ` (reminder N)` for reminders).
        return [m for m in self.sink.to(self.address) if f" at {station}" in str(m["Subject"])]

    def _end(self, issue_id: int) -> None:
        account = self.account.account_id
        self._call(lambda: end_issue(account_id=account, issue_id=issue_id, end_at=_now()))

    def _call(self, function: Callable[[], Awaitable[T]]) -> T:
        portal = self.client.portal
        assert portal is not None, "the client fixture runs the app in a portal"
        return portal.call(function)


def _now() -> datetime:
    return datetime.now(UTC)
