"""Typed changes that resolvers publish after commit, and the one entry point that publishes them."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Literal, Protocol, get_args

log = logging.getLogger(__name__)

ChangeKind = Literal[
    "credentials",
    "config",
    "plant",
    "station_group",
    "station",
    "sku",
    "non_production_reason",
    "schedule",
    "issue",
    "cause",
    # A station's live status changed (entity: the station code); nothing cached depends on it.
    "station_status",
]
CHANGE_KINDS: frozenset[str] = frozenset(get_args(ChangeKind))


@dataclass(frozen=True, slots=True)
class Change:
    """Something committed in one account. Consumers tolerate duplicates and gaps."""

    kind: ChangeKind
    account_id: str
    entity_id: int | str | None = None
    revision: int | None = None

    def to_wire(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_wire(cls, data: dict[str, object]) -> Change:
        kind = data.get("kind")
        account = data.get("account_id")
        if kind not in CHANGE_KINDS or not isinstance(account, str):
            raise ValueError(f"not a change: {data!r}")
        entity = data.get("entity_id")
        revision = data.get("revision")
        return cls(
            kind=kind,  # type: ignore[arg-type]  # checked against CHANGE_KINDS above
            account_id=account,
            entity_id=entity if isinstance(entity, int | str) else None,
            revision=revision if isinstance(revision, int) else None,
        )


class Publisher(Protocol):
    async def publish(self, change: Change) -> None: ...


class _Unwired:
    """Before the gateway wires a bus (scripts, unit tests), changes have no listener."""

    async def publish(self, change: Change) -> None:
        log.debug("no bus wired; dropped %s", change)


_publisher: Publisher = _Unwired()


def install_publisher(publisher: Publisher | None) -> None:
    """Called once by the gateway's lifespan; None unwires it again."""
    global _publisher
    _publisher = publisher if publisher is not None else _Unwired()


async def publish(change: Change) -> None:
    """Announce a committed change. Call only after the transaction has committed."""
    await _publisher.publish(change)
