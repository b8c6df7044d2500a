"""Bulk updates by primary key and bulk inserts with one prepared statement (executemany).

Tortoise's bulk_update builds a CASE expression per column through pypika: for the hundreds of rows
a signal batch touches, building that SQL cost more than running it (about 0.4 ms per row). For tens of
thousands of rows (closing a day of windows) even a model instance per row costs more than the SQL:
`update_values` and `insert_values` take plain database values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model


async def update_by_pk(conn: BaseDBAsyncClient, rows: Sequence[Model], fields: Sequence[str]) -> None:
    """UPDATE each row's `fields` (model field names) where its primary key matches; inside the caller's
    transaction (`conn` from in_transaction)."""
    if not rows:
        return
    meta = rows[0]._meta
    converters = [meta.fields_map[f] for f in fields]
    values = [
        [field.to_db_value(getattr(row, field.model_field_name), row) for field in converters] + [row.pk]
        for row in rows
    ]
    await update_values(conn, type(rows[0]), fields, values)


def _mark(conn: BaseDBAsyncClient, i: int) -> str:
    return f"${i}" if conn.capabilities.dialect == "postgres" else "?"


async def update_values(
    conn: BaseDBAsyncClient, model: type[Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """UPDATE `fields` (model field names) of `model` rows; each row holds the fields' database values,
    then the primary key."""
    if not rows:
        return
    meta = model._meta
    columns = [meta.fields_db_projection[f] for f in fields]
    assignments = ", ".join(f'"{c}" = {_mark(conn, i + 1)}' for i, c in enumerate(columns))
    where = f'"{meta.db_pk_column}" = {_mark(conn, len(columns) + 1)}'
    await conn.execute_many(
        f'UPDATE "{meta.db_table}" SET {assignments} WHERE {where}', [list(row) for row in rows]
    )


async def insert_values(
    conn: BaseDBAsyncClient, model: type[Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """INSERT `model` rows; each row holds the database values of `fields` (model field names, foreign
    keys by their `_id` name), every other column but a generated primary key takes its model default."""
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
    marks = ", ".join(_mark(conn, i + 1) for i in range(len(fields) + len(rest)))
    sql = f'INSERT INTO "{meta.db_table}" ({columns}) VALUES ({marks})'
    await conn.execute_many(sql, [[*row, *defaults] for row in rows])
