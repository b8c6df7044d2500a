"""The per-account read cache: hits, invalidation by kind and account, races, distrust while the bus is down."""

from __future__ import annotations

import asyncio

import pytest

from resolvers.common.changes import Change
from resolvers.common.read_cache import ReadCache

pytestmark = pytest.mark.backend_independent  # pure: no database

DEPENDS = frozenset({"station"})


def _loader(values: list[int]):  # type: ignore[no-untyped-def]
    async def load() -> int:
        values.append(len(values))
        return values[-1]

    return load


async def test_hit_until_a_change_of_a_kind_it_depends_on() -> None:
    cache, loads = ReadCache(ttl_seconds=60), []
    load = _loader(loads)
    assert [await cache.get("a", "k", DEPENDS, load) for _ in range(3)] == [0, 0, 0]
    await cache.on_change(Change("sku", "a"))  # unrelated kind
    await cache.on_change(Change("station", "b"))  # other account
    assert await cache.get("a", "k", DEPENDS, load) == 0
    await cache.on_change(Change("station", "a"))
    assert await cache.get("a", "k", DEPENDS, load) == 1


async def test_a_load_that_raced_a_change_is_not_stored() -> None:
    cache = ReadCache(ttl_seconds=60)
    started, release = asyncio.Event(), asyncio.Event()

    async def slow() -> str:
        started.set()
        await release.wait()
        return "stale"

    task = asyncio.create_task(cache.get("a", "k", DEPENDS, slow))
    await started.wait()
    await cache.on_change(Change("station", "a"))
    release.set()
    assert await task == "stale"

    async def fresh() -> str:
        return "fresh"

    assert await cache.get("a", "k", DEPENDS, fresh) == "fresh"


async def test_nothing_is_cached_while_untrusted() -> None:
    trusted = [False]
    cache, loads = ReadCache(ttl_seconds=60, trusted=lambda: trusted[0]), []
    load = _loader(loads)
    assert [await cache.get("a", "k", DEPENDS, load) for _ in range(2)] == [0, 1]
    trusted[0] = True
    assert [await cache.get("a", "k", DEPENDS, load) for _ in range(2)] == [2, 2]


async def test_each_name_has_its_own_budget_and_the_oldest_entry_goes_first() -> None:
    cache = ReadCache(ttl_seconds=60, max_keys=3)
    stations: list[int] = []
    assert await cache.get("a", ("stations", 1), DEPENDS, _loader(stations)) == 0
    # Many distinct GraphQL documents: they evict each other, never the station list.
    graphql_loads: dict[int, list[int]] = {n: [] for n in range(10)}
    for n in range(10):
        await cache.get("a", ("graphql", n), DEPENDS, _loader(graphql_loads[n]))
    assert await cache.get("a", ("stations", 1), DEPENDS, _loader(stations)) == 0
    assert stations == [0]
    # The newest three documents are still cached, the oldest were evicted one at a time.
    for n in (7, 8, 9):
        await cache.get("a", ("graphql", n), DEPENDS, _loader(graphql_loads[n]))
        assert graphql_loads[n] == [0]
    await cache.get("a", ("graphql", 0), DEPENDS, _loader(graphql_loads[0]))
    assert graphql_loads[0] == [0, 1]
