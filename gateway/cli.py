"""The `andon` command (SPEC section 13)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from typing import Annotated, NoReturn

import typer

from gateway.settings import Settings, SettingsError, load_settings, unknown_variables

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Andon downtime-monitoring gateway.")
account_app = typer.Typer(no_args_is_help=True, help="Manage accounts.")
apikey_app = typer.Typer(no_args_is_help=True, help="Manage API keys.")
app.add_typer(account_app, name="account")
app.add_typer(apikey_app, name="apikey")

KEEP_ALIVE_SECONDS = 75


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"andon: {message}", err=True)
    raise typer.Exit(code)


def _settings() -> Settings:
    try:
        settings = load_settings()
    except SettingsError as exc:
        _fail(str(exc), 2)
    logging.basicConfig(
        level=settings.python_log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Tortoise logs every open/close at INFO; only its problems are worth an operator's attention.
    logging.getLogger("tortoise").setLevel(max(settings.python_log_level, logging.WARNING))
    for name in unknown_variables(dict(os.environ)):
        logging.getLogger("andon").warning(
            "ignoring %s: not a known setting (see docs/configuration.md)", name
        )
    return settings


def _require(settings: Settings, *needed: str) -> None:
    """Stop with one line naming the setting when a service the command needs (and that is configured)
    cannot be used: database, redis, mqtt, smtp (gateway/preflight.py)."""
    from gateway.preflight import Unusable, check_services

    try:
        asyncio.run(check_services(settings, needed))
    except Unusable as exc:
        _fail(str(exc))


def _migrate(settings: Settings) -> None:
    from gateway.database import migrate, pending_migrations
    from gateway.preflight import safe_url

    _require(settings, "database")
    try:
        pending = asyncio.run(pending_migrations(settings.database_url))
        asyncio.run(migrate(settings.database_url))
    except Exception as exc:  # any failure: one clear line and a non-zero exit
        cause = " ".join(f"{type(exc).__name__}: {exc}".split())
        _fail(f"ANDON_DATABASE_URL={safe_url(settings.database_url)}: migration failed: {cause}")
    typer.echo(
        f"applied {len(pending)} migration(s): {', '.join(pending)}" if pending else "database is up to date"
    )


@app.command()
def migrate() -> None:
    """Apply the schema migrations of the configured database (idempotent)."""
    _migrate(_settings())


def _serve(settings: Settings) -> None:
    # Every configured service must answer now: a gateway that starts without them looks healthy to
    # its supervisor while it cannot do its work. Checked before the application's (slow) imports.
    _require(settings, "database", "redis", "mqtt", "smtp")

    import uvicorn

    from gateway.app import create_app
    from gateway.database import pending_migrations, sqlite_file_missing
    from gateway.preflight import safe_url
    from gateway.server import GatewayServer
    from gateway.ws_protocol import GatewayWebSocketProtocol

    if sqlite_file_missing(settings.database_url):
        _fail(f"ANDON_DATABASE_URL={settings.database_url}: no database there: run `andon migrate` first")

    try:
        pending = asyncio.run(pending_migrations(settings.database_url))
    except Exception as exc:
        cause = " ".join(f"{type(exc).__name__}: {exc}".split())
        _fail(f"ANDON_DATABASE_URL={safe_url(settings.database_url)}: cannot open the database: {cause}")
    if pending:
        _fail(f"the database is not migrated ({len(pending)} pending): run `andon migrate` first")
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=8,
        # Idle keep-alive connections stay open longer than a load balancer's or a client pool's own
        # idle timeout (60 s for the common ones, 5 s for most HTTP client libraries): the side that
        # closes an idle connection must be the client's, or a request sent on it just as the server
        # closes it is lost (uvicorn's 5 s default equals httpx's and aiohttp's pool expiry).
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        access_log=settings.log_level == "debug",
        lifespan="on",
        ws=GatewayWebSocketProtocol,
    )
    server = GatewayServer(config)
    server.run()
    if not server.started:
        _fail(f"ANDON_HOST/ANDON_PORT: could not start serving on {settings.host}:{settings.port}")


@app.command()
def serve() -> None:
    """Run the gateway until SIGTERM or SIGINT."""
    _serve(_settings())


@app.command()
def demo() -> None:
    """Migrate, create the demo account and serve it."""
    settings = _settings()
    _require(settings, "database", "redis", "mqtt", "smtp")  # before migrating: serving needs them all

    from gateway.demo import ensure_demo_account
    from gateway.scripting import database_session

    _migrate(settings)

    async def prepare() -> str:
        async with database_session(settings):
            return await ensure_demo_account()

    key = asyncio.run(prepare())
    base = f"http://{settings.host}:{settings.port}"
    _simulate_in_background(base, key, settings.mqtt_url)
    typer.echo(
        f"\nAndon demo\n  API:      {base}/api/station\n  OpenAPI:  {base}/api/openapi.json\n"
        f"  Health:   {base}/api/health\n  API key:  {key}\n\n"
        f'  curl -H "X-API-KEY: {key}" {base}/api/station\n'
    )
    sys.stdout.flush()
    _serve(settings)


def _simulate_in_background(base_url: str, api_key: str, mqtt_url: str | None) -> None:
    """The demo's stations, simulated from a daemon thread once the gateway serves (it ends with the process)."""
    import threading

    from gateway.simulator import simulate, wait_until_serving

    async def feed() -> None:
        await wait_until_serving(base_url)
        await _seed_history(base_url, api_key)
        await simulate(base_url=base_url, api_key=api_key, mqtt_url=mqtt_url, first_stopped=240.0)

    def target() -> None:
        try:
            asyncio.run(feed())
        except BaseException:  # a daemon thread: log, never take the server down
            logging.getLogger("andon").exception("the demo simulator stopped")

    threading.Thread(target=target, name="demo-simulator", daemon=True).start()


async def _seed_history(base_url: str, api_key: str) -> None:
    """A week of history for every screen and analysis, before live signals start (they would land
    in the middle of it). The second start of the demo finds it written and goes on at once."""
    import httpx

    typer.echo("demo: writing a week of history (about half a minute on the first start)...")
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base_url, timeout=300.0) as http:
        response = await http.post("/api/admin/seedrun/demo", headers={"X-API-KEY": api_key})
    if response.status_code != 200:
        typer.echo(f"demo: the history could not be written: {response.text}")
        return
    counts = ", ".join(f"{v} {k}" for k, v in response.json()["result"].items())
    typer.echo(f"demo: history ready in {time.monotonic() - started:.0f} s ({counts}); simulator starting")


@app.command()
def simulate(
    api_key: Annotated[
        str, typer.Option(envvar="ANDON_SIMULATE_API_KEY", help="An admin or device key of the account")
    ],
    url: Annotated[
        str | None, typer.Option(help="Gateway base URL (default: http://ANDON_HOST:ANDON_PORT)")
    ] = None,
    plant: Annotated[
        str | None, typer.Option(help="Plant code (default: every station of the account)")
    ] = None,
    duration: Annotated[float | None, typer.Option(help="Seconds to run (default: until Ctrl-C)")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed, for a repeatable run")] = None,
    first_stopped: Annotated[
        float,
        typer.Option(
            help="Seconds the stations with an ongoing stop (if none, the first station) stay stopped (0: none)"
        ),
    ] = 240.0,
) -> None:
    """Simulate a plant's stations: cycles with jitter, micro-stops, long stops with error codes, SKU
    changeovers. Over HTTP, or MQTT when ANDON_MQTT_URL is set."""
    from gateway.simulator import simulate as run_simulation

    settings = _settings()
    _require(settings, "mqtt")  # signals go over MQTT when it is set
    base = url or f"http://{settings.host}:{settings.port}"
    try:
        sent = asyncio.run(
            run_simulation(
                base_url=base,
                api_key=api_key,
                plant_code=plant,
                mqtt_url=settings.mqtt_url,
                duration=duration,
                seed=seed,
                first_stopped=first_stopped,
            )
        )
    except KeyboardInterrupt:
        return
    typer.echo(f"sent {sent} signals")


@account_app.command("create")
def account_create(
    domain: Annotated[str, typer.Option(help="The account's email domain, e.g. acme.com")],
    plant_name: Annotated[str, typer.Option(help="Name of the first plant")],
    account_id: Annotated[str | None, typer.Option(help="Account id (default: a slug of the domain)")] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone of the first plant")] = "UTC",
) -> None:
    """Create an account with its first plant, an admin user and an API key (printed once)."""
    from pydantic import ValidationError

    from gateway.scripting import database_session
    from models.roles import Role
    from resolvers.common.actor import SYSTEM_ACCOUNT, Actor
    from resolvers.common.bodies import NewAccountIn
    from resolvers.common.errors import DomainError
    from resolvers.identity.accounts import create_account

    settings = _settings()
    _require(settings, "database")
    system = Actor(account_id=SYSTEM_ACCOUNT, role=Role.ADMIN, via="system")

    async def run() -> object:
        async with database_session(settings):
            data = NewAccountIn.model_validate(
                {"domain": domain, "plantName": plant_name, "accountId": account_id, "timezone": timezone}
            )
            return await create_account(actor=system, data=data)

    try:
        typer.echo(json.dumps(asyncio.run(run()), indent=2))
    except (DomainError, ValidationError) as exc:
        _fail(str(exc).splitlines()[0] if isinstance(exc, DomainError) else str(exc).replace("\n", " "))


@apikey_app.command("create")
def apikey_create(
    account: Annotated[str, typer.Option(help="Account id")],
    email: Annotated[str, typer.Option(help="User the key belongs to (created if missing)")],
    role: Annotated[str, typer.Option(help="Role of a new user: read-only … admin")] = "admin",
    key_role: Annotated[str | None, typer.Option(help="Lower role for the key, or `device`")] = None,
    name: Annotated[str, typer.Option(help="Label of the key")] = "cli",
) -> None:
    """Create an API key and print its secret (shown once)."""
    from gateway.scripting import database_session
    from models.identity import User
    from models.roles import USER_ROLES, Role
    from models.tenancy import Account
    from resolvers.identity.api_keys import issue_api_key

    if role not in {r.value for r in USER_ROLES}:
        _fail(f"--role must be one of {', '.join(r.value for r in USER_ROLES)}")
    if key_role is not None and key_role not in {r.value for r in Role}:
        _fail(f"--key-role must be one of {', '.join(r.value for r in Role)}")
    settings = _settings()
    _require(settings, "database")

    async def run() -> object:
        async with database_session(settings):
            if not await Account.filter(id=account).exists():
                _fail(f"no account {account!r}")
            user, _ = await User.get_or_create(
                account_id=account, email=email.lower(), defaults={"role": role}
            )
            return await issue_api_key(user=user, name=name, role=Role(key_role) if key_role else None)

    typer.echo(json.dumps(asyncio.run(run()), indent=2))


@app.command("send-daily-summary")
def send_daily_summary(
    account: Annotated[str, typer.Option(help="Account id")],
    date: Annotated[str, typer.Option(help="The plant day, YYYY-MM-DD (the date it begins on)")],
    plant: Annotated[
        str | None, typer.Option(help="Plant code (default: every plant of the account)")
    ] = None,
    resend: Annotated[
        bool, typer.Option(help="Send again to recipients who already had this day's summary")
    ] = False,
) -> None:
    """Send the daily summary of a plant day now, through the outbox (exactly once unless --resend)."""
    from datetime import date as Date

    from gateway.scripting import database_session
    from models.outbox import KIND_DAILY_SUMMARY, OutboxMessage, day_ref
    from models.tenancy import Plant
    from models.timefmt import utc_now
    from notifications.mailer import build_mailer
    from notifications.sender import OutboxSender
    from resolvers.analysis.daily_summary import enqueue_plant_summary

    try:
        day = Date.fromisoformat(date)
    except ValueError:
        _fail(f"--date must be a date like 2025-05-01, got {date!r}")
    settings = _settings()
    _require(settings, "database", "smtp")  # it sends through ANDON_SMTP_URL itself when that is set
    now = utc_now()  # read once: the resend's key and the rows' due time are the same moment
    suffix = f":manual:{now.isoformat(timespec='seconds')}" if resend else ""

    async def run() -> tuple[int, int, int]:
        async with database_session(settings):
            plants = Plant.filter(account_id=account)
            if plant is not None:
                plants = plants.filter(code=plant)
            chosen = await plants.order_by("code")
            if not chosen:
                _fail(f"no plant {plant!r} in account {account!r}" if plant else f"no account {account!r}")
            refs = [day_ref(p.id, day, suffix) for p in chosen]
            for p in chosen:
                await enqueue_plant_summary(
                    account_id=account, plant_id=p.id, day=day, now=now, suffix=suffix
                )
            sender = OutboxSender(lambda: build_mailer(settings.smtp_url, settings.outbox_dir))
            while await sender.deliver_due(refs=refs):
                pass
            rows = OutboxMessage.filter(kind=KIND_DAILY_SUMMARY, subject_ref__in=refs)
            return (
                await rows.filter(sent_at__isnull=False).count(),
                await rows.filter(sent_at__isnull=True, failed_at__isnull=True).count(),
                await rows.filter(failed_at__isnull=False).count(),
            )

    sent, waiting, refused = asyncio.run(run())
    typer.echo(f"daily summary for {day.isoformat()}: {sent} sent, {waiting} waiting, {refused} refused")
    if waiting or refused:
        _fail("some summaries were not delivered: the gateway retries waiting ones (see its log)")


def main() -> None:
    app()
