"""The committed migrations build exactly the models' schema, and pending_migrations tells them apart.

Tortoise keeps global state and the session fixtures already use it, so the checks run in a child
process: `python -m tests.test_migrations DATABASE_URL` prints a JSON report of that database.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from models import APP_LABEL, MIGRATIONS_MODULE
from tests.gateway_process import andon_env, describe, run_andon, subprocess_database

MIGRATIONS_TABLE = "tortoise_migrations"
ROOT = Path(__file__).resolve().parent.parent
MIGRATION_FILES = sorted((ROOT / MIGRATIONS_MODULE.replace(".", "/")).glob("[0-9][0-9][0-9][0-9]_*.py"))
REPORT_SECONDS = 60

_TABLES_SQL = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    "postgres": "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'",
}


async def _report(url: str) -> dict[str, Any]:
    """Pending migrations, the autodetector's changes, the database's tables and the models' tables."""
    from tortoise.context import TortoiseContext
    from tortoise.migrations.autodetector import MigrationAutodetector

    from gateway.database import pending_migrations, tortoise_config

    pending = await pending_migrations(url)
    config = tortoise_config(url)
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        assert ctx.apps is not None
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
        changes = [f"{w.app_label}.{w.name}: {op.describe()}" for w in writers for op in w.operations]
        model_tables: set[str] = set()
        for models in ctx.apps.values():
            for model in models.values():
                model_tables.add(model._meta.db_table)
                for name in model._meta.m2m_fields:
                    through = getattr(model._meta.fields_map[name], "through", None)
                    if through:
                        model_tables.add(through)
        dialect = "sqlite" if url.startswith("sqlite") else "postgres"
        rows = await ctx.db("default").execute_query_dict(_TABLES_SQL[dialect])
        await ctx.close_connections()
    return {
        "pending": pending,
        "changes": changes,
        "tables": sorted(str(row["name"]) for row in rows),
        "modelTables": sorted(model_tables),
    }


def _report_of(url: str) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "tests.test_migrations", url],
        cwd=ROOT,
        env=andon_env(),
        capture_output=True,
        text=True,
        timeout=REPORT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, describe(result)
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """The report of an empty database, then of the same database after `andon migrate`."""
    tmp_path = tmp_path_factory.mktemp("migrations")
    with subprocess_database(tmp_path) as url:
        before = _report_of(url)
        env = andon_env({"ANDON_DATABASE_URL": url, "ANDON_LOG_LEVEL": "warning"})
        migrated = run_andon(["migrate"], env, tmp_path)
        assert migrated.returncode == 0, describe(migrated)
        after = _report_of(url)
    yield before, after


def test_committed_migrations_leave_no_model_change_undetected(
    reports: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    _, after = reports
    assert after["changes"] == [], "the models differ from the migrations; run makemigrations"


def test_migrated_database_holds_exactly_the_model_tables(
    reports: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    _, after = reports
    assert after["modelTables"], "no models were found"
    assert set(after["tables"]) == {*after["modelTables"], MIGRATIONS_TABLE}


def test_pending_migrations_lists_every_migration_until_andon_migrate_runs(
    reports: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    before, after = reports
    assert MIGRATION_FILES, "no migration files found"
    assert before["pending"] == [f"{APP_LABEL}.{path.stem}" for path in MIGRATION_FILES]
    assert before["pending"][0] == f"{APP_LABEL}.0001_initial"
    assert after["pending"] == []


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_report(sys.argv[1]))))
