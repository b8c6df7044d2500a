"""Bulk reads and writes with plain SQL: reads by hundreds of ids, updates by primary key with one
prepared statement (executemany), and set-based bulk writes.

Tortoise's bulk_update builds a CASE expression per column through pypika: for the hundreds of rows
a signal batch touches, building that SQL cost more than running it (about 0.4 ms per row). A filter
on hundreds of ids costs pypika ~15 ms to build, more than the query takes; signal batches and the
detection tick run several a second. For thousands of rows (closing a day of windows) even a model
instance per row costs more than the SQL: `update_values` and `insert_values` take plain database
values, and on Postgres send them as one statement over column arrays (`unnest`), not one execution
per row.
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
    model = model or type(rows[0])
    converters = [model._meta.fields_map[f] for f in fields]
    values = [
        [field.to_db_value(getattr(row, field.model_field_name), row) for field in converters] + [row.pk]
        for row in rows
    ]
    await update_values(conn, model, fields, values)


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


async def update_values(
    conn: BaseDBAsyncClient, model: type[Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """UPDATE `fields` (model field names) of `model` rows; each row holds the fields' database values,
    then the primary key."""
    if not rows:
        return
    meta = model._meta
    names = [*fields, meta.pk_attr]
    columns = [meta.fields_db_projection[f] for f in names]
    table = meta.db_table
    if conn.capabilities.dialect == "postgres":
        assignments = ", ".join(f'"{c}" = v."{c}"' for c in columns[:-1])
        sql = (
            f'UPDATE "{table}" SET {assignments} FROM {_unnest(model, names)} '
            f'WHERE "{table}"."{columns[-1]}" = v."{columns[-1]}"'
        )
        await conn.execute_query(sql, [list(column) for column in zip(*rows, strict=True)])
        return
    assignments = ", ".join(f'"{c}" = ?' for c in columns[:-1])
    sql = f'UPDATE "{table}" SET {assignments} WHERE "{columns[-1]}" = ?'
    await conn.execute_many(sql, [list(row) for row in rows])


async def insert_values(
    conn: BaseDBAsyncClient, model: type[Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """INSERT `model` rows; each row holds the database values of `fields` (model field names, foreign
    keys by their `_id` name); every other column but a generated primary key takes its model default."""
    if not rows:
        return
    meta = model._meta
    rest = [
        f
        for f in meta.fields_db_projection
        if f not in fields and not (meta.fields_map[f].pk and meta.fields_map[f].generated)
    ]
    defaults = [meta.fields_map[f].to_db_value(meta.fields_map[f].default, model) for f in rest]
    columns = ", ".join(f'"{meta.fields_db_projection[f]}"' for f in [*fields, *rest])
    table = meta.db_table
    if conn.capabilities.dialect == "postgres":
        arrays = [list(column) for column in zip(*rows, strict=True)]
        arrays += [[default] * len(rows) for default in defaults]
        sql = f'INSERT INTO "{table}" ({columns}) SELECT * FROM {_unnest(model, [*fields, *rest])}'
        await conn.execute_query(sql, arrays)
        return
    marks = ", ".join("?" for _ in range(len(fields) + len(rest)))
    sql = f'INSERT INTO "{table}" ({columns}) VALUES ({marks})'
    await conn.execute_many(sql, [[*row, *defaults] for row in rows])


def _unnest(model: type[Model], fields: Sequence[str]) -> str:
    """`unnest($1::T1[], $2::T2[], ...) AS v(c1, c2, ...)`: one Postgres array parameter a column."""
    meta = model._meta
    arrays = ", ".join(
        f"${i}::{meta.fields_map[f].get_for_dialect('postgres', 'SQL_TYPE')}[]"
        for i, f in enumerate(fields, 1)
    )
    names = ", ".join(f'"{meta.fields_db_projection[f]}"' for f in fields)
    return f"unnest({arrays}) AS v({names})"
