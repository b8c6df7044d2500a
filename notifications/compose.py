"""Building the email of one outbox row: subject, plain text + HTML from the templates, CSV attachment.

Rendered at send time from the current data (the row holds only references), with what a batch shares
(account config, issue views, a plant day's rows) read once per batch.
"""

from __future__ import annotations

from datetime import date, datetime
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime
from typing import Any
from zoneinfo import ZoneInfo

from models.csv_text import render
from models.issues import Issue, IssueEvent
from models.outbox import (
    KIND_DAILY_SUMMARY,
    KIND_ESCALATION,
    KIND_ISSUE_ENDED,
    KIND_ISSUE_STARTED,
    OutboxMessage,
)
from models.roles import Role
from models.tenancy import Account, StationGroup
from notifications.render import render_parts
from notifications.summary import summarise
from resolvers.analysis.daily_summary import PlantDay, load_plant_day
from resolvers.common.actor import Actor
from resolvers.identity.account_config import config_values
from resolvers.issues.listing import CSV_COLUMNS, list_issues

TYPE_LABEL = {"stop": "Stop", "slow": "Slow running"}
_AUTOMATIC = {
    "unacknowledged": "automatically: not acknowledged in time",
    "unestimated": "automatically: no estimate in time",
}
RED, GREEN, AMBER, BLUE = "#cc3311", "#009988", "#b35900", "#0b5cad"


def _one_line(text: str) -> str:
    """A header value: a name holding a line break must not start a new header."""
    return " ".join(text.split())


def local_time(moment: datetime | str | None, zone: ZoneInfo) -> str | None:
    if moment is None:
        return None
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


class Composer:
    """Builds the emails of one batch."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._accounts: dict[str, tuple[str, str | None, str]] = {}
        self._issues: dict[int, tuple[dict[str, Any], Issue]] = {}
        self._days: dict[tuple[str, int, date], PlantDay] = {}
        self._groups: dict[int, str] = {}

    async def compose(self, row: OutboxMessage) -> Message:
        sender, dashboard, domain = await self._account(row.account_id)
        if row.kind == KIND_DAILY_SUMMARY:
            subject, text, html, attachment = await self._daily_summary(row, dashboard)
        else:
            subject, text, html = await self._issue_mail(row, dashboard)
            attachment = None
        message = _mime(text, html, attachment)
        message["Subject"] = _subject(subject)
        message["From"] = sender
        message["To"] = row.recipient
        message["Date"] = format_datetime(self.now)
        # Stable per outbox row: a receiver can drop a copy if a crash ever made one go out twice.
        message["Message-ID"] = f"<andon-{row.id}-{row.kind}@{domain}>"
        message["Auto-Submitted"] = "auto-generated"
        return message

    async def _account(self, account_id: str) -> tuple[str, str | None, str]:
        """(From address, dashboard URL, Message-ID domain) of the account."""
        if account_id not in self._accounts:
            config = await config_values(account_id)
            account = await Account.get(id=account_id)
            # EMAIL_FROM is a required key; until an admin sets it, mail goes out as andon@<account domain>.
            sender = str(config["EMAIL_FROM"] or f"andon@{account.domain}")
            self._accounts[account_id] = (sender, config["DASHBOARD_URL"], sender.rpartition("@")[2])
        return self._accounts[account_id]

    async def _issue(self, row: OutboxMessage) -> tuple[dict[str, Any], Issue]:
        assert row.issue_id is not None
        if row.issue_id not in self._issues:
            reader = Actor(account_id=row.account_id, role=Role.READ_ONLY, via="system")
            [view] = await list_issues(actor=reader, issue_id=row.issue_id, now=self.now)
            issue = await Issue.get(id=row.issue_id).select_related("station__plant")
            self._issues[row.issue_id] = (view, issue)
        return self._issues[row.issue_id]

    async def _issue_mail(self, row: OutboxMessage, dashboard: str | None) -> tuple[str, str, str]:
        view, issue = await self._issue(row)
        plant = issue.station.plant
        zone = ZoneInfo(plant.timezone)
        label = TYPE_LABEL.get(view["type"], view["type"])
        crumb = view["causeBreadcrumb"]
        context: dict[str, Any] = {
            "issue": view,
            "plant_name": plant.name,
            "type_label": label,
            "start_local": local_time(view["startAt"], zone),
            "end_local": local_time(view["endAt"], zone),
            "cause": crumb[-1]["description"] if crumb else None,
            "dashboard_url": dashboard,
            "recipient": row.recipient,
            "timezone": plant.timezone,
            "watcher_note": True,
            "repeat": row.repeat,
        }
        station = view["stationName"]
        if row.kind == KIND_ISSUE_STARTED:
            context |= {"heading": f"{label} started at {station}", "colour": RED}
            template = "issue_started"
        elif row.kind == KIND_ISSUE_ENDED:
            context |= {"heading": f"{label} ended at {station}", "colour": GREEN}
            template = "issue_ended"
        else:
            assert row.kind == KIND_ESCALATION
            event = await IssueEvent.get(id=row.event_id)
            reminder = f" (reminder {row.repeat})" if row.repeat else ""
            context |= {
                "heading": f"Escalated: {label.lower()} at {station}{reminder}",
                "colour": AMBER,
                "escalated_local": local_time(event.created_at, zone),
                "escalated_by": _escalated_by(event),
            }
            template = "escalation"
        context["subject"] = f"[Andon] {context['heading']}"
        text, html = render_parts(template, context)
        return context["subject"], text, html

    async def _plant_day(self, row: OutboxMessage) -> PlantDay:
        assert row.plant_id is not None and row.day is not None
        key = (row.account_id, row.plant_id, row.day)
        if key not in self._days:
            self._days[key] = await load_plant_day(
                account_id=row.account_id, plant_id=row.plant_id, day=row.day, now=self.now
            )
            for group in await StationGroup.filter(account_id=row.account_id, plant_id=row.plant_id):
                self._groups[group.id] = group.name
        return self._days[key]

    async def _daily_summary(
        self, row: OutboxMessage, dashboard: str | None
    ) -> tuple[str, str, str, tuple[str, str]]:
        day = await self._plant_day(row)
        zone = ZoneInfo(day.plant.timezone)
        stations = [
            (s.code, s.name, self._groups.get(group_id, ""))
            for group_id in row.group_ids
            for s in day.stations_by_group.get(group_id, [])
        ]
        summary = summarise(stations=stations, rows=day.rows, span=day.span, now=self.now)
        for line in summary.stations:
            line.availability, line.oee = day.oee.get(line.code, (None, None))
        heading = f"Daily summary: {day.plant.name}, {day.day.isoformat()}"
        attachment_name = f"andon-{day.plant.code}-{day.day.isoformat()}.csv"
        context = {
            "heading": heading,
            "subject": f"[Andon] {heading}",
            "colour": BLUE,
            "plant_name": day.plant.name,
            "day_from": local_time(day.span.start, zone),
            "day_to": local_time(day.span.end, zone),
            "summary": summary,
            "attachment_name": attachment_name,
            "dashboard_url": dashboard,
            "recipient": row.recipient,
            "timezone": day.plant.timezone,
            "watcher_note": False,
        }
        text, html = render_parts("daily_summary", context)
        return str(context["subject"]), text, html, (attachment_name, render(CSV_COLUMNS, summary.rows))


def _subject(subject: str) -> str:
    """One line; RFC 2047-encoded when it holds non-ASCII characters (a station named Prüfstand)."""
    line = _one_line(subject)
    return line if line.isascii() else Header(line, "utf-8").encode()


def _mime(text: str, html: str, attachment: tuple[str, str] | None) -> Message:
    """multipart/alternative (text, then HTML), inside multipart/mixed when there is a CSV attachment.

    Built with the compat32 MIME classes: cheaper than EmailMessage with the default policy,
    which mattered for a daily summary to a thousand recipients (docs/benchmarks.md)."""
    alternative = MIMEMultipart("alternative")
    alternative.attach(MIMEText(text, "plain", "utf-8"))
    alternative.attach(MIMEText(html, "html", "utf-8"))
    if attachment is None:
        return alternative
    name, content = attachment
    part = MIMEText(content, "csv", "utf-8")
    part.add_header("Content-Disposition", "attachment", filename=name)
    mixed = MIMEMultipart("mixed")
    mixed.attach(alternative)
    mixed.attach(part)
    return mixed


def _escalated_by(event: IssueEvent) -> str:
    if event.escalation_key:
        if event.escalation_key.startswith("estimate-expired"):
            return "automatically: the estimate expired"
        return _AUTOMATIC.get(event.escalation_key, "automatically")
    if event.operator_initials:
        via = f" ({event.user_email})" if event.user_email else ""
        return f"by operator {event.operator_initials}{via}"
    return f"by {event.user_email}" if event.user_email else "by an operator"
