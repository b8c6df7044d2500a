"""Bulk reads and updates by key with plain SQL.

Tortoise's bulk_update builds a CASE expression per column through pypika: for the hundreds of rows
a signal batch touches, building that SQL cost more than running it (about 0.4 ms per row). A filter
on hundreds of ids costs pypika ~15 ms to build, more than the query takes; signal batches and the
detection tick run several a second.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model


async def update_by_pk(
    conn: BaseDBAsyncClient, rows: Sequence[Any], fields: Sequence[str], model: type[Model] | None = None
) -> None:
    """UPDATE each row's `fields` (model field names) where its primary key matches; inside the caller's
    transaction (`conn` from in_transaction). Rows are model instances, or any objects with the model's
    field names and a `pk` when `model` is given."""
    if not rows:
        return
    meta = (model or rows[0])._meta
    columns = [meta.fields_db_projection[f] for f in fields]
    postgres = conn.capabilities.dialect == "postgres"

    def mark(i: int) -> str:
        return f"${i}" if postgres else "?"

    assignments = ", ".join(f'"{c}" = {mark(i + 1)}' for i, c in enumerate(columns))
    sql = f'UPDATE "{meta.db_table}" SET {assignments} WHERE "{meta.db_pk_column}" = {mark(len(columns) + 1)}'
    converters = [meta.fields_map[f] for f in fields]
    values = [
        [field.to_db_value(getattr(row, field.model_field_name), row) for field in converters] + [row.pk]
        for row in rows
    ]
    await conn.execute_many(sql, values)


# SQLite's limit on bound parameters is far above this; chunks keep each statement modest.
_CHUNK = 500


async def select_in(
    conn: BaseDBAsyncClient,
    sql: str,
    key: str,
    ids: Iterable[int],
    *,
    suffix: str = "",
) -> list[Any]:
    """Rows of `sql` (a SELECT without WHERE) whose `key` column is one of `ids`, in key order;
    `suffix` (e.g. " FOR UPDATE") goes on Postgres only. Rows are the driver's (sqlite3.Row, asyncpg
    Record): read by position or by column name, without a dict per row."""
    postgres = conn.capabilities.dialect == "postgres"
    ordered = sorted(set(ids))  # one lock order for every instance
    rows: list[Any] = []
    for at in range(0, len(ordered), _CHUNK):
        chunk = ordered[at : at + _CHUNK]
        if postgres:
            query = f'{sql} WHERE "{key}" = ANY($1::int[]) ORDER BY "{key}"{suffix}'
            rows += (await conn.execute_query(query, [chunk]))[1]
        else:
            marks = ", ".join("?" for _ in chunk)
            rows += (await conn.execute_query(f'{sql} WHERE "{key}" IN ({marks})', chunk))[1]
    return rows
