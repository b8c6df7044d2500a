"""Station state rows as plain values, read with one SQL statement.

Signal batches and detection read every station's state several times a second. Building Tortoise
models for them cost ~100 µs a row, most of it parsing datetimes (pure-Python `iso8601` on SQLite):
a fifth of the gateway's CPU at 5,000 messages a second. These rows are slotted dataclasses with the
model's field names, parsed with the C `datetime.fromisoformat` (`db_moment`), and written back with
`update_by_pk`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from models.signals import StationState
from models.timefmt import db_moment
from resolvers.common.bulk_sql import select_in, update_by_pk


@dataclass(slots=True)
class StateRow:
    """One `station_state` row (see models/signals.py for what each field means)."""

    id: int
    station_id: int
    account_id: str
    first_signal_at: datetime
    last_signal_at: datetime
    count_good_total: int | None
    count_bad_total: int | None
    totals_at: datetime | None
    kwh_total: float | None
    last_output_at: datetime | None
    productive: bool | None
    productive_since: datetime | None
    slow_since: datetime | None
    sku_id: int | None
    pending_cause_id: int | None
    status: str
    status_at: datetime | None
    closed_until: datetime

    @property
    def pk(self) -> int:
        return self.id


_COLUMNS = [f.name for f in fields(StateRow)]
_DATETIMES = frozenset(f.name for f in fields(StateRow) if str(f.type).startswith("datetime"))
_SELECT = "SELECT " + ", ".join(f'"{c}"' for c in _COLUMNS) + ' FROM "station_state"'


def _productive(value: Any) -> bool | None:
    return None if value is None else bool(value)  # SQLite: 0 / 1


def _as_is(value: Any) -> Any:
    return value


# One converter per column, in column order: rows are built by position.
_CONVERTERS: list[Callable[[Any], Any]] = [
    db_moment if name in _DATETIMES else _productive if name == "productive" else _as_is for name in _COLUMNS
]


def _row(record: Any) -> StateRow:
    return StateRow(*[convert(value) for convert, value in zip(_CONVERTERS, record, strict=True)])


async def read_states(
    conn: BaseDBAsyncClient, station_ids: Iterable[int] | None = None, *, lock: bool = False
) -> dict[int, StateRow]:
    """The state rows of `station_ids` (all when None), by station id. `lock` takes the rows' write
    lock until the transaction ends (Postgres `FOR UPDATE`; SQLite's write transaction locks anyway)."""
    if station_ids is None:
        rows = (await conn.execute_query(_SELECT))[1]
        return {state.station_id: state for state in map(_row, rows)}
    postgres = conn.capabilities.dialect == "postgres"
    suffix = " FOR UPDATE" if lock and postgres else ""
    rows = await select_in(conn, _SELECT, "station_id", station_ids, suffix=suffix)
    return {state.station_id: state for state in map(_row, rows)}


async def write_states(conn: BaseDBAsyncClient, rows: Iterable[StateRow], names: list[str]) -> None:
    """UPDATE the named fields of each row, inside the caller's transaction."""
    await update_by_pk(conn, list(rows), names, model=StationState)
