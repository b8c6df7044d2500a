"""Telling a database out of reach (down, restarting, a connection cut) from a bug, so the edges can
answer 503 and a client can try again instead of reading `internal_error`; and text the database
refuses to store (a NUL character, which Postgres text cannot hold) from a bug, so they answer 400."""

from __future__ import annotations

import asyncpg
from tortoise.exceptions import DBConnectionError

from resolvers.common.errors import DomainError, ErrorCode

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


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and the exceptions it was raised from or during (each once)."""
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in found):
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


def _out_of_reach(exc: BaseException) -> bool:
    if isinstance(exc, _OUT_OF_REACH):
        return True
    # asyncpg reports a pooled connection the server closed as a plain InterfaceError.
    if isinstance(exc, asyncpg.exceptions.InterfaceError) and "connection is closed" in str(exc):
        return True
    # A server shutting down sends its FATAL before it closes the socket; a query sent on that
    # connection in between finds the protocol still consuming the error.
    return isinstance(exc, asyncpg.exceptions.InternalClientError) and "another operation" in str(exc)


def database_unreachable(exc: BaseException) -> bool:
    """Whether `exc`, or an exception it was raised from, says the database cannot be reached."""
    return any(_out_of_reach(e) for e in _chain(exc))


def database_answer(exc: BaseException) -> DomainError | None:
    """The domain error an edge answers for a database failure that is no bug (None: it is one)."""
    if database_unreachable(exc):
        return unavailable()
    if any(isinstance(e, asyncpg.exceptions.CharacterNotInRepertoireError) for e in _chain(exc)):
        # Bodies refuse NUL by field (resolvers.common.bodies); this catches any other way in (a query argument).
        return DomainError(
            ErrorCode.VALIDATION, "a text value holds a character that cannot be stored (NUL, \\u0000)"
        )
    return None


def unavailable() -> DomainError:
    return DomainError(
        ErrorCode.UNAVAILABLE, "the database is unreachable; try again shortly", retry_after=RETRY_SECONDS
    )
