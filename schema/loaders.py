"""Per-request DataLoaders: every related object of a result is fetched in one batch, whatever its size."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from strawberry.dataloader import DataLoader
from strawberry.types import Info

from resolvers.catalog import causes, plants, skus_and_reasons, stations
from resolvers.catalog.cause_tree import cause_tree
from resolvers.common.actor import Actor
from resolvers.issues import listing
from schema import types
from schema.context import Context


def _ctx(info: Info) -> Context:
    return info.context  # type: ignore[no-any-return]


def _keyed(name: str, info: Info, fetch: Callable[[Actor, list[str]], Any]) -> DataLoader[str, Any]:
    ctx = _ctx(info)

    async def batch(keys: Sequence[str]) -> list[Any]:
        found = await fetch(ctx.caller(), list(keys))
        return [found.get(k) for k in keys]

    return ctx.loader(name, lambda: DataLoader(batch))


async def _stations(actor: Actor, codes: list[str]) -> dict[str, types.Station]:
    views = await stations.list_stations(actor=actor, station_codes=codes)
    return {v["code"]: types.Station.from_view(v) for v in views}


async def _skus(actor: Actor, codes: list[str]) -> dict[str, types.Sku]:
    return {
        v["code"]: types.Sku.from_view(v)
        for v in await skus_and_reasons.list_skus(actor=actor)
        if v["code"] in codes
    }


async def _groups(actor: Actor, codes: list[str]) -> dict[str, types.StationGroup]:
    views = await plants.list_station_groups(actor=actor)
    return {v["code"]: types.StationGroup.from_view(v) for v in views if v["code"] in codes}


async def _ongoing(actor: Actor, codes: list[str]) -> dict[str, list[types.Issue]]:
    grouped: dict[str, list[types.Issue]] = defaultdict(list)
    for view in await listing.list_ongoing_issues(actor=actor, station_codes=codes):
        grouped[view["stationCode"]].append(types.Issue.from_view(view))
    return grouped


async def station_by_code(info: Info, code: str) -> types.Station | None:
    return await _keyed("station", info, _stations).load(code)  # type: ignore[no-any-return]


async def sku_by_code(info: Info, code: str) -> types.Sku | None:
    return await _keyed("sku", info, _skus).load(code)  # type: ignore[no-any-return]


async def group_by_code(info: Info, code: str) -> types.StationGroup | None:
    return await _keyed("group", info, _groups).load(code)  # type: ignore[no-any-return]


async def cause_by_code(info: Info, code: str) -> types.Cause | None:
    return (await _cause_index(info)).get(code)


async def ongoing_by_station(info: Info, code: str) -> list[types.Issue]:
    _ctx(info).cacheable = False  # issue durations change with the clock
    return await _keyed("ongoing", info, _ongoing).load(code) or []  # type: ignore[no-any-return]


async def cause_children(info: Info, code: str) -> list[types.Cause]:
    index = await _cause_index(info)
    return sorted((c for c in index.values() if c.parentCauseCode == code), key=lambda c: c.code)


async def cause_breadcrumb(info: Info, code: str) -> list[types.CauseCrumb]:
    # The same root → cause chain the issue views carry (resolvers.catalog.cause_tree).
    tree = await cause_tree(_ctx(info).caller().account_id)
    node = tree.by_code.get(code)
    return [types.CauseCrumb(**crumb) for crumb in tree.breadcrumb(node.id if node else None)]  # type: ignore[arg-type]


async def _cause_index(info: Info) -> dict[str, types.Cause]:
    """Every cause of the account by code, read once per request."""
    ctx = _ctx(info)

    async def load(_: Sequence[str]) -> list[dict[str, types.Cause]]:
        views = await causes.list_causes(actor=ctx.caller())
        return [{v["code"]: types.Cause.from_view(v) for v in views}]

    return await ctx.loader("causes", lambda: DataLoader(load)).load("all")  # type: ignore[no-any-return]
