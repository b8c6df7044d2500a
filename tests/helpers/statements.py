"""Counting the SQL statements of one request (query-count guards: as many statements for many rows as for
one, no N+1).

Every request is read cold: before it, a change of every kind is published for the account, so the read
cache, the cause tree and the credential cache all reload from the database. Only statements run on
behalf of the counted request are counted: the timers and any other background task share the
connection but not the request's context.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, get_args

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send
from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from resolvers.common.changes import Change, ChangeKind, publish
from tests.conftest import Tenant
from tests.helpers.graphql import data_of, gql

# Every way a Tortoise client sends SQL (tortoise/backends/base/client.py).
STATEMENT_METHODS = (
    "execute_insert",
    "execute_query",
    "execute_query_dict",
    "execute_query_dict_with_affected",
    "execute_many",
    "execute_script",
)

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
        log.append(f"{name}: {' '.join(sql.split())[:200]}")
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

    def _counted(self, tenant: Tenant, request: Callable[[], Any]) -> tuple[Any, list[str]]:
        self.cold(tenant)
        log: list[str] = []
        self.armed.log = log
        try:
            return request(), log
        finally:
            self.armed.log = None

    def get(self, tenant: Tenant, path: str) -> tuple[Any, list[str]]:
        """A cold REST GET of `path`: its results and the statements it ran."""
        response, log = self._counted(tenant, lambda: tenant.get(path))
        return tenant.ok(response), log

    def graphql(self, tenant: Tenant, document: str) -> tuple[dict[str, Any], list[str]]:
        """A cold GraphQL request: its data and the statements it ran."""
        response, log = self._counted(tenant, lambda: gql(self.client, document, headers=tenant.headers()))
        return data_of(response), log


async def _default_connection() -> BaseDBAsyncClient:
    return connections.get("default")


@pytest.fixture
def statements(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> Iterator[StatementCounter]:
    """Counts the SQL statements of requests made through the counter.

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
