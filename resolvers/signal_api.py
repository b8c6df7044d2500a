"""POST /api/signal and the station-window listing (REST and GraphQL share these)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from models.roles import Role
from models.tenancy import Sku, Station
from models.timefmt import epoch_ms, iso_ms, utc_now
from models.windows import StationWindow
from resolvers.actor import Actor
from resolvers.errors import invalid
from resolvers.scope import plant_for, stations_by_codes, time_range
from resolvers.signal_input import HttpSignalIn, check_moment
from resolvers.signals import Signal, apply_signals
from resolvers.validation import validation_error
from resolvers.views import View

MAX_SIGNALS = 10_000
MAX_WINDOWS = 100_000


def _validated(payload: object, now: datetime) -> list[HttpSignalIn]:
    """Every item checked before anything is stored: one bad item refuses the whole request."""
    is_list = isinstance(payload, list)
    items: list[Any] = payload if isinstance(payload, list) else [payload]
    if not isinstance(payload, list | dict):
        raise invalid(None, "the body must be a signal object or an array of them")
    if not items:
        raise invalid(None, "the array holds no signal")
    if len(items) > MAX_SIGNALS:
        raise invalid(None, f"at most {MAX_SIGNALS} signals per request")
    out = []
    for index, item in enumerate(items):
        prefix = f"[{index}]." if is_list else ""
        if not isinstance(item, dict):
            raise invalid(f"[{index}]", "must be a signal object")
        try:
            signal = HttpSignalIn.model_validate(item)
        except ValidationError as exc:
            error = validation_error(exc, "signal")
            first = error.details[0]
            raise invalid(f"{prefix}{first.field}", first.message.split(": ", 1)[-1]) from None
        problem = check_moment(signal.moment(now), now)
        if problem:
            raise invalid(f"{prefix}timestamp", problem)
        out.append(signal)
    return out


async def receive_signals(*, actor: Actor, payload: object, now: datetime | None = None) -> dict[str, Any]:
    """Validate all, drop (and list) items of unknown stations, apply the rest in one transaction."""
    actor.require(Role.DEVICE)
    now = now or utc_now()
    items = _validated(payload, now)
    codes = {s.stationCode for s in items}
    known = dict(
        await Station.filter(
            account_id=actor.account_id, code__in=codes, archived_at__isnull=True
        ).values_list("code", "id")
    )
    signals = [
        Signal(actor.account_id, int(known[s.stationCode]), s.moment(now), s)  # type: ignore[arg-type]
        for s in items
        if s.stationCode in known
    ]
    applied = await apply_signals(signals)
    unknown = sorted(codes - set(known))
    return {"accepted": applied, "dropped": len(items) - applied, "unknownStationCodes": unknown}


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
