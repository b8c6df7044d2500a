"""Rules on the document as a whole that validation rules cannot state, because they depend on the
request (its operation name) rather than on the document alone."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError, OperationDefinitionNode
from strawberry.extensions import ParserCache, SchemaExtension

MANY_OPERATIONS = "Must provide operation name if query contains multiple operations."


class OneOperationNamed(SchemaExtension):
    """A document of several operations runs only the one the request names (the GraphQL spec's
    GetOperation); without a name it is refused, where Strawberry would run the first."""

    def on_validate(self) -> Iterator[None]:
        # Before the yield: Strawberry reads the errors inside the validation step, so an error added
        # after it would come too late. Placed after the validation cache, which sets them.
        context = self.execution_context
        document = context.graphql_document
        # `operation_name` falls back to the first operation's name: only the name the request gave counts
        # (Strawberry keeps it in a private field, read here alone).
        operations = (
            sum(isinstance(d, OperationDefinitionNode) for d in document.definitions) if document else 0
        )
        if operations > 1 and context._provided_operation_name is None:
            context.pre_execution_errors = [
                *(context.pre_execution_errors or []),
                GraphQLError(MANY_OPERATIONS),
            ]
        yield


class ReportingParserCache(ParserCache):
    """Strawberry's parser cache, except that a document that does not parse is left to Strawberry's
    own parse step: raised from the cache, the syntax error escaped the operation's extensions (no
    error code; over the websocket, a bare `complete` instead of an `error` message)."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        try:
            context.graphql_document = self.cached_parse_document(context.query, **context.parse_options)
        except GraphQLError:
            context.graphql_document = None  # parsed again by Strawberry, which reports the error
        yield
