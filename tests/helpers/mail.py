"""Accounts, users and issues for the email tests (SPEC section 9).

The session app sends to the session's SMTP sink (tests/conftest.py). Every test works in an account of
its own, so its emails are told apart by the recipients' domain.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.conftest import Tenant
from tests.smtp_sink import SmtpSink

# SPEC: an email reaches a reachable SMTP server within 10 s of its trigger.
WITHIN_SECONDS = 10.0
NASTY = "<script>alert('x')</script> Press & Co"
PREFS = "/api/notification-preference"


def now_iso() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def user(
    t: Tenant, name: str, preferences: dict[str, list[str]] | None = None, role: str = "member"
) -> tuple[str, str]:
    """A user of the account (email, API key), with their preferences per station group code."""
    email = f"{name}@{t.domain}"
    created = t.ok(t.post("/api/user", {"email": email, "role": role}))
    key = str(t.ok(t.post("/api/apikey", {"userId": created["id"], "name": name}))["apiKey"])
    if preferences:
        body = [{"stationGroupCode": g, "preference": p} for g, p in preferences.items()]
        t.ok(t.post(PREFS, body, key=key))
    return email, key


def layout(t: Tenant) -> None:
    """Groups g1 and g2 with one station each; s1's name needs escaping."""
    for group in ("g1", "g2"):
        t.ok(t.post("/api/station-group", {"code": group, "name": group.upper(), "plantCode": t.plant_code}))
    t.ok(t.post("/api/station", {"code": "s1", "name": NASTY, "plantCode": t.plant_code, "groupCode": "g1"}))
    t.ok(
        t.post("/api/station", {"code": "s2", "name": "Second", "plantCode": t.plant_code, "groupCode": "g2"})
    )
    t.ok(
        t.post(
            "/api/admin/config",
            {
                "config": {
                    "EMAIL_FROM": f"andon@{t.domain}",
                    "DASHBOARD_URL": "https://andon.example.com/board",
                    "ESCALATE_UNACKNOWLEDGED_AFTER_MINUTES": 0,
                    "ESCALATE_UNESTIMATED_AFTER_MINUTES": 0,
                    "ESCALATE_ON_ESTIMATE_EXPIRY": False,
                }
            },
        )
    )


def start_issue(t: Tenant, station: str = "s1", **extra: Any) -> int:
    body = {"type": "stop", "stationCode": station, "startAt": now_iso(), **extra}
    return int(t.ok(t.post("/api/issue", body))[0]["id"])


def issue_view(t: Tenant, issue_id: int) -> dict[str, Any]:
    """The issue as GET /api/issue shows it."""
    return t.ok(t.get("/api/issue", params={"id": issue_id}))[0]  # type: ignore[no-any-return]


def subjects(sink: SmtpSink, address: str) -> list[str]:
    return sorted(str(m["Subject"]) for m in sink.to(address))
