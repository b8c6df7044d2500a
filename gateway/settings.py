"""The gateway's one typed settings object, read from ANDON_* variables (and an optional .env)."""

from __future__ import annotations

import logging
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LogLevel = Literal["debug", "info", "warning", "error", "critical"]


class SettingsError(Exception):
    """A bad ANDON_* value; the message is one line naming the variable."""


def _check_scheme(value: str | None, allowed: tuple[str, ...], example: str) -> str | None:
    if value is None or value == "":
        return None
    parts = urlsplit(value)
    if parts.scheme not in allowed:
        raise ValueError(f"scheme must be one of {', '.join(allowed)} (e.g. {example})")
    if parts.scheme not in ("sqlite",) and not parts.hostname:
        raise ValueError(f"a host is required (e.g. {example})")
    try:
        parts.port  # noqa: B018 - urlsplit validates the port lazily
    except ValueError as exc:
        raise ValueError(f"bad port: {exc}") from None
    return value


class Settings(BaseSettings):
    """Every ANDON_* variable, validated once at start-up."""

    model_config = SettingsConfigDict(
        env_prefix="ANDON_", env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    database_url: str = "sqlite://andon.db"
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    system_api_key: str | None = None
    redis_url: str | None = None
    mqtt_url: str | None = None
    smtp_url: str | None = None
    log_level: LogLevel = "info"
    # Where mail goes without ANDON_SMTP_URL (the embedded default).
    outbox_dir: Path = Path("outbox")
    # Comma-separated browser origins allowed to open GraphQL websockets.
    allowed_origins: str = ""
    # Client addresses whose X-Forwarded-For is trusted (uvicorn's forwarded_allow_ips).
    forwarded_allow_ips: str = "127.0.0.1"
    max_body_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 1024 * 1024
    # The price one GraphQL operation may have (docs/graphql.md has the cost model).
    graphql_max_cost: Annotated[int, Field(ge=1000, le=100_000_000)] = 100_000
    auth_fail_limit: Annotated[int, Field(ge=1, le=100_000)] = 50
    auth_fail_window_seconds: Annotated[int, Field(ge=1, le=86_400)] = 60
    # Upper bound on how long a cached credential is trusted without a fresh look-up.
    credential_cache_seconds: Annotated[float, Field(ge=0, le=3600)] = 30.0
    # Upper bound on how long a cached configuration list (stations…) is served without a fresh read.
    read_cache_seconds: Annotated[float, Field(ge=0, le=3600)] = 60.0
    # How often clock-driven work (stop detection, live status, window closing, automatic escalation)
    # checks its deadlines: detection latency after a threshold is at most about this.
    timer_interval_seconds: Annotated[float, Field(ge=0.05, le=5)] = (
        0.5  # ≤ 5: escalations are due within 5 s; 0.5 keeps detection within 1 s
    )
    # The lease that lets one instance run the clock-driven work: held for ttl, renewed every renew.
    lease_ttl_seconds: Annotated[float, Field(ge=1, le=60)] = 6.0
    lease_renew_seconds: Annotated[float, Field(ge=0.1, le=30)] = 2.0
    # A station with no signal for this long is offline.
    offline_after_seconds: Annotated[float, Field(ge=1, le=86_400)] = 600.0
    # A minute's window is closed (time fields computed) this long after it ended.
    window_close_grace_seconds: Annotated[float, Field(ge=0, le=300)] = 2.0
    # MQTT ingestion: `$share/andon/…` subscription when several instances share the broker.
    mqtt_shared: bool = False
    # Fixed per instance so the broker keeps its persistent session (and QoS 1 messages) across restarts.
    mqtt_client_id: Annotated[str, Field(min_length=1, max_length=64)] = "andon-gateway"
    # Signals are applied in batches: at most this often, or sooner once mqtt_batch_max are waiting.
    mqtt_flush_seconds: Annotated[float, Field(ge=0.01, le=10)] = 0.25
    mqtt_batch_max: Annotated[int, Field(ge=1, le=100_000)] = 5000
    # Larger payloads are counted and dropped without decoding.
    mqtt_max_payload_bytes: Annotated[int, Field(ge=256, le=1024 * 1024)] = 64 * 1024

    # Mail (docs/notifications.md): how often the outbox sender looks for due emails besides being woken,
    # the cap of its retry backoff while the SMTP server is down, and how often daily summaries are checked.
    mail_poll_seconds: Annotated[float, Field(ge=0.05, le=2)] = 1.0
    mail_retry_max_seconds: Annotated[float, Field(ge=0.1, le=3600)] = 300.0
    daily_summary_check_seconds: Annotated[float, Field(ge=0.1, le=600)] = 30.0
    # Sent and refused emails are deleted this many days after (0: kept for good); see docs/notifications.md.
    outbox_retention_days: Annotated[float, Field(ge=0, le=36_500)] = 90.0

    # Operations (docs/operations.md). /metrics: a bearer token, or loopback clients only when unset.
    metrics_token: str | None = None
    # /api/health: how long one probe's answer is reused, and how long a component may fail before the
    # instance reports itself degraded (503): a reconnect blip must not take it out of rotation.
    health_probe_seconds: Annotated[float, Field(ge=0, le=60)] = 2.0
    health_ingest_failing_seconds: Annotated[float, Field(ge=0, le=3600)] = 30.0
    health_ingest_lag_seconds: Annotated[float, Field(ge=0, le=3600)] = 60.0
    health_mailer_failing_seconds: Annotated[float, Field(ge=0, le=86_400)] = 180.0

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str) -> str:
        checked = _check_scheme(
            value, ("sqlite", "postgres", "postgresql", "asyncpg"), "postgres://u:p@h:5432/db"
        )
        if checked is None:
            raise ValueError("must not be empty")
        if value.startswith("sqlite:") and not value.startswith("sqlite://"):
            raise ValueError("SQLite URLs look like sqlite://andon.db or sqlite:///abs/path.db")
        return checked

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, value: str | None) -> str | None:
        return _check_scheme(value, ("redis", "rediss", "unix"), "redis://127.0.0.1:6379/0")

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt(cls, value: str | None) -> str | None:
        return _check_scheme(value, ("mqtt", "mqtts"), "mqtt://user:pass@127.0.0.1:1883")

    @field_validator("lease_renew_seconds")
    @classmethod
    def _renew_before_expiry(cls, value: float, info: ValidationInfo) -> float:
        ttl = info.data.get("lease_ttl_seconds")
        if ttl is not None and value * 2 > ttl:
            raise ValueError("must be at most half of ANDON_LEASE_TTL_SECONDS")
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp(cls, value: str | None) -> str | None:
        return _check_scheme(value, ("smtp", "smtps"), "smtp://user:pass@127.0.0.1:25")

    @field_validator("system_api_key")
    @classmethod
    def _system_key(cls, value: str | None) -> str | None:
        if value is not None and value != "" and len(value) < 16:
            raise ValueError("must be at least 16 characters")
        return value or None

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token(cls, value: str | None) -> str | None:
        if value is not None and value != "" and len(value) < 16:
            raise ValueError("must be at least 16 characters")
        return value or None

    @cached_property
    def origins(self) -> list[str]:
        return [o.strip() for o in self.allowed_origins.split(",") if o.strip()]

    @property
    def python_log_level(self) -> int:
        return logging.getLevelNamesMapping()[self.log_level.upper()]


def unknown_variables(environ: dict[str, str]) -> list[str]:
    """ANDON_* names that are no setting (likely typos); the test suite's own ANDON_TEST_* are not."""
    known = {"ANDON_" + name.upper() for name in Settings.model_fields}
    return sorted(
        n for n in environ if n.startswith("ANDON_") and n not in known and not n.startswith("ANDON_TEST_")
    )


def load_settings(**overrides: object) -> Settings:
    """Build the settings or raise SettingsError with one line naming the first bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]  # pydantic accepts field kwargs
    except ValidationError as exc:
        error = exc.errors()[0]
        name = "ANDON_" + str(error["loc"][0]).upper() if error["loc"] else "ANDON_*"
        raw = error.get("input")
        secret = name in {"ANDON_SYSTEM_API_KEY", "ANDON_METRICS_TOKEN"}
        shown = f" (got {raw!r})" if isinstance(raw, str | int | float) and not secret else ""
        raise SettingsError(f"invalid {name}{shown}: {error['msg']}") from None
