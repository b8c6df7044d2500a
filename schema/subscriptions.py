"""Subscriptions (graphql-transport-ws): issue changes, resumable by revision; the ongoing board; station status."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from resolvers.catalog import stations
from resolvers.common.errors import invalid
from resolvers.issues import feed as issue_feed
from resolvers.issues import listing
from resolvers.signals.status import station_statuses
from schema import types
from schema.context import Context
from schema.scalars import Long


@strawberry.type
class StationStatus:
    stationCode: str
    status: str
    at: str


def _context(info: Info) -> Context:
    return info.context  # type: ignore[no-any-return]


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Every create, event and end of matching issues, each with its revision. With `since`, "
        "first every change after that revision, then live ones: a client that reconnects misses nothing."
    )
    async def issue_changed(
        self,
        info: Info,
        station_codes: list[str] | None = None,
        plant_code: str | None = None,
        since: Long | None = None,
    ) -> AsyncGenerator[types.Issue, None]:
        ctx = _context(info)
        actor = ctx.caller()
        station_ids, plant_id = await issue_feed.feed_scope(
            actor=actor, station_codes=station_codes or (), plant_code=plant_code
        )
        # Listen before reading, so nothing committed between the read and the first wait is lost.
        listener = ctx.listen()
        try:
            last = int(since) if since is not None else await issue_feed.current_revision(actor=actor)
            ctx.last_revision = last
            ctx.mark_live()
            while True:
                page = issue_feed.PAGE
                while page == issue_feed.PAGE:  # a full page may have more behind it
                    views = await issue_feed.issue_changes_since(
                        actor=ctx.caller(), since=last, station_ids=station_ids, plant_id=plant_id
                    )
                    page = len(views)
                    for view in views:
                        last = ctx.last_revision = view["revision"]
                        ctx.fresh_loaders()
                        yield types.Issue.from_view(view)
                if ctx.replay_only:  # a shared feed's member has caught up: the feed sends the rest
                    return
                await _next_issue_change(listener, last)
        finally:
            listener.close()

    @strawberry.subscription(
        description="The full list of ongoing issues on subscribe and after every change."
    )
    async def ongoing_issues(
        self, info: Info, station_codes: list[str] | None = None, plant_code: str | None = None
    ) -> AsyncGenerator[list[types.Issue], None]:
        ctx = _context(info)
        codes = await _board_stations(ctx, station_codes or [], plant_code)
        listener = ctx.listen()
        try:
            sent: tuple[tuple[int, int], ...] | None = None
            while True:
                views = await listing.list_ongoing_issues(actor=ctx.caller(), station_codes=codes)
                state = tuple((v["id"], v["revision"]) for v in views)
                if state != sent:
                    sent = state
                    ctx.fresh_loaders()
                    yield [types.Issue.from_view(v) for v in views]
                await _next_issue_change(listener, None)
        finally:
            listener.close()

    @strawberry.subscription(
        description="Live station status (running, stopped, idle, offline): the current status of every "
        "matching station on subscribe, then each change."
    )
    async def station_status_changed(
        self, info: Info, plant_code: str | None = None, station_codes: list[str] | None = None
    ) -> AsyncGenerator[StationStatus, None]:
        from realtime.hub import RESYNC

        ctx = _context(info)
        codes = await _board_stations(ctx, station_codes or [], plant_code)
        listener = ctx.listen()
        try:
            sent: dict[str, tuple[str, str | None]] = {}
            wanted: list[str] = codes
            while True:
                current = await station_statuses(actor=ctx.caller(), station_codes=wanted)
                for code, row in sorted(current.items()):
                    value = (str(row["status"]), row["at"])
                    if sent.get(code) != value:
                        sent[code] = value
                        yield StationStatus(stationCode=code, status=value[0], at=value[1] or "")
                change = await listener.next()
                while not (
                    change is RESYNC
                    or (change.kind == "station_status" and _matches(change.entity_id, codes))
                ):
                    change = await listener.next()
                wanted = codes if change is RESYNC else [str(change.entity_id)]
        finally:
            listener.close()


def _matches(code: object, codes: list[str]) -> bool:
    return not codes or code in codes


async def _board_stations(ctx: Context, station_codes: list[str], plant_code: str | None) -> list[str]:
    """The stations a board shows: the codes given, narrowed to the plant's when `plantCode` is given too,
    or every station of the plant."""
    if plant_code is None:
        return station_codes
    views = await stations.list_stations(
        actor=ctx.caller(), plant_code=plant_code, station_codes=station_codes
    )
    if not views:
        raise invalid("stationCodes", f"no station of plant {plant_code!r} matches")
    return [v["code"] for v in views]


async def _next_issue_change(listener: object, last: int | None) -> None:
    """Wait for an issue change newer than `last` (or a resync after a bus gap)."""
    from realtime.hub import RESYNC, Listener

    assert isinstance(listener, Listener)
    while True:
        change = await listener.next()
        if change is RESYNC:
            return
        if change.kind == "issue" and (last is None or change.revision is None or change.revision > last):
            return
