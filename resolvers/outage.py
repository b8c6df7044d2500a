"""Telling a database out of reach (down, restarting, a connection cut) from a bug, so the edges can
answer 503 and a client can try again instead of reading `internal_error`."""

from __future__ import annotations

import asyncpg
from tortoise.exceptions import DBConnectionError

from resolvers.errors import DomainError, ErrorCode

# Refused or reset sockets, the server shutting down or starting up (SQLSTATE classes 08 and 57), a
# connection the pool handed out that the server has since closed.
_OUT_OF_REACH: tuple[type[BaseException], ...] = (
    ConnectionError,
    DBConnectionError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
)
# Retry-After of the 503: the pool reconnects on the next request once the server answers.
RETRY_SECONDS = 1


def database_unreachable(exc: BaseException) -> bool:
    """Whether `exc`, or an exception it was raised from, says the database cannot be reached."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _OUT_OF_REACH):
            return True
        # asyncpg reports a pooled connection the server closed as a plain InterfaceError.
        if isinstance(current, asyncpg.exceptions.InterfaceError) and "connection is closed" in str(current):
            return True
        # A server shutting down sends its FATAL before it closes the socket; a query sent on that
        # connection in between finds the protocol still consuming the error.
        if isinstance(current, asyncpg.exceptions.InternalClientError) and "another operation" in str(
            current
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


def unavailable() -> DomainError:
    return DomainError(
        ErrorCode.UNAVAILABLE, "the database is unreachable; try again shortly", retry_after=RETRY_SECONDS
    )
