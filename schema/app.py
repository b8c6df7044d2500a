"""The GraphQL schema and its ASGI app: caches, limits, auth from the request, domain errors with codes."""

from __future__ import annotations

import json
from typing import Any

import strawberry
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext
from strawberry.types.unset import UNSET, UnsetType

from resolvers.common.errors import DomainError
from resolvers.common.metrics import GRAPHQL_OPERATIONS
from resolvers.identity.authentication import Authenticator
from rest_compat.auth import client_address, presented_credentials
from schema.context import Context
from schema.counting import OperationCounter
from schema.documents import OneOperationNamed, ReportingParserCache
from schema.downtime import DowntimeQuery
from schema.errors import DomainErrors
from schema.limits import MAX_COST, OperationLimits
from schema.mutations import CauseMutation, IssueMutation
from schema.preferences import PreferenceMutation, PreferenceQuery
from schema.queries import IssueQuery, TenancyQuery
from schema.response_cache import cached_answer
from schema.scalars import SCALARS
from schema.shared_feeds import SharedFeeds
from schema.signals import SignalQuery
from schema.subscriptions import Subscription
from schema.transport import GatewayTransportWS

MAX_DEPTH = 10
MAX_ALIASES = 30
MAX_TOKENS = 5000


@strawberry.type
class Query(TenancyQuery, IssueQuery, PreferenceQuery, DowntimeQuery, SignalQuery):
    pass


@strawberry.type
class Mutation(IssueMutation, CauseMutation, PreferenceMutation):
    pass


MAX_SUBSCRIPTIONS_PER_CONNECTION = 20
# The limits' validation rules are built once: the validation cache is keyed by the rule classes, so
# rules created per request would make every request a cache miss. Introspection fields (__schema,
# __type…) are exempt from the depth bound: the limiter skips them by their real name.
LIMIT_RULES = [
    *QueryDepthLimiter(max_depth=MAX_DEPTH).validation_rules,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
]


class AndonSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Domain errors are answers, not faults: only unexpected ones are logged (by DomainErrors).
        return None


def build_schema(max_cost: int = MAX_COST) -> strawberry.Schema:
    """The schema; `max_cost` is the budget of one operation (docs/graphql.md, "Limits")."""
    return AndonSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(scalar_map=SCALARS),
        extensions=[
            lambda: ReportingParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
            lambda: AddValidationRules(LIMIT_RULES),
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            OneOperationNamed,
            lambda: OperationLimits(max_cost),
            OperationCounter,
            DomainErrors,
        ],
    )


class GatewayGraphQL(GraphQL[Context, None]):
    """Authenticates the HTTP request (or the websocket upgrade) once and builds a fresh context."""

    graphql_transport_ws_handler_class = GatewayTransportWS

    def __init__(self, schema: strawberry.Schema, **options: Any) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql",
            keep_alive=True,  # server pings keep idle sockets (and the proxies between) alive
            keep_alive_interval=20,
            max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION,
            **options,
        )
        self.feeds = SharedFeeds(schema)

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        """HTTP POST answers of read-only queries are served from the response cache when they can be."""
        if not isinstance(request, Request) or request.method != "POST":
            return await super().run(request, context, root_value)
        body = await request.body()  # Starlette keeps it: Strawberry reads the same bytes again
        context = Context(actor=None)
        await self._authenticate(context, request)
        if context.actor is None:
            return await super().run(request, context, root_value)

        executed = False

        async def execute() -> tuple[object, bool]:
            nonlocal executed
            executed = True
            response = await super(GatewayGraphQL, self).run(request, context, root_value)
            ok = response.status_code == 200 and b'"errors"' not in response.body
            return (response.status_code, bytes(response.body), response.media_type), ok and context.cacheable

        answer: tuple[int, bytes, str | None] = await cached_answer(context.actor, body, execute)  # type: ignore[assignment]
        if not executed:  # answered from the cache: only queries are kept
            GRAPHQL_OPERATIONS.labels(type="query", transport="http").inc()
        status, content, media_type = answer
        return Response(content, status_code=status, media_type=media_type)

    def decode_json(self, data: str | bytes) -> object:
        """JSON nested deeper than the decoder's recursion allows is malformed input like any other:
        HTTP 400 for a request body or query parameter, close 4400 for a websocket frame."""
        try:
            return json.loads(data)
        except RecursionError:
            raise json.JSONDecodeError("JSON nested too deeply", "", 0) from None

    def parse_json(self, data: str | bytes) -> Any:
        """A request (body, or a `variables` or `extensions` parameter) is a JSON object, or a list
        for a batch: Strawberry read any other JSON value as an object and failed with a 500."""
        parsed = super().parse_json(data)
        if not isinstance(parsed, (dict, list)):
            raise HTTPException(400, "A GraphQL request must be a JSON object")
        return parsed

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        key, code = presented_credentials(request)
        if isinstance(request, WebSocket):
            # A websocket may also authenticate in connection_init (on_ws_connect): no failure yet.
            context = Context(
                actor=None, websocket=request, hub=request.app.state.hub, credential=(key, code)
            )
            if key or code:
                await self._authenticate(context, request)
            return context
        context = Context(actor=None)
        await self._authenticate(context, request)
        return context

    async def _authenticate(self, context: Context, request: Request | WebSocket) -> None:
        authenticator: Authenticator = request.app.state.authenticator
        key, code = context.credential if isinstance(request, WebSocket) else presented_credentials(request)
        address = client_address(request)
        try:
            context.actor = await authenticator.authenticate(api_key=key, access_code=code, address=address)
            context.credential = (key, code)
        except DomainError as exc:
            context.actor, context.auth_error = None, exc

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """`apiKey` or `accessCode` in the connection_init payload, else the upgrade headers; else 4403."""
        params = context.connection_params or {}
        key, code = params.get("apiKey"), params.get("accessCode")
        if isinstance(key, str) or isinstance(code, str):
            context.credential = (
                key if isinstance(key, str) else None,
                code if isinstance(code, str) else None,
            )
            await self._authenticate(context, context.websocket)
        if context.actor is None:
            raise ConnectionRejectionError()
        context.websocket.app.state.sockets.add(context)
        return UNSET
