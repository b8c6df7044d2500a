"""POST /api/signal: a request's signals validated as a whole, then applied (REST and GraphQL share it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from models.roles import Role
from models.tenancy import Station
from models.timefmt import utc_now
from resolvers.common.actor import Actor
from resolvers.common.errors import invalid
from resolvers.common.validation import validation_error
from resolvers.signals.apply import Signal, apply_signals
from resolvers.signals.payload import HttpSignalIn, check_moment

MAX_SIGNALS = 10_000


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
