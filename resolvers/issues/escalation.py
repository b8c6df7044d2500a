"""Automatic escalation (SPEC section 4): one system `escalate` event per due condition of an ongoing issue."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.issues import Issue, IssueEvent
from models.timefmt import Clock, utc_now
from resolvers.common.changes import Change, publish
from resolvers.common.leases import seeding_accounts
from resolvers.common.revisions import next_revision, record_change
from resolvers.identity.account_config import config_values_for
from resolvers.mail.outbox import enqueue_escalation

log = logging.getLogger(__name__)
# The time conditions: escalation key → (its config key in minutes, the event type that settles it).
_TIME_CONDITIONS = {
    "unacknowledged": ("ESCALATE_UNACKNOWLEDGED_AFTER_MINUTES", "acknowledge"),
    "unestimated": ("ESCALATE_UNESTIMATED_AFTER_MINUTES", "estimate"),
}


def time_deadlines(*, start_at: datetime, config: Mapping[str, object]) -> dict[str, datetime]:
    """When each time condition of an issue started at `start_at` falls due, by escalation key; a
    condition set to 0 minutes is off and has none. The one deadline rule of the timer's pre-filter and
    of due_conditions."""
    deadlines = {}
    for key, (minutes_key, _settled_by) in _TIME_CONDITIONS.items():
        minutes = float(config[minutes_key])  # type: ignore[arg-type]
        if minutes > 0:
            deadlines[key] = start_at + timedelta(minutes=minutes)
    return deadlines


def due_conditions(
    *, start_at: datetime, events: list[IssueEvent], config: dict[str, object], now: datetime
) -> list[str]:
    """Escalation keys whose deadline has passed (0 minutes turns a condition off)."""
    types = {e.type for e in events}
    keys = [
        key
        for key, deadline in time_deadlines(start_at=start_at, config=config).items()
        if _TIME_CONDITIONS[key][1] not in types and now >= deadline
    ]
    estimates = [e for e in events if e.type == "estimate"]
    if config["ESCALATE_ON_ESTIMATE_EXPIRY"] and estimates:
        latest = estimates[-1]
        if latest.estimate_end_at is not None and latest.estimate_end_at <= now:
            keys.append(f"estimate-expired:{latest.id}")
    return keys


async def escalate_due_issues(*, now: datetime, clock: Clock = utc_now) -> int:
    """Raise every due escalation across all accounts at `now`; returns how many were raised.

    Safe to run from several places at once: the (issue, escalation_key) unique constraint lets one win.
    Runs every second, so it reads plain values and loads events only for issues that may be due.
    `clock` is the present the seeding leases are timed by (the seeding's, read as the query runs).
    """
    ongoing = await Issue.filter(end_at__isnull=True, excluded_at__isnull=True).values(
        "id", "account_id", "start_at"
    )
    if ongoing and (seeding := set(await seeding_accounts(now=clock()))):
        # A demo history being written has stops that are ongoing for an instant but started days ago.
        ongoing = [row for row in ongoing if row["account_id"] not in seeding]
    if not ongoing:
        return 0
    configs = await config_values_for({row["account_id"] for row in ongoing})
    candidates = await _candidates(ongoing, configs, now)
    if not candidates:
        return 0
    events: dict[int, list[IssueEvent]] = defaultdict(list)
    for event in await IssueEvent.filter(issue_id__in=list(candidates)).order_by("created_at", "id"):
        events[event.issue_id].append(event)
    raised = 0
    for issue_id, row in candidates.items():
        done = {e.escalation_key for e in events[issue_id] if e.escalation_key}
        config = configs[row["account_id"]]
        for key in due_conditions(start_at=row["start_at"], events=events[issue_id], config=config, now=now):
            if key not in done and await _raise(issue_id, row["account_id"], key, now=now):
                raised += 1
    return raised


async def _candidates(
    ongoing: list[dict[str, Any]], configs: dict[str, dict[str, Any]], now: datetime
) -> dict[int, dict[str, Any]]:
    """Issues past a time deadline, or with an estimate that has run out where expiry escalates."""
    found: dict[int, dict[str, Any]] = {}
    expiry_watch: dict[int, dict[str, Any]] = {}
    for row in ongoing:
        config = configs[row["account_id"]]
        deadlines = time_deadlines(start_at=row["start_at"], config=config)
        if deadlines and now >= min(deadlines.values()):
            found[row["id"]] = row
        elif config["ESCALATE_ON_ESTIMATE_EXPIRY"]:
            expiry_watch[row["id"]] = row
    if expiry_watch:
        expired = IssueEvent.filter(
            issue_id__in=list(expiry_watch), type="estimate", estimate_end_at__lte=now
        )
        for issue_id in await expired.values_list("issue_id", flat=True):
            found[issue_id] = expiry_watch[issue_id]  # type: ignore[index]
    return found


async def _raise(issue_id: int, account_id: str, key: str, *, now: datetime) -> bool:
    try:
        async with in_transaction():
            revision = await next_revision(account_id)
            event = await IssueEvent.create(
                account_id=account_id,
                issue_id=issue_id,
                type="escalate",
                escalation_key=key,
                revision=revision,
                # The moment the deadline was judged passed: reminders are timed from it, at their own `now`.
                created_at=now,
            )
            await Issue.filter(id=issue_id).update(revision=revision)
            await record_change(account_id=account_id, revision=revision, issue_id=issue_id, kind="escalate")
            await enqueue_escalation(event=event, now=now)
    except IntegrityError:
        return False  # another instance raised it first
    log.info("escalated issue %s (%s)", issue_id, key)
    await publish(Change("issue", account_id, issue_id, revision))
    return True
