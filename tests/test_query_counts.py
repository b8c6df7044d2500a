"""Query-count guards for the list paths: as many SQL statements for 30 issues as for 1 (no N+1).

Every list is read cold: before the counted request, a change of every kind is published for the
account, so the read cache, the cause tree and the credential cache all reload from the database.
Only statements run on behalf of the counted request are counted: the escalation timer and any other
background task share the connection but not the request's context.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient
from tortoise import connections

from tests.conftest import Tenant, new_tenant
from tests.helpers.issues import NO_AUTO_ESCALATION
from tests.helpers.statements import StatementCounter

LARGE = 30
# GET /api/issue, cold: credential, stations (when filtered), plant, issues JOIN station/plant/sku,
# cause tree, events.
MAX_ISSUE_LIST_STATEMENTS = 6

# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Dataset:
    tenant: Tenant
    stations: list[str]
    causes: int


def _ago(minutes: float) -> str:
    moment = datetime.now(UTC) - timedelta(minutes=minutes)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _issue_with_events(t: Tenant, station: str, events: list[dict[str, Any]]) -> None:
    [issue] = t.ok(t.post("/api/issue", {"type": "stop", "stationCode": station, "startAt": _ago(5)}))
    for body in events:
        t.ok(t.post(f"/api/issue/{issue['id']}/event", body))


def _stations(t: Tenant, count: int) -> list[str]:
    codes = [f"QC-{n:02d}" for n in range(1, count + 1)]
    for code in codes:
        t.ok(t.post("/api/station", {"code": code, "name": f"Station {code}", "plantCode": t.plant_code}))
    return codes


@pytest.fixture(scope="module")
def small(client: TestClient) -> Dataset:
    """One station, one cause, one ongoing issue with one event."""
    t = new_tenant(client)
    t.ok(t.post("/api/admin/config", {"config": NO_AUTO_ESCALATION}))
    t.ok(t.post("/api/issue/cause", {"code": "jam", "description": "Jam"}))
    codes = _stations(t, 1)
    _issue_with_events(t, codes[0], [{"type": "cause", "causeCode": "jam"}])
    return Dataset(t, codes, causes=1)


@pytest.fixture(scope="module")
def large(client: TestClient) -> Dataset:
    """30 stations, the default cause tree, 30 ongoing issues with 3 events each."""
    t = new_tenant(client)
    t.ok(t.post("/api/admin/config", {"config": NO_AUTO_ESCALATION}))
    t.ok(t.post("/api/admin/seedrun"))
    causes = len(t.ok(t.get("/api/issue/cause")))
    codes = _stations(t, LARGE)
    events: list[dict[str, Any]] = [
        {"type": "acknowledge", "operator": "JD"},
        {"type": "estimate", "estimatedTime": 60},
        {"type": "cause", "causeCode": "mechanical.conveyor.belt-jam"},
    ]
    for code in codes:
        _issue_with_events(t, code, events)
    return Dataset(t, codes, causes=causes)


# --------------------------------------------------------------------------- the guards


def _issue_paths(data: Dataset) -> dict[str, str]:
    codes = ",".join(data.stations)
    return {
        "issues": "/api/issue",
        "issues by station": f"/api/issue?stationcodes={codes}",
        "ongoing": f"/api/issue/ongoing?stationcodes={codes}",
    }


def _expected(data: Dataset, what: str) -> int:
    return data.causes if what == "causes" else len(data.stations)


def _path(data: Dataset, what: str) -> str:
    paths = {**_issue_paths(data), "causes": "/api/issue/cause", "stations": "/api/station"}
    return paths[what]


@pytest.mark.parametrize("what", ["issues", "issues by station", "ongoing", "causes", "stations"])
def test_statements_do_not_grow_with_the_rows(
    statements: StatementCounter, small: Dataset, large: Dataset, what: str
) -> None:
    assert large.causes > small.causes
    counted = {}
    for name, data in (("1 issue", small), (f"{LARGE} issues", large)):
        results, log = statements.get(data.tenant, _path(data, what))
        assert len(results) == _expected(data, what), (name, results)
        if what in ("issues", "issues by station", "ongoing"):
            per_issue = {len(issue["events"]) for issue in results}
            assert per_issue == ({1} if data is small else {3}), per_issue
        assert log, f"{what} ({name}) ran no SQL: the request was not cold"
        counted[name] = log
    one, many = counted.values()
    assert len(one) == len(many), "\n".join(
        [f"{what}: {len(one)} statements for 1 issue, {len(many)} for {LARGE}", *many]
    )


def test_the_issue_list_stays_a_handful_of_statements(statements: StatementCounter, large: Dataset) -> None:
    for path in ("/api/issue", _path(large, "issues by station")):
        results, log = statements.get(large.tenant, path)
        assert len(results) == LARGE
        assert len(log) <= MAX_ISSUE_LIST_STATEMENTS, "\n".join([f"{path}: {len(log)} statements", *log])


def test_background_statements_are_not_counted(statements: StatementCounter, small: Dataset) -> None:
    """Outside a counted request nothing is recorded, so a timer tick cannot inflate a count."""
    portal = statements.client.portal
    assert portal is not None
    log: list[str] = []

    async def query_outside_a_request() -> None:
        await connections.get("default").execute_query_dict("SELECT 1")

    statements.armed.log = log
    try:
        portal.call(query_outside_a_request)
    finally:
        statements.armed.log = None
    assert log == []
    _, counted = statements.get(small.tenant, "/api/station")
    assert counted
