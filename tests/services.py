"""The real services `make test` starts (scripts/services.sh), and the rule for when one is missing."""

from __future__ import annotations

import os
import socket
import uuid
from typing import NoReturn
from urllib.parse import urlsplit

import pytest

BACKEND = os.environ.get("ANDON_TEST_BACKEND", "sqlite")
IN_CI = os.environ.get("CI", "").lower() == "true"


def service_url(variable: str) -> str:
    """The URL `make test` exported; missing → failure under CI=true, skip locally."""
    url = os.environ.get(variable)
    if url:
        return url
    missing(f"{variable} is not set: run the suite through `make test`, which starts the service")


def missing(message: str) -> NoReturn:
    """Something `make test` provides is absent: a failure under CI=true, a skip locally."""
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def create_pg_database() -> str:
    """A new empty Postgres database on the test server; its Tortoise URL."""
    import asyncpg

    base = service_url("ANDON_TEST_PG_DSN").rstrip("/")
    name = f"andon_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(base + "/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{base}/{name}"


async def drop_pg_database(url: str) -> None:
    import asyncpg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    conn = await asyncpg.connect(url.rsplit("/", 1)[0] + "/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
