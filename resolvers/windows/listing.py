"""The station-window listing: GET /api/station-window and GraphQL `stationWindows` share it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from models.roles import Role
from models.tenancy import Sku, Station
from models.timefmt import epoch_ms, iso_ms, utc_now
from models.windows import StationWindow
from resolvers.common.actor import Actor
from resolvers.common.config_views import View
from resolvers.common.scope import plant_for, stations_by_codes, time_range

MAX_WINDOWS = 100_000


def window_view(window: StationWindow, station_code: str, sku_code: str | None) -> View:
    return {
        "stationCode": station_code,
        "windowStartAt": iso_ms(window.window_start_at),
        "windowStartTimestamp": epoch_ms(window.window_start_at),
        "totalMs": window.total_ms,
        "shiftMs": window.shift_ms,
        "scheduledProductionMs": window.scheduled_production_ms,
        "scheduledNonProductionMs": window.scheduled_non_production_ms,
        "productiveMs": window.productive_ms,
        "downtimeMs": window.downtime_ms,
        "productionGoodCount": window.production_good_count,
        "productionBadCount": window.production_bad_count,
        "cycleTimeAvg": window.cycle_time_avg,
        "lineSpeedAvg": window.line_speed_avg,
        "electricalKwh": window.electrical_kwh,
        "rssiAvg": window.rssi_avg,
        "isAlive": window.is_alive,
        "skuCode": sku_code,
        "signalCount": window.signal_count,
    }


async def list_station_windows(
    *,
    actor: Actor,
    station_codes: Sequence[str] = (),
    range_code: str | None = None,
    plant_code: str | None = None,
    now: datetime | None = None,
) -> list[View]:
    """Windows of the stations (default: every station of the plant) over the range (default: last hour),
    oldest first."""
    actor.require(Role.READ_ONLY)
    now = now or utc_now()
    stations = await stations_by_codes(actor.account_id, station_codes) if station_codes else []
    plant = await plant_for(actor.account_id, plant_code, stations)
    if not stations:
        stations = await Station.filter(account_id=actor.account_id, plant_id=plant.id).order_by("code")
    span = await time_range(
        range_code=range_code, plant=plant, stations=stations, now=now, default=timedelta(hours=1)
    )
    by_id = {s.id: s.code for s in stations}
    rows = (
        await StationWindow.filter(
            account_id=actor.account_id,
            station_id__in=list(by_id),
            window_start_at__gte=span.start,
            window_start_at__lt=span.end,
        )
        .order_by("window_start_at", "station_id")
        .limit(MAX_WINDOWS)
    )
    sku_ids = {w.sku_id for w in rows if w.sku_id}
    skus = dict(await Sku.filter(id__in=sku_ids).values_list("id", "code")) if sku_ids else {}
    return [window_view(w, by_id[w.station_id], skus.get(w.sku_id) if w.sku_id else None) for w in rows]  # type: ignore[call-overload]
