"""Pure pieces: settings validation, the failure limiter, CSV guard, multi-value params, time formats, roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from gateway.settings import SettingsError, load_settings
from models.roles import Role, allows, effective
from models.secrets import digest, new_access_code, new_api_key
from models.timefmt import epoch_ms, iso_ms
from resolvers.common.errors import DomainError
from resolvers.identity.authentication import FailureLimiter
from rest_compat.csv_out import render, safe_cell
from rest_compat.params import multi

pytestmark = pytest.mark.backend_independent  # pure: no database


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ANDON_PORT", "abc"),
        ("ANDON_PORT", "0"),
        ("ANDON_PORT", "70000"),
        ("ANDON_LOG_LEVEL", "loud"),
        ("ANDON_DATABASE_URL", "mysql://x/y"),
        ("ANDON_REDIS_URL", "http://x"),
        ("ANDON_MQTT_URL", "mqtt://"),
        ("ANDON_SMTP_URL", "smtp://h:99999"),
        ("ANDON_SYSTEM_API_KEY", "short"),
    ],
)
def test_bad_setting_names_the_variable_in_one_line(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert variable in message and "\n" not in message
    if variable == "ANDON_SYSTEM_API_KEY":
        assert value not in message  # a secret is never echoed


def test_defaults_run_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANDON_DATABASE_URL", "ANDON_PORT", "ANDON_REDIS_URL", "ANDON_MQTT_URL", "ANDON_SMTP_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert (settings.database_url, settings.host, settings.port) == ("sqlite://andon.db", "127.0.0.1", 8000)
    assert settings.redis_url is None and settings.mqtt_url is None and settings.smtp_url is None


def test_limiter_blocks_after_limit_until_window_passes() -> None:
    now = [1000.0]
    limiter = FailureLimiter(limit=3, window_seconds=60, clock=lambda: now[0])
    for _ in range(3):
        limiter.check("a")
        limiter.record_failure("a")
        now[0] += 1
    with pytest.raises(DomainError) as blocked:
        limiter.check("a")
    assert blocked.value.retry_after == 57  # the oldest failure (t=1000) leaves at 1060; now is 1003
    limiter.check("b")  # other addresses are unaffected
    now[0] = 1060.5  # the first failure has left the window
    limiter.check("a")


def test_csv_guards_formulas_but_not_numbers() -> None:
    assert [
        safe_cell(v) for v in ("=SUM(A1)", "+1", "-x", "@cmd", "\tx", "\rx", "plain", -5, 2.5, None, True)
    ] == ["'=SUM(A1)", "'+1", "'-x", "'@cmd", "'\tx", "'\rx", "plain", "-5", "2.5", "", "true"]
    assert render(["a", "b"], [["x,y", 'q"q']]) == 'a,b\r\n"x,y","q""q"\r\n'


def test_multi_value_params() -> None:
    assert multi(["a,b", "c", " b ", ",,"]) == ["a", "b", "c"]


def test_iso_ms_z_and_epoch_ms() -> None:
    moment = datetime(2025, 5, 29, 14, 40, 45, 831999, tzinfo=timezone(timedelta(hours=1)))
    assert iso_ms(moment) == "2025-05-29T13:40:45.831Z"
    assert epoch_ms(datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)) == 1000


def test_role_ladder() -> None:
    assert allows(Role.ADMIN, Role.SUPERVISOR) and not allows(Role.OPERATOR, Role.MEMBER)
    assert allows(Role.DEVICE, Role.DEVICE) and allows(Role.ADMIN, Role.DEVICE)
    assert not allows(Role.DEVICE, Role.READ_ONLY) and not allows(Role.MEMBER, Role.DEVICE)
    assert effective(Role.MEMBER, Role.ADMIN) is Role.MEMBER
    assert effective(Role.ADMIN, Role.DEVICE) is Role.DEVICE
    assert effective(Role.SUPERVISOR, None) is Role.SUPERVISOR


def test_secrets_have_enough_entropy_and_are_hashed() -> None:
    secret, hashed, prefix = new_api_key()
    assert hashed == digest(secret) and secret not in hashed and secret.startswith(prefix)
    codes = {new_access_code() for _ in range(200)}
    assert len(codes) == 200 and all(len(c) >= 8 for c in codes)


def test_unknown_andon_variables_are_reported() -> None:
    from gateway.settings import unknown_variables

    env = {"ANDON_DATABSE_URL": "x", "ANDON_PORT": "1", "ANDON_TEST_BACKEND": "sqlite", "PATH": "/bin"}
    assert unknown_variables(env) == ["ANDON_DATABSE_URL"]
