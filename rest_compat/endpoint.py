"""One declaration per /api path: auth, role-free parsing, envelope. The OpenAPI document is built from these."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from resolvers.common.actor import Actor
from resolvers.common.errors import DomainError, ErrorCode
from resolvers.common.outage import database_answer
from resolvers.common.validation import validation_error
from rest_compat import responses
from rest_compat.auth import actor_for
from rest_compat.params import read_query
from rest_compat.request_body import read_body

log = logging.getLogger(__name__)

Auth = Literal["none", "credential", "system"]
Envelope = Literal["results", "result", "ok", "empty", "raw"]


@dataclass(slots=True)
class Call:
    """What a handler gets: the caller, the validated body and query, the path parameters."""

    request: Request
    actor: Actor
    body: Any = None
    query: Any = None

    def path(self, name: str) -> str:
        return str(self.request.path_params[name])

    def path_int(self, name: str) -> int:
        raw = self.request.path_params[name]
        try:
            value = int(raw)
        except ValueError:
            raise DomainError(ErrorCode.NOT_FOUND, f"{name} {raw!r} not found") from None
        if not 0 < value < 2**63:
            raise DomainError(ErrorCode.NOT_FOUND, f"{name} {raw!r} not found")
        return value


Handler = Callable[[Call], Awaitable[Any]]


@dataclass(slots=True)
class Endpoint:
    method: str
    path: str
    summary: str
    tag: str
    handler: Handler
    auth: Auth = "credential"
    envelope: Envelope = "results"
    body: type[BaseModel] | TypeAdapter[Any] | None = None
    # A body the handler reads itself (its shape is more than one model can say): documented only.
    documented_body: TypeAdapter[Any] | None = None
    query: type[BaseModel] | None = None
    produces: str = "application/json"
    description: str = ""
    extra_responses: dict[int, str] = field(default_factory=dict)


ENDPOINTS: list[Endpoint] = []


def endpoint(
    method: str, path: str, summary: str, *, tag: str, **options: Any
) -> Callable[[Handler], Handler]:
    """Register a handler for `method path`; see Endpoint for the options."""

    def register(handler: Handler) -> Handler:
        ENDPOINTS.append(Endpoint(method, path, summary, tag, handler, **options))
        return handler

    return register


async def _parse(ep: Endpoint, request: Request, call: Call) -> None:
    if ep.query is not None:
        try:
            call.query = read_query(ep.query, request)
        except ValidationError as exc:
            raise validation_error(exc, "query parameter") from None
    if ep.body is not None:
        raw = await read_body(request, request.app.state.settings.max_body_bytes)
        try:
            if isinstance(ep.body, TypeAdapter):
                call.body = ep.body.validate_json(raw)
            else:
                call.body = ep.body.model_validate_json(raw)
        except ValidationError as exc:
            raise validation_error(exc, "body") from None


def _wrap(ep: Endpoint, value: Any) -> Response:
    if ep.envelope == "results":
        return responses.results(value)
    if ep.envelope == "result":
        return responses.result(value)
    if ep.envelope == "ok":
        return responses.ok()
    if ep.envelope == "empty":
        return responses.no_content()
    assert isinstance(value, Response)
    return value


# Paths that tablets, screens and dashboards poll: Starlette tries routes in order, so these go first.
POLLED_FIRST = ("/api/issue/ongoing", "/api/station", "/api/issue", "/api/health")


def api_routes() -> list[Route]:
    """One Starlette route per path (fewer patterns to try per request), dispatching on the method."""
    by_path: dict[str, dict[str, Callable[[Request], Awaitable[Response]]]] = {}
    for ep in ENDPOINTS:
        by_path.setdefault(ep.path, {})[ep.method] = asgi_handler(ep)
    # Each path is matched by its own pattern and method set, so the order changes speed, not meaning.
    order = sorted(by_path, key=lambda p: POLLED_FIRST.index(p) if p in POLLED_FIRST else len(POLLED_FIRST))
    return [Route(path, _dispatch(by_path[path]), methods=list(by_path[path])) for path in order]


def _dispatch(
    handlers: dict[str, Callable[[Request], Awaitable[Response]]],
) -> Callable[[Request], Awaitable[Response]]:
    get = handlers.get("GET")

    async def dispatch(request: Request) -> Response:
        # Starlette answers HEAD on GET routes; everything else reached here is a declared method.
        method = request.method
        return await (get if method == "HEAD" and get else handlers[method])(request)

    return dispatch


def asgi_handler(ep: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint for one declaration."""

    async def run(request: Request) -> Response:
        try:
            actor = await actor_for(request, ep.auth)
            call = Call(request=request, actor=actor)
            await _parse(ep, request, call)
            return _wrap(ep, await ep.handler(call))
        except DomainError as exc:
            return responses.error(exc)
        except Exception as exc:
            # The database away (restarting, failing over) is the service's state, not a bug: 503 with
            # Retry-After, logged without a traceback. Anything else goes to the app's 500 handler.
            answer = database_answer(exc)
            if answer is None:
                raise
            log.warning("%s %s: %s (%s)", request.method, request.url.path, answer.message, exc)
            return responses.error(answer)

    run.__name__ = ep.handler.__name__
    return run
