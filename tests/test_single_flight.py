"""SingleFlight: one load for concurrent callers; failures and cancellation reach every caller correctly."""

from __future__ import annotations

import asyncio

import pytest

from resolvers.common.single_flight import SingleFlight

pytestmark = pytest.mark.backend_independent  # pure: no database


async def test_concurrent_callers_share_one_load() -> None:
    flight, calls = SingleFlight(), []

    async def load() -> int:
        calls.append(1)
        await asyncio.sleep(0.01)
        return 42

    assert await asyncio.gather(*(flight.run("k", load) for _ in range(10))) == [42] * 10
    assert len(calls) == 1
    assert await flight.run("k", load) == 42 and len(calls) == 2  # nothing is kept once done


async def test_a_failure_reaches_every_waiter() -> None:
    flight = SingleFlight()

    async def boom() -> int:
        await asyncio.sleep(0.01)
        raise ValueError("down")

    results = await asyncio.gather(*(flight.run("k", boom) for _ in range(3)), return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in results)


async def test_a_cancelled_leader_does_not_cancel_its_waiters() -> None:
    flight, started = SingleFlight(), asyncio.Event()

    async def slow() -> str:
        started.set()
        await asyncio.sleep(0.05)
        return "done"

    leader = asyncio.create_task(flight.run("k", slow))
    await started.wait()
    waiter = asyncio.create_task(flight.run("k", slow))
    await asyncio.sleep(0)
    leader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leader
    assert await waiter == "done"
