"""Start-up checks of the services a command needs, so an unusable setting stops it at once.

Each configured service is reached once, all of them side by side, each within CHECK_SECONDS: an
unreachable host, a refused port or rejected credentials become one line naming the setting and the
cause (gateway/cli.py prints it and exits non-zero) instead of a hang, a retry loop or a traceback.
No retry: a service that is still starting is the supervisor's to wait for (systemd, compose).
"""

from __future__ import annotations

import asyncio
import importlib
import uuid
from collections.abc import Awaitable, Callable
from urllib.parse import unquote, urlsplit

import aiomqtt
import redis.asyncio as redis
from tortoise.backends.base.config_generator import expand_db_url

from gateway.database import sqlite_folder_problem
from gateway.settings import Settings
from notifications.mailer import SmtpMailer

# Well under the 10 s a command may take to fail, including the interpreter's start-up.
CHECK_SECONDS = 3.0
SERVICES = ("database", "redis", "mqtt", "smtp")


class Unusable(Exception):
    """A setting the command cannot use: `setting` names it, the message is one line."""

    def __init__(self, setting: str, value: str, cause: str) -> None:
        super().__init__(f"{setting}={safe_url(value)}: {cause}")
        self.setting = setting


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url


def _cause(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {CHECK_SECONDS:.0f} s"
    text = " ".join(str(exc).split())  # one line, whatever the library put in its message
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def _database(url: str) -> None:
    if url.startswith("sqlite://"):
        return  # a local file: its folder is checked up front; opening it would create it
    # Tortoise's own client and URL parsing, so the check connects exactly as the gateway will.
    config = expand_db_url(url)
    client_class = importlib.import_module(config["engine"]).client_class
    client = client_class(
        connection_name="preflight", **{**config["credentials"], "minsize": 1, "maxsize": 1}
    )
    try:
        await client.create_connection(with_db=True)
        await client.execute_query("SELECT 1")
    finally:
        await client.close()


async def _redis(url: str) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=CHECK_SECONDS, socket_timeout=CHECK_SECONDS)
    try:
        await client.ping()
    finally:
        await client.aclose()


async def _mqtt(url: str) -> None:
    parts = urlsplit(url)
    client = aiomqtt.Client(
        hostname=parts.hostname or "127.0.0.1",
        port=parts.port or (8883 if parts.scheme == "mqtts" else 1883),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        # Never the gateway's own client id: connecting with it would end a running instance's session.
        identifier=f"andon-check-{uuid.uuid4().hex[:8]}",
        clean_session=True,
        tls_params=aiomqtt.TLSParameters() if parts.scheme == "mqtts" else None,
        timeout=CHECK_SECONDS,
    )
    async with client:
        pass


async def _smtp(url: str) -> None:
    mailer = SmtpMailer(url)  # connects and signs in as the sender will
    await mailer.open()
    await mailer.close()


def _checks(settings: Settings) -> dict[str, tuple[str, str | None, Callable[[str], Awaitable[None]]]]:
    return {
        "database": ("ANDON_DATABASE_URL", settings.database_url, _database),
        "redis": ("ANDON_REDIS_URL", settings.redis_url, _redis),
        "mqtt": ("ANDON_MQTT_URL", settings.mqtt_url, _mqtt),
        "smtp": ("ANDON_SMTP_URL", settings.smtp_url, _smtp),
    }


async def _attempt(check: Callable[[str], Awaitable[None]], value: str) -> BaseException | None:
    try:
        await asyncio.wait_for(check(value), CHECK_SECONDS)
    except Exception as exc:
        return exc
    return None


async def check_services(settings: Settings, needed: tuple[str, ...]) -> None:
    """Raise Unusable for the first of `needed` (in SERVICES order) that is configured and unusable."""
    chosen = [(name, *_checks(settings)[name]) for name in SERVICES if name in needed]
    configured = [(setting, value, check) for _, setting, value, check in chosen if value]
    for setting, value, _ in configured:
        if setting == "ANDON_DATABASE_URL" and (problem := sqlite_folder_problem(value)):
            raise Unusable(setting, value, problem)
    failures = await asyncio.gather(*(_attempt(check, value) for _, value, check in configured))
    for (setting, value, _), failure in zip(configured, failures, strict=True):
        if failure is not None:
            raise Unusable(setting, value, f"cannot connect: {_cause(failure)}")
