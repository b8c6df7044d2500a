"""The ordered feed of issue changes behind resumable subscriptions (SPEC section 11)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from models.issues import Issue, IssueChange
from models.roles import Role
from models.tenancy import Account
from models.timefmt import utc_now
from resolvers.common.actor import Actor
from resolvers.common.read_cache import cached
from resolvers.common.scope import plant_for, stations_by_codes
from resolvers.issues.views import View, issue_views, issues_query_relations, snapshots

# A feed read returns at most this many changes; a subscriber far behind reads again from the last one.
PAGE = 500
# A feed page shows issues with their stations, causes and SKUs: any of these changes drops it.
FEED_DEPENDS = frozenset({"issue", "cause", "station", "sku", "plant"})


async def current_revision(*, actor: Actor) -> int:
    actor.require(Role.READ_ONLY)
    [value] = await Account.filter(id=actor.account_id).values_list("revision", flat=True)
    return int(value)  # type: ignore[call-overload]


async def feed_scope(
    *, actor: Actor, station_codes: Sequence[str] = (), plant_code: str | None = None
) -> tuple[list[int] | None, int | None]:
    """(station ids, plant id) to filter on; unknown codes → 404 before anything is sent."""
    actor.require(Role.READ_ONLY)
    stations = await stations_by_codes(actor.account_id, station_codes) if station_codes else []
    plant_id = (await plant_for(actor.account_id, plant_code, stations)).id if plant_code else None
    return ([s.id for s in stations] if stations else None), plant_id


async def issue_changes_since(
    *,
    actor: Actor,
    since: int,
    station_ids: list[int] | None = None,
    plant_id: int | None = None,
    now: datetime | None = None,
) -> list[View]:
    """Issue views for every change after revision `since`, oldest first, each carrying that change's
    `revision` (an issue changed twice appears twice, in its current state)."""
    actor.require(Role.READ_ONLY)
    # Every subscriber of an account waits at the same revision: one read serves them all.
    key = ("feed", since, tuple(station_ids or ()), plant_id)
    return await cached(
        actor.account_id, key, FEED_DEPENDS, lambda: _read(actor, since, station_ids, plant_id, now)
    )  # type: ignore[no-any-return]


async def _read(
    actor: Actor, since: int, station_ids: list[int] | None, plant_id: int | None, now: datetime | None
) -> list[View]:
    query = IssueChange.filter(account_id=actor.account_id, revision__gt=since)
    if station_ids is not None:
        query = query.filter(issue__station_id__in=station_ids)
    if plant_id is not None:
        query = query.filter(issue__station__plant_id=plant_id)
    changes = await query.order_by("revision").limit(PAGE).values("revision", "issue_id")
    if not changes:
        return []
    ids = list({c["issue_id"] for c in changes})
    rows = await Issue.filter(account_id=actor.account_id, id__in=ids).select_related(
        *issues_query_relations()
    )
    views = {v["id"]: v for v in issue_views(await snapshots(actor.account_id, rows), now or utc_now())}
    return [{**views[c["issue_id"]], "revision": c["revision"]} for c in changes if c["issue_id"] in views]
