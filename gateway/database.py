"""Tortoise configuration and the schema-migration entry points shared by the CLI and the app."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.connection import get_connection
from tortoise.migrations.api import migrate as run_migrations
from tortoise.migrations.executor import MigrationExecutor

from gateway import tortoise_fixes
from models import APP_LABEL, MIGRATIONS_MODULE, MODEL_MODULES

# Every process that opens the database (the app, the CLI) loads this module first.
tortoise_fixes.apply()


def _sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite URL; None for another database or an in-memory one."""
    if not database_url.startswith("sqlite://"):
        return None
    path = database_url.removeprefix("sqlite://")
    return None if path == ":memory:" else Path(path)


def sqlite_file_missing(database_url: str) -> bool:
    """True for a SQLite URL whose file does not exist (opening it would create an empty one)."""
    file = _sqlite_file(database_url)
    return file is not None and not file.exists()


def sqlite_folder_problem(database_url: str) -> str | None:
    """Why a SQLite URL's file cannot be created, or None. Checked before Tortoise opens it: on a folder
    that does not exist its `execute_script` fails inside a lock it never releases, and the command hangs."""
    file = _sqlite_file(database_url)
    if file is None:
        return None
    if not file.parent.is_dir():
        return f"the folder {file.parent} does not exist"
    if not os.access(file.parent, os.W_OK | os.X_OK):
        return f"the folder {file.parent} is not writable"
    return None


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The one Tortoise config: one app, one connection, UTC timestamps."""
    return {
        "connections": {"default": database_url},
        "apps": {
            APP_LABEL: {
                "models": list(MODEL_MODULES),
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def migrate(database_url: str) -> None:
    """Apply every pending migration (idempotent)."""
    try:
        await run_migrations(config=tortoise_config(database_url))
    finally:
        await Tortoise.close_connections()


async def pending_migrations(database_url: str) -> list[str]:
    """Names of migrations not yet applied to the database (empty when up to date)."""
    config = tortoise_config(database_url)
    await Tortoise.init(config=config, init_connections=False)
    try:
        executor = MigrationExecutor(get_connection("default"), config["apps"])
        steps = await executor.plan(None)
        return [f"{s.migration.app_label}.{s.migration.name}" for s in steps if not s.backward]
    finally:
        await Tortoise.close_connections()
