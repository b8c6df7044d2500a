"""Notification preferences in GraphQL: the caller's own, on the same resolvers as REST."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from resolvers.common.bodies import PreferenceIn
from resolvers.common.validation import parse
from resolvers.mail import preferences as resolvers_preferences
from schema.queries import _actor, _live


@strawberry.type
class NotificationPreference:
    preference: list[str]
    stationGroupCode: str
    stationGroupName: str
    userId: int
    userEmail: str | None

    @classmethod
    def from_view(cls, view: dict[str, Any]) -> NotificationPreference:
        return cls(**view)


@strawberry.input
class PreferenceInput:
    station_group_code: str
    preference: list[str]


@strawberry.type
class PreferenceQuery:
    @strawberry.field(description="The caller's email choices for every station group (['none'] when unset).")
    async def notification_preferences(self, info: Info) -> list[NotificationPreference]:
        return [
            NotificationPreference.from_view(v)
            for v in await resolvers_preferences.list_preferences(actor=_live(info))
        ]


@strawberry.type
class PreferenceMutation:
    @strawberry.mutation(description="Set the caller's choices for the groups given; answers every group.")
    async def set_notification_preferences(
        self, info: Info, preferences: list[PreferenceInput]
    ) -> list[NotificationPreference]:
        items = [
            parse(
                PreferenceIn,
                {"stationGroupCode": p.station_group_code, "preference": p.preference},
                f"preferences.{i}",
            )
            for i, p in enumerate(preferences)
        ]
        views = await resolvers_preferences.set_preferences(actor=_actor(info), items=items)
        return [NotificationPreference.from_view(v) for v in views]
