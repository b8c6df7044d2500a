"""Domain errors become GraphQL errors with a stable `extensions.code`; anything else is masked."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from resolvers.errors import DomainError, ErrorCode

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
    log.error("unhandled error in a GraphQL resolver", exc_info=original)
    return GraphQLError(
        "internal error; it has been logged",
        error.nodes,
        error.source,
        error.positions,
        error.path,
        extensions={"code": ErrorCode.INTERNAL.value},
    )


class DomainErrors(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is not None and result.errors:
            result.errors = [_converted(e) for e in result.errors]

    def on_stream_result(self, result: Any) -> Iterator[None]:
        """Each result a subscription sends gets the same treatment as a query's."""
        if getattr(result, "errors", None):
            result.errors = [_converted(e) for e in result.errors]
        yield None
