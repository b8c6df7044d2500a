"""GET /metrics (Prometheus text exposition of resolvers.common.metrics.REGISTRY) and the request counter.

Metrics name no account but show the load and the state of the plant's feeds, so they are not public:
with ANDON_METRICS_TOKEN set a scraper sends `Authorization: Bearer <token>`; without it only loopback
clients (a scraper or agent on the same host) are answered. The client address is the one uvicorn
resolved, so behind a trusted proxy it is the proxy's X-Forwarded-For client, not the proxy.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from resolvers.common.metrics import HTTP_REQUESTS, REGISTRY

# The label of every request no route answered (and of the /api catch-all that answers 404 / 405):
# raw paths would let any client create series without bound.
UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})


def _loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:  # not an address (e.g. a unix socket peer name)
        return False


def metrics_route(token: str | None, collect: Callable[[], Awaitable[None]]) -> Route:
    """The /metrics route; `collect` refreshes the gauges read at scrape time (backlog, lag)."""
    expected = token.encode() if token else None

    async def metrics(request: Request) -> Response:
        if expected is not None:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
                return PlainTextResponse(
                    "a bearer token is required (ANDON_METRICS_TOKEN)\n",
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                )
        elif not _loopback(request.client.host if request.client else None):
            return PlainTextResponse(
                "metrics are served to loopback clients only unless ANDON_METRICS_TOKEN is set\n",
                status_code=403,
            )
        await collect()
        return Response(generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    return Route("/metrics", metrics, methods=["GET"])


class RequestMetrics:
    """Counts every HTTP request by route template, method and status (websockets are not requests).

    Pure ASGI (no BaseHTTPMiddleware): streaming bodies and the lifespan pass through untouched. The
    router writes the route it chose into the shared scope; a path no route matched counts as UNMATCHED.
    """

    def __init__(self, app: ASGIApp, *, unmatched: Callable[[object], bool] = lambda route: False) -> None:
        self.app = app
        self._unmatched = unmatched

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # an exception that escapes before the response starts is answered 500 outside

        async def counting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, counting)
        finally:
            HTTP_REQUESTS.labels(
                route=self._template(scope),
                method=scope["method"] if scope["method"] in _METHODS else "other",
                status=str(status),
            ).inc()

    def _template(self, scope: Scope) -> str:
        route = scope.get("route")
        path = getattr(route, "path", None)
        if route is None or not isinstance(path, str) or self._unmatched(route):
            return UNMATCHED
        return path
