"""Counts the GraphQL operations that run, by type and transport (resolvers/common/metrics.py)."""

from __future__ import annotations

from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from resolvers.common.metrics import GRAPHQL_OPERATIONS


class OperationCounter(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        # Reached only by operations that passed parsing, validation and the limits.
        context = self.execution_context
        # Websocket contexts, and the shared feeds' contexts serving them, carry the live-change hub.
        transport = "ws" if getattr(context.context, "hub", None) is not None else "http"
        GRAPHQL_OPERATIONS.labels(type=context.operation_type.value, transport=transport).inc()
        yield
