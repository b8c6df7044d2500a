"""The signal message on the wire: which account and station a topic names, and a payload validated into
a signal or refused with a drop kind and a short detail (pure: no database, no broker)."""

from __future__ import annotations

import re

import orjson
from pydantic import ValidationError

from models.timefmt import utc_now
from resolvers.signals.apply import Signal
from resolvers.signals.payload import SignalIn, check_moment
from resolvers.signals.stats import DropKind

TOPIC = "busroot/v2/+/signals/+"
_TOPIC_RE = re.compile(r"^busroot/v2/([a-z0-9][a-z0-9-]{0,39})/signals/([a-zA-Z0-9_-]{1,32})$")


def topic_names(topic: str) -> tuple[str, str] | None:
    """(account id, station code) of a signal topic, or None for any other topic."""
    match = _TOPIC_RE.match(topic)
    return (match[1], match[2]) if match else None


def validated(account_id: str, station_id: int, payload: bytes) -> Signal | tuple[DropKind, str]:
    """The signal, or why it is refused (drop kind, detail)."""
    try:
        decoded = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        return "malformed", str(exc)
    if not isinstance(decoded, dict):
        return "malformed", "not a JSON object"
    try:
        data = SignalIn.model_validate(decoded)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        unknown = any(e["type"] == "extra_forbidden" for e in errors)
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors)
        return ("unknown_key" if unknown else "wrong_type"), fields
    now = utc_now()
    at = data.moment(now)
    problem = check_moment(at, now)
    if problem:
        return "bad_timestamp", f"timestamp {problem}"
    return Signal(account_id, station_id, at, data)
