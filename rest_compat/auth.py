"""Reading the credential headers of a request (SPEC section 2)."""

from __future__ import annotations

from typing import Literal

from starlette.requests import HTTPConnection, Request

from models.roles import Role
from resolvers.common.actor import SYSTEM_ACCOUNT, Actor
from resolvers.identity.authentication import Authenticator

ANONYMOUS = Actor(account_id=SYSTEM_ACCOUNT, role=Role.READ_ONLY, via="system")


def presented_credentials(connection: HTTPConnection) -> tuple[str | None, str | None]:
    """(API key from X-API-KEY or `Authorization: Bearer`, access code from X-ACCESS-CODE).

    Shared by REST, GraphQL over HTTP and the websocket upgrade."""
    headers = connection.headers
    key = headers.get("x-api-key", "").strip()
    if not key:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        key = token.strip() if scheme.lower() == "bearer" else ""
    return key or None, headers.get("x-access-code") or None


def client_address(connection: HTTPConnection) -> str:
    # uvicorn has already applied X-Forwarded-For from trusted proxies (ANDON_FORWARDED_ALLOW_IPS).
    return connection.client.host if connection.client else "unknown"


async def actor_for(request: Request, mode: Literal["none", "credential", "system"]) -> Actor:
    """The authenticated caller; `system` paths also accept the system key."""
    if mode == "none":
        return ANONYMOUS
    authenticator: Authenticator = request.app.state.authenticator
    api_key, access_code = presented_credentials(request)
    return await authenticator.authenticate(
        api_key=api_key,
        access_code=access_code,
        address=client_address(request),
        allow_system=mode == "system",
    )
