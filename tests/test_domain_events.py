"""Every committed issue change publishes one typed change, after the commit, with an increasing revision."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from models.issues import Issue
from resolvers.common.changes import Change
from tests.conftest import Tenant
from tests.helpers.issues import NO_AUTO_ESCALATION, ago


def test_issue_changes_are_published_after_commit_with_increasing_revisions(
    tenant: Tenant, client: TestClient
) -> None:
    tenant.ok(tenant.post("/api/admin/config", {"config": NO_AUTO_ESCALATION}))
    tenant.ok(tenant.post("/api/station", {"code": "S1", "name": "S", "plantCode": tenant.plant_code}))
    seen: list[tuple[Change, Any]] = []

    async def consumer(change: Change) -> None:
        if change.kind == "issue" and change.account_id == tenant.account_id:
            # Read with another query: the change must already be committed and visible.
            row = await Issue.get_or_none(id=change.entity_id)
            seen.append((change, row.revision if row else None))

    client.app.state.bus.subscribe(consumer)  # type: ignore[attr-defined]
    issue = tenant.ok(
        tenant.post("/api/issue", {"type": "stop", "stationCode": "S1", "startAt": ago(minutes=1)})
    )[0]
    for body in ({"type": "acknowledge"}, {"type": "estimate", "estimatedTime": 10}):
        assert tenant.post(f"/api/issue/{issue['id']}/event", body).status_code == 200
    assert tenant.post(f"/api/issue/{issue['id']}/event", {"type": "acknowledge"}).status_code == 409
    revisions = [change.revision for change, _ in seen]
    assert len(seen) == 3 and revisions == sorted(revisions) and len(set(revisions)) == 3
    assert all(change.entity_id == issue["id"] for change, _ in seen)
    assert [stored for _, stored in seen] == revisions  # the row already carried the published revision
    assert revisions[0] == issue["revision"]
