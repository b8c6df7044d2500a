"""JSON envelopes and error bodies (SPEC section 3)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from starlette.responses import Response

from resolvers.common.errors import DomainError, ErrorCode
from resolvers.common.read_cache import SharedList
from resolvers.issues.views import CLOCK_FIELDS, LiveIssues

STATUS: dict[ErrorCode, int] = {
    ErrorCode.VALIDATION: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.CONFLICT: 409,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.INTERNAL: 500,
    ErrorCode.NOT_IMPLEMENTED: 501,
    ErrorCode.UNAVAILABLE: 503,
}


class JSON(Response):
    """orjson-encoded JSON; non-ASCII kept as UTF-8."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def results(items: Sequence[Any], **extra: Any) -> Response:
    if isinstance(items, LiveIssues) and not extra:
        return Response(_encode_live(items), media_type=JSON.media_type)
    if isinstance(items, SharedList) and not extra:
        # A cached list is encoded once per cache fill, not once per request.
        body = items.memo.get("rest")
        if body is None:
            body = items.memo["rest"] = orjson.dumps({"isSuccess": True, "results": items})
        return Response(body, media_type=JSON.media_type)
    return JSON({"isSuccess": True, "results": items, **extra})


def _encode_live(items: LiveIssues) -> bytes:
    """Each issue's clock-independent JSON is encoded once per cache fill; only the clock fields per request."""
    parts = []
    for snap in items.snaps:
        head = snap.memo.get("rest")
        if head is None:
            static = {k: v for k, v in snap.static.items() if k not in CLOCK_FIELDS}
            head = snap.memo["rest"] = orjson.dumps(static)[:-1] + b","  # open object, ready for more keys
        parts.append(head + orjson.dumps(items.clock(snap))[1:])
    return b'{"isSuccess":true,"results":[' + b",".join(parts) + b"]}"


def result(item: Any) -> JSON:
    return JSON({"isSuccess": True, "result": item})


def ok() -> JSON:
    return JSON({"isSuccess": True})


def no_content() -> Response:
    return Response(status_code=204)


def error(exc: DomainError) -> JSON:
    body: dict[str, Any] = {"code": exc.code.value, "message": exc.message}
    if exc.field:
        body["field"] = exc.field
    body["details"] = [{"message": d.message, **({"field": d.field} if d.field else {})} for d in exc.details]
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    return JSON({"isSuccess": False, "error": body}, status_code=STATUS[exc.code], headers=headers)
