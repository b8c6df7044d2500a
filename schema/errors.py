"""Domain errors become GraphQL errors with a stable `extensions.code`; anything else is masked.

Every error returned is counted by its code (`GRAPHQL_ERRORS`); only a fault of the server (a
resolver raising something that is not a domain error) is logged at ERROR.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from resolvers.common.errors import DomainError, ErrorCode
from resolvers.common.metrics import GRAPHQL_ERRORS
from resolvers.common.outage import database_answer

log = logging.getLogger(__name__)


def _converted(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if isinstance(original, DomainError):
        extensions = {"code": original.code.value}
        if original.field:
            extensions["field"] = original.field
        return GraphQLError(
            original.message, error.nodes, error.source, error.positions, error.path, extensions=extensions
        )
    if error.extensions and "code" in error.extensions:
        return error  # typed where it was raised (schema/limits.py)
    if (
        error.path is None
        and error.nodes
        and isinstance(original, (GraphQLError, ValueError, TypeError, ArithmeticError))
    ):
        # Outside any field, at a variable or literal of the document: it did not coerce (a scalar
        # refused it). An exception from an extension has no node and stays a fault.
        return GraphQLError(
            error.message, error.nodes, error.source, error.positions, extensions={"code": "BAD_USER_INPUT"}
        )
    if original is None:
        # Parse and validation errors: the client's document is wrong.
        return GraphQLError(
            error.message,
            error.nodes,
            error.source,
            error.positions,
            error.path,
            extensions={"code": "GRAPHQL_VALIDATION_FAILED", **(error.extensions or {})},
        )
    answer = database_answer(original)
    if answer is not None:
        # Not a bug: the database is out of reach (REST: 503) or refused a text value (REST: 400).
        log.warning("GraphQL field %s: %s (%s)", error.path, answer.message, original)
        return _converted(
            GraphQLError(
                error.message, error.nodes, error.source, error.positions, error.path, original_error=answer
            )
        )
    log.error("unhandled error in a GraphQL resolver", exc_info=original)
    return GraphQLError(
        "internal error; it has been logged",
        error.nodes,
        error.source,
        error.positions,
        error.path,
        extensions={"code": ErrorCode.INTERNAL.value},
    )


def converted(errors: list[GraphQLError]) -> list[GraphQLError]:
    """The errors as clients get them, each counted by its code."""
    answered = [_converted(e) for e in errors]
    for error in answered:
        GRAPHQL_ERRORS.labels(code=str((error.extensions or {}).get("code", "?"))).inc()
    return answered


class DomainErrors(SchemaExtension):
    streamed = False

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        # A streamed operation's results were each converted (and counted) as they were sent.
        if result is not None and result.errors and not self.streamed:
            result.errors = converted(result.errors)

    def on_stream_result(self, result: Any) -> Iterator[None]:
        """Each result a subscription sends gets the same treatment as a query's."""
        self.streamed = True
        if getattr(result, "errors", None):
            result.errors = converted(result.errors)
        yield None
