"""Reading the credential headers of a request (SPEC section 2)."""

from __future__ import annotations

from typing import Literal

from starlette.requests import Request

from models.roles import Role
from resolvers.actor import SYSTEM_ACCOUNT, Actor
from resolvers.authentication import Authenticator

ANONYMOUS = Actor(account_id=SYSTEM_ACCOUNT, role=Role.READ_ONLY, via="system")


def presented_api_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def client_address(request: Request) -> str:
    # uvicorn has already applied X-Forwarded-For from trusted proxies (ANDON_FORWARDED_ALLOW_IPS).
    return request.client.host if request.client else "unknown"


async def actor_for(request: Request, mode: Literal["none", "credential", "system"]) -> Actor:
    """The authenticated caller; `system` paths also accept the system key."""
    if mode == "none":
        return ANONYMOUS
    authenticator: Authenticator = request.app.state.authenticator
    return await authenticator.authenticate(
        api_key=presented_api_key(request),
        access_code=request.headers.get("x-access-code"),
        address=client_address(request),
        allow_system=mode == "system",
    )
