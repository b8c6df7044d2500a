"""Issues (unplanned stops and slow running), their events, watchers, and the cause tree."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.base import Stamped
from models.identity import User
from models.tenancy import Account, Sku, Station


class Cause(Stamped):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "andon.Account", related_name="causes", on_delete=fields.CASCADE
    )
    account_id: str
    code = fields.CharField(max_length=50)
    description = fields.CharField(max_length=100)
    parent: fields.ForeignKeyNullableRelation[Cause] = fields.ForeignKeyField(
        "andon.Cause", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    parent_id: int | None

    class Meta:
        table = "cause"
        unique_together = (("account", "code"),)


class Issue(Stamped):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "andon.Account", related_name="issues", on_delete=fields.CASCADE
    )
    account_id: str
    station: fields.ForeignKeyRelation[Station] = fields.ForeignKeyField(
        "andon.Station", related_name="issues", on_delete=fields.CASCADE
    )
    station_id: int
    sku: fields.ForeignKeyNullableRelation[Sku] = fields.ForeignKeyField(
        "andon.Sku", related_name="issues", null=True, on_delete=fields.SET_NULL
    )
    sku_id: int | None
    type = fields.CharField(max_length=10)
    start_at = fields.DatetimeField()
    end_at = fields.DatetimeField(null=True)
    excluded_at = fields.DatetimeField(null=True)
    start_notified_at = fields.DatetimeField(null=True)
    end_notified_at = fields.DatetimeField(null=True)
    # The account revision of the latest change to this issue or any of its events.
    revision = fields.BigIntField(default=0)

    class Meta:
        table = "issue"
        indexes = (("account_id", "start_at"), ("account_id", "end_at"), ("account_id", "revision"))


class IssueEvent(Stamped):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "andon.Account", related_name="issue_events", on_delete=fields.CASCADE
    )
    account_id: str
    issue: fields.ForeignKeyRelation[Issue] = fields.ForeignKeyField(
        "andon.Issue", related_name="events", on_delete=fields.CASCADE
    )
    issue_id: int
    type = fields.CharField(max_length=12)
    # Null for events the system raised (automatic escalation) and for access-code operators.
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "andon.User", related_name="issue_events", null=True, on_delete=fields.SET_NULL
    )
    user_id: int | None
    # Kept with the event: the user may be deleted later, the record must still say who it was.
    user_email = fields.CharField(max_length=254, null=True)
    operator_initials = fields.CharField(max_length=8, null=True)
    estimate_end_at = fields.DatetimeField(null=True)
    notified_at = fields.DatetimeField(null=True)
    cause: fields.ForeignKeyNullableRelation[Cause] = fields.ForeignKeyField(
        "andon.Cause", related_name="events", null=True, on_delete=fields.RESTRICT
    )
    cause_id: int | None
    # For automatic escalations: which condition raised it. Unique per issue, so a condition escalates
    # once whatever the restarts or the number of gateway instances.
    escalation_key = fields.CharField(max_length=40, null=True)
    revision = fields.BigIntField(default=0)

    class Meta:
        table = "issue_event"
        unique_together = (("issue", "escalation_key"),)


class IssueWatcher(Stamped):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "andon.Account", related_name="issue_watchers", on_delete=fields.CASCADE
    )
    account_id: str
    issue: fields.ForeignKeyRelation[Issue] = fields.ForeignKeyField(
        "andon.Issue", related_name="watchers", on_delete=fields.CASCADE
    )
    issue_id: int
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "andon.User", related_name="watching", on_delete=fields.CASCADE
    )
    user_id: int

    class Meta:
        table = "issue_watcher"
        unique_together = (("issue", "user"),)


class IssueChange(Model):
    """One row per issue change (create, event, end), in revision order: what a resuming subscriber replays."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "andon.Account", related_name="issue_changes", on_delete=fields.CASCADE
    )
    account_id: str
    revision = fields.BigIntField()
    issue: fields.ForeignKeyRelation[Issue] = fields.ForeignKeyField(
        "andon.Issue", related_name="changes", on_delete=fields.CASCADE
    )
    issue_id: int
    kind = fields.CharField(max_length=16)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "issue_change"
        unique_together = (("account", "revision"),)
