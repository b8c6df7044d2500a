"""Issue and event views with every derived field of SPEC section 4, computed in one place for REST and GraphQL.

Loading is split from rendering: a snapshot holds what was read (cacheable), a view adds what depends
on the clock (duration, RAG status), so a cached snapshot still renders correctly a minute later.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from models.durations import format_duration
from models.issue_status import EventFact, derive
from models.issues import Issue, IssueEvent
from models.timefmt import epoch_ms, iso_ms
from resolvers.causes_tree import CauseTree, cause_tree

View = dict[str, Any]


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True, slots=True)
class IssueSnapshot:
    issue: Issue
    station_code: str
    station_name: str
    sku_code: str | None
    sku_name: str | None
    timezone: str
    events: tuple[View, ...]
    facts: tuple[EventFact, ...]
    breadcrumb: tuple[dict[str, str | None], ...]


def issues_query_relations() -> tuple[str, ...]:
    """What an issue query must select_related for snapshots (one JOINed query)."""
    return ("station__plant", "sku")


def event_view(e: IssueEvent, tree: CauseTree) -> View:
    return {
        "id": e.id,
        "downtimeId": e.issue_id,
        "type": e.type,
        "userId": e.user_id,
        "estimateEndAt": iso_ms(e.estimate_end_at),
        "notifiedAt": iso_ms(e.notified_at),
        "causeCode": tree.code_of(e.cause_id),
        "accountId": e.account_id,
        "createdAt": iso_ms(e.created_at),
        "updatedAt": iso_ms(e.updated_at),
        "operatorInitials": e.operator_initials,
        "userEmail": e.user_email,
    }


async def snapshots(account_id: str, issues: Sequence[Issue]) -> list[IssueSnapshot]:
    """Snapshots of issues loaded with issues_query_relations(): one more query for all their events."""
    tree = await cause_tree(account_id)
    by_issue: dict[int, list[IssueEvent]] = defaultdict(list)
    if issues:
        rows = await IssueEvent.filter(issue_id__in=[i.id for i in issues]).order_by("created_at", "id")
        for event in rows:
            by_issue[event.issue_id].append(event)
    return [_snapshot(issue, by_issue.get(issue.id, []), tree) for issue in issues]


def _snapshot(issue: Issue, events: list[IssueEvent], tree: CauseTree) -> IssueSnapshot:
    facts = tuple(
        EventFact(e.type, e.created_at, e.estimate_end_at, tree.code_of(e.cause_id)) for e in events
    )
    latest_cause = next((e.cause_id for e in reversed(events) if e.type == "cause"), None)
    station, sku = issue.station, issue.sku
    return IssueSnapshot(
        issue=issue,
        station_code=station.code,
        station_name=station.name,
        sku_code=sku.code if sku else None,
        sku_name=sku.name if sku else None,
        timezone=station.plant.timezone,
        events=tuple(event_view(e, tree) for e in events),
        facts=facts,
        breadcrumb=tuple(tree.breadcrumb(latest_cause)),
    )


def issue_view(snap: IssueSnapshot, now: datetime) -> View:
    issue = snap.issue
    derived = derive(
        events=snap.facts,
        ended=issue.end_at is not None,
        excluded=issue.excluded_at is not None,
        now=now,
        timezone=zone(snap.timezone),
    )
    duration = max(0, epoch_ms(issue.end_at or now) - epoch_ms(issue.start_at))  # type: ignore[operator]
    return {
        "id": issue.id,
        "type": issue.type,
        "stationCode": snap.station_code,
        "startAt": iso_ms(issue.start_at),
        "endAt": iso_ms(issue.end_at),
        "createdAt": iso_ms(issue.created_at),
        "updatedAt": iso_ms(issue.updated_at),
        "startNotifiedAt": iso_ms(issue.start_notified_at),
        "endNotifiedAt": iso_ms(issue.end_notified_at),
        "accountId": issue.account_id,
        "excludedAt": iso_ms(issue.excluded_at),
        "events": list(snap.events),
        "isOngoing": issue.end_at is None,
        "isAcknowledged": derived.is_acknowledged,
        "isEstimated": derived.is_estimated,
        "isEscalated": derived.is_escalated,
        "hasCause": derived.cause_code is not None,
        "causeCode": derived.cause_code,
        "estimateEndAt": iso_ms(derived.estimate_end_at),
        "ragStatus": derived.rag_status,
        "statusText": derived.status_text,
        "stationName": snap.station_name,
        "causeBreadcrumb": list(snap.breadcrumb),
        "startAtTimestamp": epoch_ms(issue.start_at),
        "endAtTimestamp": epoch_ms(issue.end_at),
        "duration": duration,
        "durationFormatted": format_duration(duration),
        "skuCode": snap.sku_code,
        "skuName": snap.sku_name,
        "revision": issue.revision,
    }
