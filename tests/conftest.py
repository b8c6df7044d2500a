"""Shared fixtures: a migrated database of the run's backend, the app in-process, fresh accounts."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from gateway.app import create_app
from gateway.database import migrate
from gateway.settings import load_settings
from tests.services import BACKEND, create_pg_database, drop_pg_database
from tests.smtp_sink import SmtpSink

# Fixtures defined beside the helpers they serve.
pytest_plugins = ["tests.helpers.statements", "tests.helpers.mqtt"]

SYSTEM_KEY = "test-system-key-" + uuid.uuid4().hex


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each test runs where it says something. `backend_independent` tests say nothing about the
    database (pure rules, templates, CLI parsing, API shape): the SQLite run only. `postgres` tests run
    several instances on one database, which SQLite (one file, one process) is not for, or fuzz where
    Postgres's stricter types (no NUL in text, 32-bit integers) find more: the Postgres run only.
    Deselected, not skipped: a skip in the summary would read as a service that was missing."""
    other = "postgres" if BACKEND == "sqlite" else "backend_independent"
    kept = [item for item in items if not item.get_closest_marker(other)]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database of the run's backend (ANDON_TEST_BACKEND), migrated once for the session."""
    if BACKEND == "postgres":
        url = asyncio.run(create_pg_database())
    else:
        url = f"sqlite://{tmp_path_factory.mktemp('db') / 'andon.db'}"
    asyncio.run(migrate(url))
    yield url
    if BACKEND == "postgres":
        asyncio.run(drop_pg_database(url))


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    """The session's SMTP server: the in-process gateway sends its mail here."""
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def client(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, smtp_sink: SmtpSink
) -> Iterator[TestClient]:
    """The gateway in-process with its lifespan running; each test works in accounts of its own."""
    settings = load_settings(
        database_url=database_url,
        system_api_key=SYSTEM_KEY,
        outbox_dir=Path(tmp_path_factory.mktemp("outbox")),
        smtp_url=smtp_sink.url,
        # Short mail timers keep the notification tests fast (docs/notifications.md has the defaults).
        mail_poll_seconds=0.2,
        mail_retry_max_seconds=1.0,
        daily_summary_check_seconds=0.5,
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


_counter = itertools.count(1)


@dataclass
class Tenant:
    """A freshly created account and its admin key, with request helpers."""

    client: TestClient
    account_id: str
    plant_code: str
    api_key: str
    domain: str

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"X-API-KEY": key or self.api_key}

    def get(self, path: str, key: str | None = None, **kw: Any) -> httpx.Response:
        return self.client.get(path, headers=self.headers(key), **kw)

    def post(self, path: str, body: Any = None, key: str | None = None, **kw: Any) -> httpx.Response:
        return self.client.post(path, json=body, headers=self.headers(key), **kw)

    def delete(self, path: str, key: str | None = None) -> httpx.Response:
        return self.client.delete(path, headers=self.headers(key))

    def ok(self, response: httpx.Response) -> Any:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["isSuccess"] is True
        return body.get("result", body.get("results"))

    def key_for(self, role: str) -> str:
        """A new user of `role` (or a device key) and their API key."""
        user_role = "admin" if role == "device" else role
        user = self.ok(
            self.post("/api/user", {"email": f"{role}-{next(_counter)}@{self.domain}", "role": user_role})
        )
        body = {"userId": user["id"], "name": f"{role} key"}
        if role == "device":
            body["role"] = "device"
        return str(self.ok(self.post("/api/apikey", body))["apiKey"])


def new_tenant(client: TestClient, **extra: Any) -> Tenant:
    domain = f"t{next(_counter)}-{uuid.uuid4().hex[:8]}.example.com"
    response = client.post(
        "/api/admin/newaccount",
        json={"domain": domain, "plantName": "Main Plant", **extra},
        headers={"X-API-KEY": SYSTEM_KEY},
    )
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    return Tenant(client, result["accountId"], result["plantCode"], result["apiKey"], domain)


@pytest.fixture
def tenant(client: TestClient) -> Tenant:
    return new_tenant(client)


@pytest.fixture
def other_tenant(client: TestClient) -> Tenant:
    return new_tenant(client)
