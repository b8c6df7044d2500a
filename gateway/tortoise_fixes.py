"""A fix for Tortoise ORM 1.1 that the gateway applies when it loads: a pooled transaction whose BEGIN
fails (the database restarting or shutting down, a connection cut) kept its connection out of the pool
and left the task's connection context pointing at the dead transaction. Every database blip leaked a
pool connection, so the pool ran dry after a few, and closing the pool at shutdown waited 10 s for the
leaked ones. Here a failed BEGIN gives the connection back and resets the context before it raises."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import tortoise
from tortoise.backends.base.client import TransactionContextPooled
from tortoise.connection import get_connections

log = logging.getLogger(__name__)


async def _enter(self: TransactionContextPooled) -> Any:
    # Tortoise 1.1.9's __aenter__, with the BEGIN guarded.
    await self.ensure_connection()
    pool = self.client._parent._pool
    self.client._connection = await pool.acquire()
    self.token = get_connections().set(self.connection_name, self.client)
    try:
        await self.client.begin()
    except BaseException:
        get_connections().reset(self.token)
        # A connection broken mid-operation may refuse a clean release; the pool then replaces it.
        with contextlib.suppress(Exception):
            await pool.release(self.client._connection)
        raise
    return self.client


def apply() -> None:
    """Install the fix on the Tortoise version it was written for; log if that is not the one running
    (the fix must then be checked against the new release, tests/test_faults.py shows how)."""
    if not tortoise.__version__.startswith("1.1."):
        log.warning(
            "tortoise %s: the BEGIN-failure fix was written for 1.1; not applied", tortoise.__version__
        )
        return
    TransactionContextPooled.__aenter__ = _enter  # type: ignore[method-assign]  # the fix replaces the method
