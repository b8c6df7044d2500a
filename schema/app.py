"""The GraphQL schema and its ASGI app: caches, limits, auth from the request, domain errors with codes."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import GraphQLError
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from resolvers.authentication import Authenticator
from resolvers.errors import DomainError
from schema.context import Context
from schema.errors import DomainErrors
from schema.mutations import CauseMutation, IssueMutation
from schema.preferences import PreferenceMutation, PreferenceQuery
from schema.queries import IssueQuery, TenancyQuery
from schema.scalars import SCALARS

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 5000


@strawberry.type
class Query(TenancyQuery, IssueQuery, PreferenceQuery):
    pass


@strawberry.type
class Mutation(IssueMutation, CauseMutation, PreferenceMutation):
    pass


class AndonSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Domain errors are answers, not faults: only unexpected ones are logged (by DomainErrors).
        return None


def build_schema() -> strawberry.Schema:
    return AndonSchema(
        query=Query,
        mutation=Mutation,
        config=StrawberryConfig(scalar_map=SCALARS),
        extensions=[
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
            # Introspection fields (__schema, __type…) are exempt: the limiter skips them by their real name.
            lambda: QueryDepthLimiter(max_depth=MAX_DEPTH),
            lambda: MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            DomainErrors,
        ],
    )


def _credentials(headers: Any) -> tuple[str | None, str | None]:
    key = headers.get("x-api-key")
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if not key and scheme.lower() == "bearer":
        key = token.strip() or None
    return key, headers.get("x-access-code")


class GatewayGraphQL(GraphQL[Context, None]):
    """Authenticates the HTTP request (or the websocket upgrade) once and builds a fresh context."""

    def __init__(self, schema: strawberry.Schema, **options: Any) -> None:
        super().__init__(schema, graphql_ide="graphiql", **options)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        authenticator: Authenticator = request.app.state.authenticator
        key, code = _credentials(request.headers)
        address = request.client.host if request.client else "unknown"
        try:
            actor = await authenticator.authenticate(api_key=key, access_code=code, address=address)
        except DomainError as exc:
            return Context(actor=None, auth_error=exc)
        return Context(actor=actor)
