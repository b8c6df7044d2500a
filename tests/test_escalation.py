"""Automatic escalation (SPEC section 4): one system `escalate` event per due condition, raised by a timer.

The pure rule (`due_conditions`) is checked at and around each deadline; the running gateway is checked
in-process (the session app's escalation timer runs every second) and as real `andon serve` processes:
across a restart and with two instances on one Postgres database, a condition is escalated exactly once.
"Not escalated (again)" is checked once later runs of the same timer have raised escalations of fresh
issues (tests/helpers/mail_sentinels.py), never after a fixed sleep.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from models.issues import Issue, IssueEvent
from resolvers.issues.escalation import _raise, due_conditions
from tests.conftest import Tenant
from tests.gateway_process import Gateway, running_gateway, running_gateways, subprocess_database
from tests.helpers.mail_sentinels import SENTINEL_SECONDS, Sentinels
from tests.helpers.waiting import poll

# The SPEC's bound: an escalation is raised within 5 s of its deadline.
WITHIN_SECONDS = 5.0
# 0.05 minutes: the shortest deadline that still leaves time to act before it.
SHORT_MINUTES = 0.05
SHORT_SECONDS = SHORT_MINUTES * 60

OFF = {
    "ESCALATE_UNACKNOWLEDGED_AFTER_MINUTES": 0,
    "ESCALATE_UNESTIMATED_AFTER_MINUTES": 0,
    "ESCALATE_ON_ESTIMATE_EXPIRY": False,
}


# --- helpers ------------------------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _now_ms() -> datetime:
    """Now, truncated to the millisecond the wire format carries (so a startAt of `now` is never future)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@pytest.fixture(scope="module")
def sentinels(client: TestClient) -> Iterator[Sentinels]:
    yield Sentinels(client)


def _escalations(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "escalate"]


def _db_events(client: TestClient, issue_id: int) -> list[dict[str, Any]]:
    """The issue's events straight from the database (no request to the app is involved)."""

    async def load() -> list[dict[str, Any]]:
        return (
            await IssueEvent.filter(issue_id=issue_id)
            .order_by("id")
            .values("id", "type", "user_id", "user_email", "escalation_key", "created_at")
        )

    return client.portal.call(load)  # type: ignore[union-attr]  # the portal exists inside `with TestClient`


def _db_escalations(client: TestClient, issue_id: int) -> list[dict[str, Any]]:
    return _escalations(_db_events(client, issue_id))


def _configure(tenant: Tenant, **config: object) -> None:
    tenant.ok(tenant.post("/api/admin/config", {"config": {**OFF, **config}}))


def _station(tenant: Tenant) -> str:
    code = f"st-{uuid.uuid4().hex[:8]}"
    tenant.ok(tenant.post("/api/station", {"code": code, "name": code, "plantCode": tenant.plant_code}))
    return code


def _create_issue(tenant: Tenant, start_at: datetime, end_at: datetime | None = None) -> int:
    body: dict[str, Any] = {"type": "stop", "stationCode": _station(tenant), "startAt": _iso(start_at)}
    if end_at is not None:
        body["endAt"] = _iso(end_at)
    (issue,) = tenant.ok(tenant.post("/api/issue", body))
    return int(issue["id"])


def _issue(tenant: Tenant, issue_id: int) -> dict[str, Any]:
    (issue,) = tenant.ok(tenant.get("/api/issue", params={"id": issue_id}))
    return dict(issue)


def _event(tenant: Tenant, issue_id: int, body: dict[str, Any]) -> None:
    response = tenant.post(f"/api/issue/{issue_id}/event", body)
    assert response.status_code == 200, response.text


# --- 1. the rule --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ev:
    """What due_conditions reads of an event."""

    type: str
    id: int = 0
    estimate_end_at: datetime | None = None


START = datetime(2025, 5, 29, 8, 0, tzinfo=UTC)


def _config(unacknowledged: float = 0, unestimated: float = 0, expiry: bool = False) -> dict[str, object]:
    return {
        "ESCALATE_UNACKNOWLEDGED_AFTER_MINUTES": unacknowledged,
        "ESCALATE_UNESTIMATED_AFTER_MINUTES": unestimated,
        "ESCALATE_ON_ESTIMATE_EXPIRY": expiry,
        "ESCALATION_REPEAT_MINUTES": 0,
    }


def _due(events: list[Ev], config: dict[str, object], now: datetime) -> list[str]:
    return due_conditions(start_at=START, events=events, config=config, now=now)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("config", "minutes", "key"),
    [
        (_config(unacknowledged=10), 10, "unacknowledged"),
        (_config(unestimated=30), 30, "unestimated"),
        (_config(unacknowledged=0.05), 0.05, "unacknowledged"),
        (_config(unestimated=2.5), 2.5, "unestimated"),
    ],
)
def test_a_condition_is_due_exactly_at_its_deadline(
    config: dict[str, object], minutes: float, key: str
) -> None:
    deadline = START + timedelta(minutes=minutes)
    assert _due([], config, START) == []
    assert _due([], config, deadline - timedelta(microseconds=1)) == []
    assert _due([], config, deadline) == [key]
    assert _due([], config, deadline + timedelta(hours=5)) == [key]


def test_both_time_conditions_can_be_due_together() -> None:
    config = _config(unacknowledged=10, unestimated=30)
    assert _due([], config, START + timedelta(minutes=20)) == ["unacknowledged"]
    assert _due([], config, START + timedelta(minutes=30)) == ["unacknowledged", "unestimated"]


def test_zero_minutes_turns_a_condition_off() -> None:
    much_later = START + timedelta(days=30)
    assert _due([], _config(), much_later) == []
    assert _due([], _config(unacknowledged=0, unestimated=30), much_later) == ["unestimated"]
    assert _due([], _config(unacknowledged=10, unestimated=0), much_later) == ["unacknowledged"]


def test_an_acknowledgement_stops_the_unacknowledged_condition_only() -> None:
    config = _config(unacknowledged=10, unestimated=30)
    much_later = START + timedelta(hours=3)
    assert _due([Ev("acknowledge", 1)], config, much_later) == ["unestimated"]
    # Other events are no acknowledgement.
    others = [Ev("watch", 1), Ev("cause", 2), Ev("escalate", 3)]
    assert _due(others, config, much_later) == ["unacknowledged", "unestimated"]


def test_an_estimate_stops_the_unestimated_condition() -> None:
    config = _config(unestimated=30)
    later = START + timedelta(minutes=45)
    future = later + timedelta(minutes=10)
    assert _due([Ev("acknowledge", 1), Ev("estimate", 2, future)], config, later) == []
    assert _due([Ev("acknowledge", 1)], config, later) == ["unestimated"]


def test_an_expired_latest_estimate_is_due_with_its_event_id() -> None:
    config = _config(expiry=True)
    end = START + timedelta(minutes=20)
    events = [Ev("acknowledge", 4), Ev("estimate", 7, end)]
    assert _due(events, config, end - timedelta(microseconds=1)) == []
    assert _due(events, config, end) == ["estimate-expired:7"]
    assert _due(events, config, end + timedelta(hours=1)) == ["estimate-expired:7"]


def test_a_newer_unexpired_estimate_replaces_an_expired_one() -> None:
    config = _config(expiry=True)
    now = START + timedelta(minutes=30)
    events = [
        Ev("estimate", 7, START + timedelta(minutes=20)),
        Ev("escalate", 8),
        Ev("estimate", 9, now + timedelta(minutes=5)),
    ]
    assert _due(events, config, now) == []
    # Once the newer one passes too, it is a condition of its own.
    assert _due(events, config, now + timedelta(minutes=5)) == ["estimate-expired:9"]


def test_estimate_expiry_can_be_turned_off() -> None:
    events = [Ev("estimate", 7, START + timedelta(minutes=1))]
    assert _due(events, _config(expiry=False), START + timedelta(days=1)) == []
    assert _due(events, _config(expiry=True), START + timedelta(days=1)) == ["estimate-expired:7"]


# --- 2-4. the running gateway, in-process ----------------------------------------------------------------


def test_an_unacknowledged_issue_is_escalated_once_by_the_timer(
    client: TestClient, tenant: Tenant, sentinels: Sentinels
) -> None:
    _configure(tenant, ESCALATE_UNACKNOWLEDGED_AFTER_MINUTES=SHORT_MINUTES)
    start = _now_ms()
    started = time.monotonic() - (datetime.now(UTC) - start).total_seconds()
    issue_id = _create_issue(tenant, start)

    # From here on nothing is sent to the app about this issue: the events are read from the database
    # directly, so only the app's timer can raise the escalation (and reads would not drive it anyway).
    escalations = poll(
        lambda: _db_escalations(client, issue_id),
        bool,
        until=started + SHORT_SECONDS + WITHIN_SECONDS,
    )
    assert len(escalations) == 1, f"no escalation within {WITHIN_SECONDS} s of the deadline: {escalations}"
    (escalation,) = escalations
    assert escalation["user_id"] is None and escalation["user_email"] is None
    assert escalation["escalation_key"] == "unacknowledged"
    # Not before the deadline.
    assert escalation["created_at"] >= start + timedelta(seconds=SHORT_SECONDS)

    # A second escalation would come from the run that raised the first or a later one.
    sentinels.escalation_runs()
    assert len(_db_escalations(client, issue_id)) == 1

    issue = _issue(tenant, issue_id)
    assert [(e["type"], e["userId"], e["userEmail"]) for e in _escalations(issue["events"])] == [
        ("escalate", None, None)
    ]
    assert issue["isEscalated"] is True
    assert issue["isAcknowledged"] is False
    # "not acknowledged" comes before "escalated" in the RAG table.
    assert (issue["ragStatus"], issue["statusText"]) == ("#cc3311", "Awaiting acknowledgement")


def test_acknowledged_excluded_and_ended_issues_are_not_escalated(
    client: TestClient, tenant: Tenant, sentinels: Sentinels
) -> None:
    _configure(tenant, ESCALATE_UNACKNOWLEDGED_AFTER_MINUTES=SHORT_MINUTES)
    start = _now_ms()
    deadline = time.monotonic() - (datetime.now(UTC) - start).total_seconds() + SHORT_SECONDS
    control = _create_issue(tenant, start)
    acknowledged = _create_issue(tenant, start)
    _event(tenant, acknowledged, {"type": "acknowledge"})
    excluded = _create_issue(tenant, start)
    _event(tenant, excluded, {"type": "exclude"})
    # Long past its deadline, but over.
    ended = _create_issue(tenant, start - timedelta(minutes=10), end_at=start - timedelta(minutes=5))
    assert time.monotonic() < deadline, "the setup took longer than the deadline; the test proves nothing"

    # The control issue shows a run past the deadline, in which the others were due as well: that run,
    # and a whole one after it, have ended once the sentinel's escalations are raised.
    assert poll(lambda: _db_escalations(client, control), bool, until=deadline + WITHIN_SECONDS)
    sentinels.escalation_runs()
    for name, issue_id in (("acknowledged", acknowledged), ("excluded", excluded), ("ended", ended)):
        assert _db_escalations(client, issue_id) == [], f"the {name} issue was escalated"
        assert _issue(tenant, issue_id)["isEscalated"] is False
    assert len(_db_escalations(client, control)) == 1


def _move_estimate_into_the_past(client: TestClient, issue_id: int) -> int:
    """Stands in for the clock passing the estimate: its end is set one second ago in the database."""

    async def move() -> int:
        event = await IssueEvent.filter(issue_id=issue_id, type="estimate").order_by("-id").first()
        assert event is not None
        event.estimate_end_at = datetime.now(UTC) - timedelta(seconds=1)
        await event.save(update_fields=["estimate_end_at"])
        return int(event.id)

    return client.portal.call(move)  # type: ignore[union-attr]


def test_an_expired_estimate_is_escalated_once(
    client: TestClient, tenant: Tenant, sentinels: Sentinels
) -> None:
    _configure(tenant, ESCALATE_ON_ESTIMATE_EXPIRY=True)
    issue_id = _create_issue(tenant, _now_ms())
    _event(tenant, issue_id, {"type": "acknowledge"})
    _event(tenant, issue_id, {"type": "estimate", "estimatedTime": 1})
    assert _issue(tenant, issue_id)["statusText"].startswith("Back at ")

    estimate_id = _move_estimate_into_the_past(client, issue_id)
    escalations = poll(lambda: _db_escalations(client, issue_id), bool, timeout=WITHIN_SECONDS)
    assert [(e["escalation_key"], e["user_id"], e["user_email"]) for e in escalations] == [
        (f"estimate-expired:{estimate_id}", None, None)
    ]
    sentinels.escalation_runs()  # the run that raised it, and a whole one after it, have ended
    assert len(_db_escalations(client, issue_id)) == 1
    issue = _issue(tenant, issue_id)
    assert issue["isEscalated"] is True
    assert (issue["ragStatus"], issue["statusText"]) == ("#cc3311", "Estimate expired")

    # A new estimate answers the escalation; when that one expires too, it is a condition of its own.
    _event(tenant, issue_id, {"type": "estimate", "estimatedTime": 1})
    assert _issue(tenant, issue_id)["statusText"].startswith("Back at ")
    newer_id = _move_estimate_into_the_past(client, issue_id)
    escalations = poll(
        lambda: _db_escalations(client, issue_id),
        lambda e: len(e) >= 2,
        timeout=WITHIN_SECONDS,
    )
    assert [e["escalation_key"] for e in escalations] == [
        f"estimate-expired:{estimate_id}",
        f"estimate-expired:{newer_id}",
    ]


def test_concurrent_raises_of_one_condition_store_one_event(client: TestClient, tenant: Tenant) -> None:
    """What several instances do at once, on this run's database: one insert wins, the others give way."""
    _configure(tenant)  # every condition off: the app's own timer leaves this issue alone
    issue_id = _create_issue(tenant, _now_ms())

    async def race() -> list[object]:
        issue = await Issue.get(id=issue_id)
        now = datetime.now(UTC)  # one tick's moment, as the instances racing on it would each judge it
        outcomes = await asyncio.gather(
            *(_raise(issue.id, issue.account_id, "unacknowledged", now=now) for _ in range(6)),
            return_exceptions=True,
        )
        return list(outcomes)

    outcomes = client.portal.call(race)  # type: ignore[union-attr]
    assert sorted(outcomes, key=repr) == [False] * 5 + [True], outcomes
    assert [e["escalation_key"] for e in _db_escalations(client, issue_id)] == ["unacknowledged"]
    assert _issue(tenant, issue_id)["isEscalated"] is True


# --- 5-6. real gateway processes --------------------------------------------------------------------------

SYSTEM_KEY = "escalation-system-key-" + uuid.uuid4().hex


@dataclass
class Remote:
    """An account on a gateway process, reached over HTTP."""

    http: httpx.Client
    api_key: str
    plant_code: str

    def ok(self, response: httpx.Response) -> Any:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["isSuccess"] is True
        return body.get("result", body.get("results"))

    def post(self, path: str, body: Any) -> Any:
        return self.ok(self.http.post(path, json=body, headers={"X-API-KEY": self.api_key}))

    def escalations(self, issue_id: int) -> list[dict[str, Any]]:
        response = self.http.get("/api/issue", params={"id": issue_id}, headers={"X-API-KEY": self.api_key})
        (issue,) = self.ok(response)
        return _escalations(issue["events"])

    def due_issue(self) -> int:
        """An ongoing issue that started 10 minutes ago: long past a 3 s deadline."""
        code = f"st-{uuid.uuid4().hex[:8]}"
        self.post("/api/station", {"code": code, "name": code, "plantCode": self.plant_code})
        start = _now_ms() - timedelta(minutes=10)
        (issue,) = self.post("/api/issue", {"type": "stop", "stationCode": code, "startAt": _iso(start)})
        return int(issue["id"])


def _new_account(http: httpx.Client) -> Remote:
    domain = f"esc-{uuid.uuid4().hex[:8]}.example.com"
    response = http.post(
        "/api/admin/newaccount",
        json={"domain": domain, "plantName": "Main Plant"},
        headers={"X-API-KEY": SYSTEM_KEY},
    )
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    account = Remote(http, result["apiKey"], result["plantCode"])
    account.post(
        "/api/admin/config", {"config": {**OFF, "ESCALATE_UNACKNOWLEDGED_AFTER_MINUTES": SHORT_MINUTES}}
    )
    return account


def _system_escalations(remote: Remote, issue_id: int) -> list[tuple[Any, Any]]:
    return [(e["userId"], e["userEmail"]) for e in remote.escalations(issue_id)]


def _later_escalation_runs(account: Remote, runs: int = 2) -> list[int]:
    """Escalations of `runs` fresh due issues, each created once the previous one was raised: with 2, a
    whole run of the lease holder's escalation timer that began after the call has ended (the reasoning
    of tests/helpers/mail_sentinels.py, against a gateway process). The issues, in order."""
    issues = []
    for _ in range(runs):
        issue_id = account.due_issue()
        raised = poll(partial(account.escalations, issue_id), bool, timeout=SENTINEL_SECONDS)
        assert raised, f"the escalation timer did not escalate issue {issue_id}"
        issues.append(issue_id)
    return issues


def _assert_no_timer_failure(*gateways: Gateway) -> None:
    for gateway in gateways:
        assert "escalation-timer failed" not in gateway.stderr(), gateway.output()


@pytest.fixture
def database(tmp_path: Path) -> Iterator[str]:
    with subprocess_database(tmp_path) as url:
        yield url


def test_a_restart_does_not_escalate_again(tmp_path: Path, database: str) -> None:
    env = {
        "ANDON_DATABASE_URL": database,
        "ANDON_SYSTEM_API_KEY": SYSTEM_KEY,
        "ANDON_TIMER_INTERVAL_SECONDS": "0.2",
    }
    with running_gateway(env, tmp_path) as gateway, gateway.client() as http:
        account = _new_account(http)
        first = account.due_issue()
        found = poll(lambda: _system_escalations(account, first), bool, timeout=WITHIN_SECONDS)
        assert found == [(None, None)], gateway.output()
        _assert_no_timer_failure(gateway)
    # Leaving the block stopped it with SIGTERM (and failed the test unless it exited in time).

    with running_gateway(env, tmp_path, migrate=False) as gateway, gateway.client() as http:
        account.http = http
        # A new due issue shows this process's timer is running. The run that raised it looked at
        # `first` too (or a run before it did); two later runs have ended once their issues are escalated,
        # and with them any second escalation of `first` or `second`.
        second = account.due_issue()
        assert poll(lambda: account.escalations(second), bool, timeout=WITHIN_SECONDS)
        _later_escalation_runs(account)
        assert _system_escalations(account, first) == [(None, None)]
        assert len(account.escalations(second)) == 1
        _assert_no_timer_failure(gateway)


@pytest.mark.postgres
def test_two_instances_escalate_each_condition_once(tmp_path: Path, database: str) -> None:
    env = {
        "ANDON_DATABASE_URL": database,
        "ANDON_SYSTEM_API_KEY": SYSTEM_KEY,
        "ANDON_TIMER_INTERVAL_SECONDS": "0.1",
    }
    with (
        running_gateways(env, tmp_path, count=2, log_level="info") as gateways,
        gateways[0].client() as a,
        gateways[1].client() as b,
    ):
        account = _new_account(a)
        # Several due issues, so the instances race on more than one.
        issues = [account.due_issue() for _ in range(5)]
        for issue_id in issues:
            raised = poll(partial(account.escalations, issue_id), bool, timeout=WITHIN_SECONDS)
            assert raised, issue_id
        # A second escalation of one of them would come from the runs that raised them or later ones.
        later = _later_escalation_runs(account)
        on_b = Remote(b, account.api_key, account.plant_code)
        for issue_id in issues:
            assert _system_escalations(account, issue_id) == [(None, None)], issue_id
            assert _system_escalations(on_b, issue_id) == [(None, None)], issue_id
    # Leaving the block stopped both processes: their logs are complete (a line is written after its
    # escalation commits, and read from the pipe by a thread of its own).
    _assert_no_timer_failure(*gateways)
    # Each instance logs the escalations it raised: together, each issue once.
    logged = [
        int(m)
        for gateway in gateways
        for m in re.findall(r"escalated issue (\d+) \(", gateway.stdout() + gateway.stderr())
    ]
    assert sorted(logged) == sorted([*issues, *later]), "\n".join(g.output() for g in gateways)
