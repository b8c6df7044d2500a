"""The mail outbox (SPEC section 9): every email is a row, written with the change that causes it."""

from __future__ import annotations

from datetime import date

from tortoise import fields
from tortoise.models import Model

from models.identity import User
from models.issues import Issue, IssueEvent
from models.tenancy import Account, Plant

KIND_ISSUE_STARTED = "issue-started"
KIND_ISSUE_ENDED = "issue-ended"
KIND_ESCALATION = "escalation"
KIND_DAILY_SUMMARY = "daily-summary"
MAIL_KINDS = (KIND_ISSUE_STARTED, KIND_ISSUE_ENDED, KIND_ESCALATION, KIND_DAILY_SUMMARY)


def issue_ref(issue_id: int) -> str:
    return f"issue:{issue_id}"


def event_ref(event_id: int, repeat: int = 0) -> str:
    """An escalate event, or its n-th reminder (ESCALATION_REPEAT_MINUTES)."""
    return f"event:{event_id}" if repeat == 0 else f"event:{event_id}:repeat:{repeat}"


def day_ref(plant_id: int, day: date, suffix: str = "") -> str:
    return f"plant:{plant_id}:day:{day.isoformat()}{suffix}"


class OutboxMessage(Model):
    """One email to one recipient. Unique on (kind, subject_ref, recipient): that is what sends it once."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "andon.Account", related_name="outbox_messages", on_delete=fields.CASCADE
    )
    account_id: str
    kind = fields.CharField(max_length=20)
    # What the email is about: issue:ID, event:ID[:repeat:N] or plant:ID:day:YYYY-MM-DD (see the helpers).
    subject_ref = fields.CharField(max_length=100)
    recipient = fields.CharField(max_length=254)
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "andon.User", related_name="outbox_messages", null=True, on_delete=fields.SET_NULL
    )
    user_id: int | None
    issue: fields.ForeignKeyNullableRelation[Issue] = fields.ForeignKeyField(
        "andon.Issue", related_name="outbox_messages", null=True, on_delete=fields.CASCADE
    )
    issue_id: int | None
    event: fields.ForeignKeyNullableRelation[IssueEvent] = fields.ForeignKeyField(
        "andon.IssueEvent", related_name="outbox_messages", null=True, on_delete=fields.CASCADE
    )
    event_id: int | None
    plant: fields.ForeignKeyNullableRelation[Plant] = fields.ForeignKeyField(
        "andon.Plant", related_name="outbox_messages", null=True, on_delete=fields.CASCADE
    )
    plant_id: int | None
    day = fields.DateField(null=True)
    # Reminder number of an escalation (0 for the event itself); station group ids of a daily summary.
    repeat = fields.SmallIntField(default=0)
    group_ids: fields.Field[list[int]] = fields.JSONField(default=list)
    created_at = fields.DatetimeField(auto_now_add=True)
    # Delivery state: due at next_attempt_at; a sender holds a claimed row until claimed_until.
    next_attempt_at = fields.DatetimeField()
    claimed_until = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)
    sent_at = fields.DatetimeField(null=True)
    # Set when the SMTP server refused the message for good (5xx): it is not retried.
    failed_at = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)

    class Meta:
        table = "outbox_message"
        unique_together = (("kind", "subject_ref", "recipient"),)
        indexes = (("sent_at", "failed_at", "next_attempt_at"),)
