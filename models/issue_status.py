"""Derived issue state (SPEC section 4): acknowledged, estimated, escalated, cause, RAG colour, status text. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

EVENT_TYPES = ("acknowledge", "estimate", "escalate", "cause", "watch", "exclude", "include")
# Events that only make sense while the machine is still down.
ONGOING_ONLY = frozenset({"acknowledge", "estimate", "escalate"})

GREY, GREEN, RED, AMBER = "#bbbbbb", "#009988", "#cc3311", "#ee7733"


@dataclass(frozen=True, slots=True)
class EventFact:
    """What the derivation needs of one event; events are given oldest first."""

    type: str
    created_at: datetime
    estimate_end_at: datetime | None = None
    cause_code: str | None = None


@dataclass(frozen=True, slots=True)
class Summary:
    """What the events say, independent of the clock."""

    is_acknowledged: bool
    is_estimated: bool
    estimate_end_at: datetime | None
    is_escalated: bool
    # Escalated with no estimate given after the latest escalation.
    escalation_open: bool
    cause_code: str | None


def _latest(events: Sequence[EventFact], kind: str) -> int:
    """Index of the latest event of `kind`, or -1."""
    return next((i for i in range(len(events) - 1, -1, -1) if events[i].type == kind), -1)


def summarise(events: Sequence[EventFact]) -> Summary:
    estimate_at = _latest(events, "estimate")
    escalated_at = _latest(events, "escalate")
    cause_at = _latest(events, "cause")
    return Summary(
        is_acknowledged=any(e.type == "acknowledge" for e in events),
        is_estimated=estimate_at >= 0,
        estimate_end_at=events[estimate_at].estimate_end_at if estimate_at >= 0 else None,
        is_escalated=escalated_at >= 0,
        escalation_open=escalated_at >= 0 and estimate_at < escalated_at,
        cause_code=events[cause_at].cause_code if cause_at >= 0 else None,
    )


def back_at_text(summary: Summary, timezone: ZoneInfo) -> str | None:
    """`Back at HH:MM` in the plant's local time, for the latest estimate (computed once per snapshot)."""
    if summary.estimate_end_at is None:
        return None
    return f"Back at {summary.estimate_end_at.astimezone(timezone):%H:%M}"


def rag_status(
    summary: Summary, *, ended: bool, excluded: bool, now: datetime, back_at: str | None
) -> tuple[str, str]:
    """(ragStatus, statusText): the first matching row of the SPEC's RAG table; `back_at` is back_at_text()."""
    if excluded:
        return GREY, "Excluded"
    if ended:
        return GREEN, "Resolved"
    if not summary.is_acknowledged:
        return RED, "Awaiting acknowledgement"
    estimate = summary.estimate_end_at
    if estimate is not None and estimate <= now:
        return RED, "Estimate expired"
    if summary.escalation_open:
        return RED, "Escalated"
    if estimate is None or back_at is None:
        return AMBER, "Awaiting estimate"
    return GREEN, back_at
