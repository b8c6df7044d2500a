"""The `andon` console script as operators and scripts use it (SPEC sections 12 and 13)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.gateway_process import (
    STOP_SECONDS,
    andon_env,
    describe,
    run_andon,
    running_gateway,
    subprocess_database,
)
from tests.services import free_port

BAD_SETTINGS = [
    ("ANDON_PORT", "abc"),
    ("ANDON_PORT", "70000"),
    ("ANDON_LOG_LEVEL", "loud"),
    ("ANDON_DATABASE_URL", "mysql://x"),
]
# A bad setting must stop start-up before anything slow happens.
BAD_SETTING_SECONDS = 5.0
DEMO_READY_SECONDS = 20.0
DEMO_STATIONS = 8
API_KEY_LINE = r"API key:\s+(\S+)"
QUIET = {"ANDON_LOG_LEVEL": "warning"}


def _json(result: subprocess.CompletedProcess[str]) -> Any:
    try:
        return json.loads(result.stdout)
    except ValueError:
        pytest.fail(f"stdout is not JSON: {describe(result)}")


@pytest.mark.backend_independent  # its database is named in the test, whatever the backend
def test_migrate_then_serve_with_only_a_sqlite_url_reports_every_service_state(tmp_path: Path) -> None:
    env = {"ANDON_DATABASE_URL": f"sqlite://{tmp_path / 'only.db'}"}
    with running_gateway(env, tmp_path, log_level=None) as gateway, gateway.client() as client:
        response = client.get("/api/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["bus"] == "ok"  # the in-process bus
    assert body["mqtt"] == "disabled"
    assert body["mailer"] in {"ok", "disabled"}  # the local outbox: never an error


@pytest.mark.backend_independent  # refused before any database is opened
@pytest.mark.parametrize(("variable", "value"), BAD_SETTINGS)
def test_a_bad_setting_stops_serve_with_one_line_naming_the_variable(
    tmp_path: Path, variable: str, value: str
) -> None:
    started = time.monotonic()
    result = run_andon(["serve"], andon_env({variable: value}), tmp_path, timeout=30)
    elapsed = time.monotonic() - started
    assert result.returncode != 0, describe(result)
    assert elapsed < BAD_SETTING_SECONDS, f"took {elapsed:.1f} s"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, describe(result)
    assert variable in lines[0]
    assert not (tmp_path / "andon.db").exists(), "a database was created despite the bad setting"


def test_serve_refuses_an_unmigrated_database_and_says_to_run_andon_migrate(tmp_path: Path) -> None:
    with subprocess_database(tmp_path) as url:
        env = andon_env({"ANDON_DATABASE_URL": url, "ANDON_PORT": str(free_port()), **QUIET})
        result = run_andon(["serve"], env, tmp_path, timeout=30)
    assert result.returncode != 0, describe(result)
    assert "andon migrate" in result.stderr, describe(result)


@pytest.mark.backend_independent  # its database is named in the test, whatever the backend
def test_serve_on_a_missing_sqlite_file_refuses_without_creating_it(tmp_path: Path) -> None:
    database = tmp_path / "missing.db"
    env = andon_env({"ANDON_DATABASE_URL": f"sqlite://{database}", "ANDON_PORT": str(free_port()), **QUIET})
    result = run_andon(["serve"], env, tmp_path, timeout=30)
    assert result.returncode != 0, describe(result)
    assert "andon migrate" in result.stderr, describe(result)
    assert not database.exists()


@pytest.mark.backend_independent  # its database is named in the test, whatever the backend
@pytest.mark.parametrize(
    "command",
    [("migrate",), ("serve",), ("apikey", "create", "--account", "a", "--email", "x@a.example.com")],
)
def test_a_command_on_a_missing_sqlite_folder_fails_at_once_with_one_line(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """`andon migrate` on a SQLite path whose folder does not exist hung inside Tortoise for good."""
    url = f"sqlite://{tmp_path / 'no-such-folder' / 'andon.db'}"
    started = time.monotonic()
    result = run_andon(command, andon_env({"ANDON_DATABASE_URL": url, **QUIET}), tmp_path, timeout=30)
    assert time.monotonic() - started < 10, describe(result)
    assert result.returncode != 0, describe(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "ANDON_DATABASE_URL" in lines[0] and "does not exist" in lines[0], lines
    assert not (tmp_path / "no-such-folder").exists()


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    with subprocess_database(tmp_path) as url:
        env = andon_env({"ANDON_DATABASE_URL": url, **QUIET})
        first = run_andon(["migrate"], env, tmp_path)
        second = run_andon(["migrate"], env, tmp_path)
    assert first.returncode == 0, describe(first)
    assert "up to date" not in first.stdout, describe(first)
    assert second.returncode == 0, describe(second)
    assert "up to date" in second.stdout, describe(second)


@pytest.mark.backend_independent  # its database is named in the test, whatever the backend
def test_migrate_against_an_unreachable_postgres_fails_with_one_clear_line(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    env = andon_env({"ANDON_DATABASE_URL": f"postgres://andon@127.0.0.1:{port}/andon", **QUIET})
    result = run_andon(["migrate"], env, tmp_path, timeout=30)
    assert result.returncode != 0, describe(result)
    assert "Traceback" not in result.stderr, describe(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, describe(result)
    assert f"127.0.0.1:{port}" in lines[0], "the message does not name the database it could not reach"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_stops_cleanly_with_exit_code_zero_on(tmp_path: Path, sig: signal.Signals) -> None:
    with subprocess_database(tmp_path) as url, running_gateway({"ANDON_DATABASE_URL": url}, tmp_path) as gw:
        with gw.client() as client:
            assert client.get("/api/health").status_code == 200
        started = time.monotonic()
        code = gw.stop(sig)
        elapsed = time.monotonic() - started
    assert elapsed < STOP_SECONDS
    assert code == 0, f"exit code {code} after {sig.name}\n{gw.output()}"


def test_account_and_apikey_commands_print_keys_that_authenticate(tmp_path: Path) -> None:
    with subprocess_database(tmp_path) as url:
        env = andon_env({"ANDON_DATABASE_URL": url, **QUIET})
        migrated = run_andon(["migrate"], env, tmp_path)
        assert migrated.returncode == 0, describe(migrated)

        created = run_andon(
            ["account", "create", "--domain", "acme.com", "--plant-name", "Main Plant"], env, tmp_path
        )
        assert created.returncode == 0, describe(created)
        account = _json(created)
        assert set(account) == {"accountId", "plantCode", "apiKey"}
        assert all(isinstance(v, str) and v for v in account.values()), account

        issued = run_andon(
            [
                "apikey",
                "create",
                "--account",
                account["accountId"],
                "--email",
                "x@acme.com",
                "--role",
                "supervisor",
            ],
            env,
            tmp_path,
        )
        assert issued.returncode == 0, describe(issued)
        key = _json(issued)
        assert isinstance(key["apiKey"], str) and key["apiKey"], key
        assert key["role"] == "supervisor"
        assert key["userEmail"] == "x@acme.com"

        with (
            running_gateway({"ANDON_DATABASE_URL": url}, tmp_path, migrate=False) as gateway,
            gateway.client() as client,
        ):
            plants = client.get("/api/plant", headers={"X-API-KEY": account["apiKey"]})
            supervisor = {"X-API-KEY": key["apiKey"]}
            reason = client.post(
                "/api/non-production-reason",
                json={"code": "lunch", "description": "Lunch"},
                headers=supervisor,
            )
            user = client.post(
                "/api/user", json={"email": "y@acme.com", "role": "member"}, headers=supervisor
            )

    assert plants.status_code == 200, plants.text
    body = plants.json()
    assert body["isSuccess"] is True
    assert [(p["code"], p["name"]) for p in body["results"]] == [(account["plantCode"], "Main Plant")]
    assert reason.status_code == 200, reason.text
    assert reason.json()["isSuccess"] is True
    assert user.status_code == 403, user.text
    assert user.json()["isSuccess"] is False
    assert user.json()["error"]["code"] == "forbidden"


def _run_demo_once(tmp_path: Path, old_key: str | None) -> str:
    """Start `andon demo` on its default database, check what it prints and serves, stop it; the API
    key it printed."""
    env: dict[str, str] = {}
    started = time.monotonic()
    with running_gateway(
        env, tmp_path, command=("demo",), migrate=False, ready_seconds=DEMO_READY_SECONDS
    ) as gateway:
        left = started + DEMO_READY_SECONDS - time.monotonic()
        key = gateway.wait_for_stdout(API_KEY_LINE, max(left, 0.0)).group(1)
        printed = gateway.stdout()
        with gateway.client() as client:
            stations = client.get("/api/station", headers={"X-API-KEY": key})
            old = client.get("/api/station", headers={"X-API-KEY": old_key}) if old_key else None
    assert f"{gateway.base_url}/api/station" in printed, printed
    assert f"{gateway.base_url}/api/health" in printed, printed
    assert stations.status_code == 200, stations.text
    body = stations.json()
    assert set(body) == {"isSuccess", "results"}
    assert body["isSuccess"] is True
    assert len(body["results"]) == DEMO_STATIONS, body
    if old is not None:
        assert old.status_code == 401, old.text
        assert old.json()["error"]["code"] == "unauthorized"
    return key


# Once, as `make demo` runs it: on the default database, sqlite://andon.db in its working directory (the
# demo seeding on Postgres is tests/test_demo_seed.py's; the key rotation is the same ORM code).
@pytest.mark.backend_independent
def test_demo_prints_a_key_that_lists_eight_stations_and_rotates_it_on_restart(tmp_path: Path) -> None:
    first = _run_demo_once(tmp_path, None)
    second = _run_demo_once(tmp_path, first)
    assert second != first
    assert (tmp_path / "andon.db").is_file()


# Each command with a setting it needs pointing at a port where nothing listens: refused in seconds with
# one line naming the setting (gateway/preflight.py), never a hang, a retry loop or a traceback.
UNREACHABLE = [
    (("serve",), "ANDON_DATABASE_URL", "postgres://andon:s3cret@127.0.0.1:{port}/andon"),
    (("serve",), "ANDON_REDIS_URL", "redis://127.0.0.1:{port}/0"),
    (("serve",), "ANDON_MQTT_URL", "mqtt://127.0.0.1:{port}"),
    (("serve",), "ANDON_SMTP_URL", "smtp://127.0.0.1:{port}"),
    (("demo",), "ANDON_REDIS_URL", "redis://127.0.0.1:{port}/0"),
    (
        ("account", "create", "--domain", "a.example.com", "--plant-name", "P"),
        "ANDON_DATABASE_URL",
        "postgres://andon:s3cret@127.0.0.1:{port}/andon",
    ),
    (
        ("send-daily-summary", "--account", "a", "--date", "2025-05-01"),
        "ANDON_SMTP_URL",
        "smtp://127.0.0.1:{port}",
    ),
    (("simulate", "--api-key", "k", "--duration", "1"), "ANDON_MQTT_URL", "mqtt://127.0.0.1:{port}"),
]
FAIL_FAST_SECONDS = 10.0


@pytest.mark.backend_independent  # refused before any database is used
@pytest.mark.parametrize(
    ("command", "variable", "url"), UNREACHABLE, ids=[f"{c[0]}-{v}" for c, v, _ in UNREACHABLE]
)
def test_a_command_given_an_unreachable_service_fails_fast_with_one_line_naming_the_setting(
    tmp_path: Path, command: tuple[str, ...], variable: str, url: str
) -> None:
    env = andon_env(
        {
            "ANDON_DATABASE_URL": f"sqlite://{tmp_path / 'andon.db'}",
            "ANDON_PORT": str(free_port()),
            variable: url.format(port=free_port()),
            **QUIET,
        }
    )
    started = time.monotonic()
    result = run_andon(command, env, tmp_path, timeout=30)
    elapsed = time.monotonic() - started
    assert result.returncode != 0, describe(result)
    assert elapsed < FAIL_FAST_SECONDS, f"took {elapsed:.1f} s\n{describe(result)}"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, describe(result)
    assert lines[0].startswith(f"andon: {variable}=") and "cannot connect" in lines[0], lines
    assert "s3cret" not in lines[0], "the password is shown"
