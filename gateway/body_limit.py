"""The request body limit (ANDON_MAX_BODY_BYTES) for an ASGI app that reads its body itself: /graphql.

/api reads bodies through rest_compat.request_body; Strawberry reads whatever it is given, so a 30 MB
POST was parsed whole, without a credential. The same limit, the same 413 envelope, before parsing.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _too_large(limit: int) -> HTTPException:
    # Answered by the app's HTTPException handler: the error envelope, code payload_too_large.
    return HTTPException(413, f"the body is larger than the limit of {limit} bytes")


class BodyLimit:
    """`app` with HTTP request bodies over `limit` bytes refused: by Content-Length before anything is
    read, and counted as they stream (a chunked body declares none). A class, not a function: Starlette's
    Route takes a function for a request-to-response endpoint, an object for an ASGI app."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            raise _too_large(self.limit)
        size = 0

        async def counted() -> Message:
            nonlocal size
            message = await receive()
            size += len(message.get("body", b""))
            if size > self.limit:
                raise _too_large(self.limit)
            return message

        await self.app(scope, counted, send)
