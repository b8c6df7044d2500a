"""Issue and event views with every derived field of SPEC section 4, computed in one place for REST and GraphQL.

Loading is split from rendering: a snapshot holds what was read (cacheable), a view adds what depends
on the clock (duration, RAG status), so a cached snapshot still renders correctly a minute later.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from models.durations import format_duration
from models.issue_status import EventFact, Summary, back_at_text, rag_status, summarise
from models.issues import Issue, IssueEvent
from models.timefmt import epoch_ms, iso_ms
from resolvers.catalog.cause_tree import CauseTree, cause_tree

View = dict[str, Any]


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True, slots=True)
class IssueSnapshot:
    """One issue as read: `static` is its view with every field that does not depend on the clock."""

    issue: Issue
    static: View
    summary: Summary
    back_at: str | None
    start_ms: int
    end_ms: int | None
    # A transport may keep its encoding of `static` here (the snapshot lives as long as the cache entry).
    memo: dict[str, bytes] = field(default_factory=dict)


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
    facts = [EventFact(e.type, e.created_at, e.estimate_end_at, tree.code_of(e.cause_id)) for e in events]
    summary = summarise(facts)
    latest_cause = next((e.cause_id for e in reversed(events) if e.type == "cause"), None)
    station, sku = issue.station, issue.sku
    start_ms, end_ms = epoch_ms(issue.start_at), epoch_ms(issue.end_at)
    static: View = {
        "id": issue.id,
        "type": issue.type,
        "stationCode": station.code,
        "startAt": iso_ms(issue.start_at),
        "endAt": iso_ms(issue.end_at),
        "createdAt": iso_ms(issue.created_at),
        "updatedAt": iso_ms(issue.updated_at),
        "startNotifiedAt": iso_ms(issue.start_notified_at),
        "endNotifiedAt": iso_ms(issue.end_notified_at),
        "accountId": issue.account_id,
        "excludedAt": iso_ms(issue.excluded_at),
        "events": [event_view(e, tree) for e in events],
        "isOngoing": issue.end_at is None,
        "isAcknowledged": summary.is_acknowledged,
        "isEstimated": summary.is_estimated,
        "isEscalated": summary.is_escalated,
        "hasCause": summary.cause_code is not None,
        "causeCode": summary.cause_code,
        "estimateEndAt": iso_ms(summary.estimate_end_at),
        "ragStatus": None,  # clock-dependent: filled in by issue_view
        "statusText": None,
        "stationName": station.name,
        "causeBreadcrumb": tree.breadcrumb(latest_cause),
        "startAtTimestamp": start_ms,
        "endAtTimestamp": end_ms,
        "duration": None,
        "durationFormatted": None,
        "skuCode": sku.code if sku else None,
        "skuName": sku.name if sku else None,
        "revision": issue.revision,
    }
    back_at = back_at_text(summary, zone(station.plant.timezone))
    return IssueSnapshot(issue, static, summary, back_at, start_ms, end_ms)  # type: ignore[arg-type]


CLOCK_FIELDS = ("ragStatus", "statusText", "duration", "durationFormatted")


def issue_views(snaps: Sequence[IssueSnapshot], now: datetime) -> list[View]:
    """The snapshots' views with the fields that depend on `now` (duration, RAG status) filled in."""
    return list(LiveIssues(snaps, now))


class LiveIssues(Sequence[View]):
    """Views of snapshots at one moment, built on access: a transport that splices a pre-encoded static
    part with `clock()` (REST) never builds the dicts."""

    def __init__(self, snaps: Sequence[IssueSnapshot], now: datetime) -> None:
        self.snaps = snaps
        self.now = now
        self._now_ms: int = epoch_ms(now)  # type: ignore[assignment]

    def __len__(self) -> int:
        return len(self.snaps)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._view(s) for s in self.snaps[index]]
        return self._view(self.snaps[index])

    def _view(self, snap: IssueSnapshot) -> View:
        view = dict(snap.static)
        view.update(self.clock(snap))
        return view

    def clock(self, snap: IssueSnapshot) -> View:
        """The CLOCK_FIELDS of one snapshot, now."""
        duration = max(0, (snap.end_ms if snap.end_ms is not None else self._now_ms) - snap.start_ms)
        rag, text = rag_status(
            snap.summary,
            ended=snap.end_ms is not None,
            excluded=snap.issue.excluded_at is not None,
            now=self.now,
            back_at=snap.back_at,
        )
        return {
            "ragStatus": rag,
            "statusText": text,
            "duration": duration,
            "durationFormatted": format_duration(duration),
        }
