"""/api/notification-preference (Admin seed page)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, TypeAdapter

from resolvers.common.bodies import PreferenceIn
from resolvers.mail import preferences
from rest_compat.endpoint import Call, endpoint

PREFERENCE_LIST = TypeAdapter(Annotated[list[PreferenceIn], Field(max_length=500)])


@endpoint(
    "GET", "/api/notification-preference", "The caller's email choices for every station group", tag="Admin"
)
async def get_preferences(call: Call) -> object:
    return await preferences.list_preferences(actor=call.actor)


@endpoint(
    "POST",
    "/api/notification-preference",
    "Set the caller's email choices per station group",
    tag="Admin",
    body=PREFERENCE_LIST,
)
async def post_preferences(call: Call) -> object:
    return await preferences.set_preferences(actor=call.actor, items=call.body)
