"""Query-count guards for the list paths: as many SQL statements for 30 issues as for 1 (no N+1).

Every list is read cold: before the counted request, a change of every kind is published for the
account, so the read cache, the cause tree and the credential cache all reload from the database.
Only statements run on behalf of the counted request are counted: the escalation timer and any other
background task share the connection but not the request's context.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send
from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from resolvers.changes import Change, ChangeKind, publish
from tests.conftest import Tenant, new_tenant

# Every way a Tortoise client sends SQL (tortoise/backends/base/client.py).
STATEMENT_METHODS = (
    "execute_insert",
    "execute_query",
    "execute_query_dict",
    "execute_many",
    "execute_script",
)
NO_AUTO_ESCALATION = {
    "ESCALATE_UNACKNOWLEDGED_AFTER_MINUTES": 0,
    "ESCALATE_UNESTIMATED_AFTER_MINUTES": 0,
    "ESCALATE_ON_ESTIMATE_EXPIRY": False,
}
LARGE = 30
# GET /api/issue, cold: credential, stations (when filtered), plant, issues JOIN station/plant/sku,
# cause tree, events.
MAX_ISSUE_LIST_STATEMENTS = 6

# The statements of the request being counted; None outside it (background tasks, other requests).
_recording: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("recording", default=None)
# Set while a counted method runs, so one that calls another is one statement, not two.
_inside: contextvars.ContextVar[bool] = contextvars.ContextVar("inside", default=False)


def _counting(method: Callable[..., Awaitable[Any]], name: str) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def wrapper(self: BaseDBAsyncClient, *args: Any, **kwargs: Any) -> Any:
        log = _recording.get()
        if log is None or _inside.get():
            return await method(self, *args, **kwargs)
        sql = str(args[0] if args else kwargs.get("query", ""))
        log.append(f"{name}: {' '.join(sql.split())[:160]}")
        token = _inside.set(True)
        try:
            return await method(self, *args, **kwargs)
        finally:
            _inside.reset(token)

    return wrapper


@dataclass
class Armed:
    """The list the next HTTP request records into; the test thread arms it, the app's thread takes it."""

    log: list[str] | None = None


@dataclass
class StatementCounter:
    client: TestClient
    armed: Armed

    def cold(self, tenant: Tenant) -> None:
        """Drop everything the gateway caches for the account (and every cached credential)."""
        portal = self.client.portal
        assert portal is not None, "the client fixture runs the app in a portal"
        for kind in get_args(ChangeKind):
            portal.call(publish, Change(kind, tenant.account_id))

    def get(self, tenant: Tenant, path: str) -> tuple[Any, list[str]]:
        """A cold GET of `path`: its results and the statements it ran."""
        self.cold(tenant)
        log: list[str] = []
        self.armed.log = log
        try:
            response = tenant.get(path)
        finally:
            self.armed.log = None
        return tenant.ok(response), log


async def _default_connection() -> BaseDBAsyncClient:
    return connections.get("default")


@pytest.fixture
def statements(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[StatementCounter]:
    """Counts the SQL statements of requests made through `StatementCounter.get`.

    The app runs in the client's portal thread, so the counting wraps the methods of the connection
    class in use (seen from that thread), and a wrapper around the app's middleware stack marks the
    counted request's context, which the tasks it starts inherit.
    """
    portal = client.portal
    assert portal is not None
    connection_class = type(portal.call(_default_connection))
    for name in STATEMENT_METHODS:
        assert callable(getattr(connection_class, name, None)), f"{connection_class.__name__} has no {name}"
        monkeypatch.setattr(connection_class, name, _counting(getattr(connection_class, name), name))

    app = client.app
    assert isinstance(app, Starlette)
    stack = app.middleware_stack
    assert stack is not None, "the lifespan has run, so the middleware stack is built"
    armed = Armed()

    async def recording_stack(scope: Scope, receive: Receive, send: Send) -> None:
        log = armed.log if scope["type"] == "http" else None
        if log is None:
            await stack(scope, receive, send)
            return
        token = _recording.set(log)
        try:
            await stack(scope, receive, send)
        finally:
            _recording.reset(token)

    monkeypatch.setattr(app, "middleware_stack", recording_stack)
    yield StatementCounter(client, armed)


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
