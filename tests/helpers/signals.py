"""Stations and their signals for tests against the in-process gateway, and detection and window closing
driven at moments the test chooses instead of waiting for the live timers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from models.signals import Lease
from models.tenancy import Station
from models.timefmt import utc_now
from resolvers.common.leases import hold_lease, seeding_holder, seeding_lease
from resolvers.signals.detection import detect_issues
from resolvers.windows.closing import close_windows
from tests.conftest import Tenant

T = TypeVar("T")

STATIONS = "query { stations { code status } }"


def parse_instant(text: str) -> datetime:
    """An instant in the wire form (`...Z`) as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def add_station(tenant: Tenant, code: str = "S1", **extra: Any) -> None:
    body = {"code": code, "name": code, "plantCode": tenant.plant_code, **extra}
    tenant.ok(tenant.post("/api/station", body))


def send_signal(tenant: Tenant, code: str = "S1", **values: Any) -> None:
    """One signal over POST /api/signal: applied before the request answers."""
    tenant.ok(tenant.post("/api/signal", {"stationCode": code, **values}))


def ongoing(tenant: Tenant, code: str = "S1") -> list[dict[str, Any]]:
    return tenant.ok(tenant.get(f"/api/issue/ongoing?stationcodes={code}"))  # type: ignore[no-any-return]


def issues(tenant: Tenant, code: str = "S1") -> list[dict[str, Any]]:
    return tenant.ok(tenant.get(f"/api/issue?stationcodes={code}"))  # type: ignore[no-any-return]


def status(tenant: Tenant, code: str) -> str:
    """The station's live status as GraphQL reports it (written by the lease holder's timer)."""
    response = tenant.client.post("/graphql", json={"query": STATIONS}, headers=tenant.headers())
    return {s["code"]: s["status"] for s in response.json()["data"]["stations"]}[code]  # type: ignore[no-any-return]


def in_app(tenant: Tenant, function: Callable[[], Awaitable[T]]) -> T:
    """Run `function` in the app's event loop (the client's portal): the database connections and the
    gateway's state belong to that loop."""
    portal = tenant.client.portal
    assert portal is not None, "the client fixture runs the app in a portal"
    return portal.call(function)


def station_ids(tenant: Tenant, *codes: str) -> list[int]:
    async def read() -> list[int]:
        found = dict(
            await Station.filter(account_id=tenant.account_id, code__in=list(codes)).values_list("code", "id")
        )
        return [int(found[code]) for code in codes]

    return in_app(tenant, read)


@dataclass
class Timers:
    """Detection and window closing of one account's stations, run at chosen moments in the app's loop."""

    tenant: Tenant

    def detect(self, now: datetime, *codes: str) -> int:
        """One detection pass over the stations `codes` (default S1) judged at `now`: how many issues
        it opened."""
        ids = station_ids(self.tenant, *(codes or ("S1",)))
        return in_app(self.tenant, lambda: detect_issues(now=now, station_ids=ids))

    def close(self, now: datetime, *codes: str, grace: timedelta = timedelta(0)) -> int:
        """One window-closing pass over the stations `codes` (default S1) at `now`: how many minutes it
        closed."""
        ids = station_ids(self.tenant, *(codes or ("S1",)))
        return in_app(self.tenant, lambda: close_windows(now=now, grace=grace, station_ids=ids))


# Longer than any test holding it: the lease is deleted when the test is done with it.
HELD_OFF = timedelta(minutes=5)


@contextmanager
def live_timers_held_off(tenant: Tenant) -> Iterator[Timers]:
    """The account's stations left to the test: detection, window closing and escalation on the live
    timer skip an account that holds its seeding lease (as while a demo history is written), so what the
    test drives through Timers is all that runs. Take it before the account's first signal: a live
    pass that read the seeding leases earlier reads only stations that had state then."""
    lease = seeding_lease(tenant.account_id)

    async def hold() -> None:
        held = await hold_lease(
            name=lease, holder=seeding_holder(tenant.account_id), now=utc_now(), ttl=HELD_OFF
        )
        assert held, "the account's seeding lease is held already"

    async def release() -> None:
        await Lease.filter(name=lease).delete()

    in_app(tenant, hold)
    try:
        yield Timers(tenant)
    finally:
        in_app(tenant, release)


def seconds_ago(seconds: float) -> datetime:
    """A whole second `seconds` before now (UTC): a signal timestamp that round-trips exactly."""
    return (datetime.now(UTC) - timedelta(seconds=seconds)).replace(microsecond=0)
