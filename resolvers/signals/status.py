"""Live station status as the detection lease holder last computed it (running, stopped, idle, offline)."""

from __future__ import annotations

from collections.abc import Sequence

from models.roles import Role
from models.signals import StationState
from models.tenancy import Station
from models.timefmt import iso_ms
from resolvers.common.actor import Actor

# A station that never sent a signal has no state row: it is offline.
NEVER_SEEN = "offline"


async def station_statuses(
    *, actor: Actor, station_codes: Sequence[str] = ()
) -> dict[str, dict[str, str | None]]:
    """Per station code (all of the account's stations when none are given): `status` and `at`."""
    actor.require(Role.READ_ONLY)
    stations = Station.filter(account_id=actor.account_id, archived_at__isnull=True)
    if station_codes:
        stations = stations.filter(code__in=list(station_codes))
    codes = dict(await stations.values_list("id", "code"))
    rows = await StationState.filter(station_id__in=list(codes)).values_list(
        "station_id", "status", "status_at"
    )
    out: dict[str, dict[str, str | None]] = {
        str(code): {"status": NEVER_SEEN, "at": None} for code in codes.values()
    }
    for station_id, status, at in rows:
        out[str(codes[station_id])] = {"status": str(status), "at": iso_ms(at)}  # type: ignore[arg-type]
    return out
