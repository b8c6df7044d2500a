"""Outbox retention (docs/notifications.md): settled emails that can never be written again are deleted
once older than the retention; anything an ongoing issue or the sender may still need stays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from starlette.testclient import TestClient

from models.outbox import (
    KIND_DAILY_SUMMARY,
    KIND_ESCALATION,
    KIND_ISSUE_ENDED,
    KIND_ISSUE_STARTED,
    OutboxMessage,
    day_ref,
    event_ref,
    issue_ref,
)
from models.tenancy import Plant
from resolvers.issues.ending import end_issue
from resolvers.mail.retention import prune_outbox
from tests.conftest import Tenant

KEEP = timedelta(days=90)


def _issue(t: Tenant, start: datetime) -> int:
    body = {"type": "stop", "stationCode": "R1", "startAt": start.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
    return int(t.ok(t.post("/api/issue", body))[0]["id"])


def test_settled_emails_of_ended_issues_and_old_summaries_go_the_rest_stay(
    client: TestClient, tenant: Tenant
) -> None:
    now = datetime.now(UTC)
    old, young = now - KEEP - timedelta(days=1), now - KEEP + timedelta(days=1)
    tomorrow = now + timedelta(days=1)
    tenant.ok(tenant.post("/api/station", {"code": "R1", "name": "R1", "plantCode": tenant.plant_code}))
    ended = _issue(tenant, now - timedelta(hours=2))
    portal = client.portal  # type: ignore[union-attr]  # the portal exists inside `with TestClient`
    portal.call(
        lambda: end_issue(account_id=tenant.account_id, issue_id=ended, end_at=now - timedelta(hours=1))
    )
    ongoing = _issue(tenant, now - timedelta(minutes=30))

    async def plant_id() -> int:
        return int((await Plant.get(account_id=tenant.account_id, code=tenant.plant_code)).id)

    plant = portal.call(plant_id)
    recipient = f"r@{tenant.domain}"
    # name → (row fields, kept?)
    cases: dict[str, tuple[dict[str, Any], bool]] = {
        "ended, sent long ago": ({"kind": KIND_ISSUE_STARTED, "issue_id": ended, "sent_at": old}, False),
        "ended, refused long ago": ({"kind": KIND_ISSUE_ENDED, "issue_id": ended, "failed_at": old}, False),
        "ended, sent lately": (
            {"kind": KIND_ESCALATION, "subject_ref": event_ref(1), "issue_id": ended, "sent_at": young},
            True,
        ),
        "ended, never sent": (
            {"kind": KIND_ESCALATION, "subject_ref": event_ref(2), "issue_id": ended},
            True,
        ),
        # A reminder of an ongoing issue may be due again; its row is what sends it once.
        "ongoing, sent long ago": (
            {"kind": KIND_ESCALATION, "subject_ref": event_ref(3, 1), "issue_id": ongoing, "sent_at": old},
            True,
        ),
        "summary, sent long ago": (
            {
                "kind": KIND_DAILY_SUMMARY,
                "subject_ref": day_ref(plant, date(2026, 1, 1)),
                "plant_id": plant,
                "sent_at": old,
            },
            False,
        ),
        "summary, sent lately": (
            {
                "kind": KIND_DAILY_SUMMARY,
                "subject_ref": day_ref(plant, date(2026, 11, 1)),
                "plant_id": plant,
                "sent_at": young,
            },
            True,
        ),
    }

    async def write() -> dict[str, int]:
        ids = {}
        for name, (fields, _) in cases.items():
            fields = {"subject_ref": issue_ref(int(fields.get("issue_id") or 0)), **fields}
            # Due tomorrow: the session's sender leaves the unsent one alone.
            row = await OutboxMessage.create(
                account_id=tenant.account_id, recipient=recipient, next_attempt_at=tomorrow, **fields
            )
            ids[name] = row.id
        return ids

    ids = portal.call(write)

    async def prune_and_read() -> tuple[int, set[int]]:
        deleted = await prune_outbox(now=now, keep=KEEP)
        left = await OutboxMessage.filter(id__in=list(ids.values())).values_list("id", flat=True)
        return deleted, set(left)  # type: ignore[arg-type]

    deleted, left = portal.call(prune_and_read)
    kept = {name for name, row_id in ids.items() if row_id in left}
    assert kept == {name for name, (_, keep) in cases.items() if keep}
    # Other accounts' rows may be pruned in the same call (retention is gateway-wide), never fewer.
    assert deleted >= len(cases) - len(kept)
