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
class Derived:
    is_acknowledged: bool
    is_estimated: bool
    estimate_end_at: datetime | None
    is_escalated: bool
    cause_code: str | None
    rag_status: str
    status_text: str


def _latest(events: Sequence[EventFact], kind: str) -> int:
    """Index of the latest event of `kind`, or -1."""
    return next((i for i in range(len(events) - 1, -1, -1) if events[i].type == kind), -1)


def derive(
    *, events: Sequence[EventFact], ended: bool, excluded: bool, now: datetime, timezone: ZoneInfo
) -> Derived:
    estimate_at = _latest(events, "estimate")
    escalated_at = _latest(events, "escalate")
    cause_at = _latest(events, "cause")
    acknowledged = any(e.type == "acknowledge" for e in events)
    back_at = events[estimate_at].estimate_end_at if estimate_at >= 0 else None
    # "Escalated" holds until someone gives an estimate after the latest escalation.
    escalation_open = escalated_at >= 0 and estimate_at < escalated_at
    rag, text = _rag(
        acknowledged, back_at, escalation_open, ended=ended, excluded=excluded, now=now, tz=timezone
    )
    return Derived(
        is_acknowledged=acknowledged,
        is_estimated=estimate_at >= 0,
        estimate_end_at=back_at,
        is_escalated=escalated_at >= 0,
        cause_code=events[cause_at].cause_code if cause_at >= 0 else None,
        rag_status=rag,
        status_text=text,
    )


def _rag(
    acknowledged: bool,
    back_at: datetime | None,
    escalation_open: bool,
    *,
    ended: bool,
    excluded: bool,
    now: datetime,
    tz: ZoneInfo,
) -> tuple[str, str]:
    """The first matching row of the SPEC's RAG table."""
    if excluded:
        return GREY, "Excluded"
    if ended:
        return GREEN, "Resolved"
    if not acknowledged:
        return RED, "Awaiting acknowledgement"
    if back_at is not None and back_at <= now:
        return RED, "Estimate expired"
    if escalation_open:
        return RED, "Escalated"
    if back_at is None:
        return AMBER, "Awaiting estimate"
    return GREEN, f"Back at {back_at.astimezone(tz):%H:%M}"
