"""Reading a request body within the configured size limit."""

from __future__ import annotations

from starlette.requests import Request

from resolvers.common.errors import DomainError, ErrorCode, invalid


def _too_large(limit: int) -> DomainError:
    return DomainError(ErrorCode.PAYLOAD_TOO_LARGE, f"the body is larger than the limit of {limit} bytes")


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body; 413 past `limit` bytes (checked as it streams, whatever Content-Length says)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise invalid(None, "a JSON body is required")
    return raw
