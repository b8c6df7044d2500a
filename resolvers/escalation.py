"""Automatic escalation (SPEC section 4): one system `escalate` event per due condition of an ongoing issue."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.issues import Issue, IssueEvent
from resolvers.account_config import config_values_for
from resolvers.changes import Change, publish
from resolvers.revisions import next_revision

log = logging.getLogger(__name__)


def due_conditions(
    *, start_at: datetime, events: list[IssueEvent], config: dict[str, object], now: datetime
) -> list[str]:
    """Escalation keys whose deadline has passed (0 minutes turns a condition off)."""
    keys = []
    unacknowledged = float(config["ESCALATE_UNACKNOWLEDGED_AFTER_MINUTES"])  # type: ignore[arg-type]
    unestimated = float(config["ESCALATE_UNESTIMATED_AFTER_MINUTES"])  # type: ignore[arg-type]
    types = {e.type for e in events}
    if (
        unacknowledged > 0
        and "acknowledge" not in types
        and now >= start_at + timedelta(minutes=unacknowledged)
    ):
        keys.append("unacknowledged")
    if unestimated > 0 and "estimate" not in types and now >= start_at + timedelta(minutes=unestimated):
        keys.append("unestimated")
    estimates = [e for e in events if e.type == "estimate"]
    if config["ESCALATE_ON_ESTIMATE_EXPIRY"] and estimates:
        latest = estimates[-1]
        if latest.estimate_end_at is not None and latest.estimate_end_at <= now:
            keys.append(f"estimate-expired:{latest.id}")
    return keys


async def escalate_due_issues(*, now: datetime) -> int:
    """Raise every due escalation across all accounts; returns how many were raised.

    Safe to run from several places at once: the (issue, escalation_key) unique constraint lets one win.
    """
    issues = await Issue.filter(end_at__isnull=True, excluded_at__isnull=True).only(
        "id", "account_id", "start_at"
    )
    if not issues:
        return 0
    events: dict[int, list[IssueEvent]] = defaultdict(list)
    for event in await IssueEvent.filter(issue_id__in=[i.id for i in issues]).order_by("created_at", "id"):
        events[event.issue_id].append(event)
    configs = await config_values_for({i.account_id for i in issues})
    raised = 0
    for issue in issues:
        done = {e.escalation_key for e in events[issue.id] if e.escalation_key}
        for key in due_conditions(
            start_at=issue.start_at, events=events[issue.id], config=configs[issue.account_id], now=now
        ):
            if key not in done and await _raise(issue, key):
                raised += 1
    return raised


async def _raise(issue: Issue, key: str) -> bool:
    try:
        async with in_transaction():
            revision = await next_revision(issue.account_id)
            await IssueEvent.create(
                account_id=issue.account_id,
                issue_id=issue.id,
                type="escalate",
                escalation_key=key,
                revision=revision,
            )
            await Issue.filter(id=issue.id).update(revision=revision)
    except IntegrityError:
        return False  # another instance raised it first
    log.info("escalated issue %s (%s)", issue.id, key)
    await publish(Change("issue", issue.account_id, issue.id, revision))
    return True
