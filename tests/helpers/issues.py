"""Issues over REST for tests: an account config without escalation timers, past instants, new issues."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import Tenant

NO_AUTO_ESCALATION = {
    "ESCALATE_UNACKNOWLEDGED_AFTER_MINUTES": 0,
    "ESCALATE_UNESTIMATED_AFTER_MINUTES": 0,
    "ESCALATE_ON_ESTIMATE_EXPIRY": False,
}


def iso(moment: datetime) -> str:
    """The wire form of an instant: UTC, milliseconds, `Z`."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ago(**delta: float) -> str:
    return iso(datetime.now(UTC) - timedelta(**delta))


def new_issue(t: Tenant, station: str = "S1", **body: Any) -> dict[str, Any]:
    response = t.post(
        "/api/issue", {"type": "stop", "stationCode": station, "startAt": ago(minutes=5), **body}
    )
    assert response.status_code == 200, response.text
    [issue] = response.json()["results"]
    return issue  # type: ignore[no-any-return]


def event(t: Tenant, issue_id: int, key: str | None = None, **body: Any) -> Any:
    return t.post(f"/api/issue/{issue_id}/event", body, key=key)
