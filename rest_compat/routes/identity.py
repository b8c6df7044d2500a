"""/api/user and /api/apikey."""

from __future__ import annotations

from resolvers.common.bodies import ApiKeyIn, UserIn
from resolvers.identity import api_keys, users
from rest_compat.endpoint import Call, endpoint


@endpoint("GET", "/api/user", "List users", tag="User")
async def get_users(call: Call) -> object:
    return await users.list_users(actor=call.actor)


@endpoint(
    "POST",
    "/api/user",
    "Create a user, or change the role of the user with that email",
    tag="User",
    body=UserIn,
    envelope="result",
)
async def post_user(call: Call) -> object:
    return await users.upsert_user(actor=call.actor, data=call.body)


@endpoint("DELETE", "/api/user/{id}", "Delete a user and their API keys", tag="User", envelope="empty")
async def delete_user(call: Call) -> object:
    await users.delete_user(actor=call.actor, user_id=call.path_int("id"))
    return None


@endpoint(
    "GET", "/api/apikey", "List API keys (metadata only; admins see all, others their own)", tag="ApiKey"
)
async def get_api_keys(call: Call) -> object:
    return await api_keys.list_api_keys(actor=call.actor)


@endpoint(
    "POST",
    "/api/apikey",
    "Create an API key; the secret is in `apiKey`, shown only in this answer",
    tag="ApiKey",
    body=ApiKeyIn,
    envelope="result",
)
async def post_api_key(call: Call) -> object:
    return await api_keys.create_api_key(actor=call.actor, data=call.body)


@endpoint("DELETE", "/api/apikey/{id}", "Revoke an API key at once", tag="ApiKey", envelope="empty")
async def delete_api_key(call: Call) -> object:
    await api_keys.delete_api_key(actor=call.actor, key_id=call.path_int("id"))
    return None
