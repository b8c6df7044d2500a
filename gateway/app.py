"""create_app(): the Starlette application with its lifespan (database, bus, authenticator)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from importlib.metadata import PackageNotFoundError, version

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route, WebSocketRoute
from tortoise.contrib.starlette import RegisterTortoise

import rest_compat.routes  # noqa: F401  # registers every /api path
from gateway import probes
from gateway.body_limit import BodyLimit
from gateway.database import tortoise_config
from gateway.gc_tuning import tune_gc
from gateway.health import Health
from gateway.metrics_route import RequestMetrics, metrics_route
from gateway.settings import Settings
from notifications.mailer import build_mailer
from notifications.scheduler import NotificationSchedule
from notifications.sender import OutboxSender
from realtime.bus import Bus, LocalBus
from realtime.hub import ChangeHub
from realtime.leader import Job, Schedule
from realtime.mqtt_ingest import MqttIngest, MqttOptions
from realtime.redis_bus import RedisBus
from realtime.sockets import LiveSockets
from realtime.timers import ingest_mark_ticker, leader_ticker, leadership
from resolvers.common.changes import install_publisher
from resolvers.common.errors import DomainError, ErrorCode
from resolvers.common.metrics import INGEST_LAG, OUTBOX_BACKLOG
from resolvers.common.read_cache import ReadCache, install_read_cache
from resolvers.identity.authentication import Authenticator, FailureLimiter
from resolvers.mail.delivery import backlog as outbox_backlog
from resolvers.mail.retention import prune_outbox
from resolvers.signals.watermarks import forget_mark
from rest_compat import responses
from rest_compat.endpoint import ENDPOINTS, api_routes
from schema.app import GatewayGraphQL, build_schema

log = logging.getLogger(__name__)

# Reminders are due on whole minutes (ESCALATION_REPEAT_MINUTES): a look every second is plenty.
REMINDER_CHECK_SECONDS = 1.0
# Retention is housekeeping: hourly, last in the lease holder's tick.
OUTBOX_PRUNE_SECONDS = 3600.0


def _mail_jobs(settings: Settings, schedule: NotificationSchedule) -> Schedule:
    """The mail work of the lease holder only, like the other clock-driven work: the outbox's unique
    key would keep a second instance from sending twice, but not from doing the work twice."""
    jobs: list[tuple[str, Job, float]] = [
        ("escalation-reminders", schedule.reminders, REMINDER_CHECK_SECONDS),
        ("daily-summaries", schedule.summaries, settings.daily_summary_check_seconds),
    ]
    if settings.outbox_retention_days:
        keep = timedelta(days=settings.outbox_retention_days)

        async def prune(now: datetime) -> None:
            await prune_outbox(now=now, keep=keep)

        jobs.append(("outbox-retention", prune, OUTBOX_PRUNE_SECONDS))
    return jobs


def _version() -> str:
    try:
        return version("andon")
    except PackageNotFoundError:
        return "0.0.0"


def build_bus(settings: Settings) -> Bus:
    return RedisBus(settings.redis_url) if settings.redis_url else LocalBus()


def _probes(settings: Settings, bus: Bus, ingest: MqttIngest | None) -> dict[str, probes.Probe]:
    async def bus_state() -> str:
        return bus.state()

    async def ingest_state() -> str:
        # The ingestion's own connection: its state is what matters, no extra probe connection needed.
        return ingest.state if ingest is not None else "disabled"

    every = settings.health_probe_seconds
    return {
        "database": probes.Watched(probes.cached(probes.database, every)),
        "bus": bus_state,
        "mqtt": ingest_state,
        # Without ANDON_SMTP_URL mail goes to the outbox folder: that folder is the mailer then.
        "mailer": probes.Watched(
            probes.cached(probes.smtp(settings.smtp_url), every)
            if settings.smtp_url
            else probes.cached(probes.outbox_folder(settings.outbox_dir), every)
        ),
    }


async def _collect_gauges(ingest: MqttIngest | None) -> None:
    """The gauges read at scrape time rather than counted as things happen."""
    INGEST_LAG.set(ingest.lag_seconds(time.time()) if ingest is not None else 0.0)
    try:
        OUTBOX_BACKLOG.set(await outbox_backlog())
    except Exception as exc:  # the database may be down: the rest of the exposition still helps
        log.warning("outbox backlog not read for /metrics: %s", exc)


def _mqtt_ingest(settings: Settings) -> MqttIngest | None:
    if not settings.mqtt_url:
        return None
    return MqttIngest(
        MqttOptions(
            url=settings.mqtt_url,
            client_id=settings.mqtt_client_id,
            shared=settings.mqtt_shared,
            flush_seconds=settings.mqtt_flush_seconds,
            batch_max=settings.mqtt_batch_max,
            max_payload_bytes=settings.mqtt_max_payload_bytes,
            unhealthy_after_seconds=settings.health_ingest_failing_seconds,
            lag_limit_seconds=settings.health_ingest_lag_seconds,
        )
    )


def _lifespan(settings: Settings):  # type: ignore[no-untyped-def]  # Starlette's lifespan protocol
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with RegisterTortoise(app, config=tortoise_config(settings.database_url)):
            bus = build_bus(settings)
            authenticator = Authenticator(
                limiter=FailureLimiter(settings.auth_fail_limit, settings.auth_fail_window_seconds),
                system_key=settings.system_api_key,
                cache_seconds=settings.credential_cache_seconds,
                cache_trusted=lambda: bus.reliable,
            )
            read_cache = ReadCache(ttl_seconds=settings.read_cache_seconds, trusted=lambda: bus.reliable)
            hub = ChangeHub()
            sockets = LiveSockets(authenticator)
            bus.subscribe(authenticator.on_change)
            bus.subscribe(read_cache.on_change)
            bus.subscribe(hub.on_change)
            bus.subscribe(sockets.on_change)  # after the authenticator: its cache is already cleared
            bus.on_reconnect(hub.resync)
            await bus.start()
            install_publisher(bus)
            install_read_cache(read_cache)
            ingest = _mqtt_ingest(settings)
            sender = OutboxSender(
                lambda: build_mailer(settings.smtp_url, settings.outbox_dir),
                poll_seconds=settings.mail_poll_seconds,
                retry_max_seconds=settings.mail_retry_max_seconds,
            )
            schedule = NotificationSchedule(sender.wake)
            lead = leadership(
                offline_after=settings.offline_after_seconds,
                window_grace=settings.window_close_grace_seconds,
                lease_ttl=settings.lease_ttl_seconds,
                lease_renew=settings.lease_renew_seconds,
                behind_since=ingest.behind_since if ingest is not None else None,
                more=_mail_jobs(settings, schedule),
            )
            timers = [leader_ticker(lead, settings.timer_interval_seconds)]
            if ingest is not None:
                ingest.start()
                timers.append(
                    ingest_mark_ticker(lead.holder, ingest.behind_since, settings.timer_interval_seconds)
                )
            for timer in timers:
                timer.start()
            bus.subscribe(sender.on_change)
            sender.start()
            tune_gc()
            app.state.bus = bus
            app.state.authenticator = authenticator
            app.state.hub = hub
            app.state.sockets = sockets
            app.state.probes = _probes(settings, bus, ingest)
            app.state.health = Health(
                probes=app.state.probes,
                bus=bus,
                bus_configured=settings.redis_url is not None,
                # The ingestion's own verdict: it knows when its connection went down.
                ingest_problem=(lambda: ingest.health(time.time())) if ingest is not None else (lambda: None),
                sender=sender,
                mailer_failing_seconds=settings.health_mailer_failing_seconds,
                lead=lead,
                timer_interval=settings.timer_interval_seconds,
            )
            app.state.collect_gauges = lambda: _collect_gauges(ingest)
            app.state.leadership = lead
            app.state.ingest = ingest
            try:
                yield
            finally:
                if ingest is not None:
                    await ingest.stop()
                for timer in timers:
                    await timer.stop()
                await lead.resign()
                if ingest is not None:
                    await forget_mark(lead.holder)
                await sender.stop()
                install_publisher(None)
                install_read_cache(None)
                await bus.stop()

    return lifespan


async def _not_found(request: Request) -> Response:
    """Unknown /api path → 404 JSON; a known path with another method → 405 JSON."""
    allowed = sorted({ep.method for ep in ENDPOINTS if _path_matches(request, ep.path)})
    if allowed:
        exc = DomainError(
            ErrorCode.METHOD_NOT_ALLOWED, f"{request.method} is not allowed here; use {', '.join(allowed)}"
        )
        response = responses.error(exc)
        response.headers["Allow"] = ", ".join(allowed)
        return response
    return responses.error(DomainError(ErrorCode.NOT_FOUND, f"no such path: {request.url.path}"))


def _path_matches(request: Request, path: str) -> bool:
    match, _ = Route(path, _not_found).matches({**request.scope, "method": "GET", "type": "http"})
    return match is not Match.NONE


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return await _not_found(request)
    code = {405: ErrorCode.METHOD_NOT_ALLOWED, 413: ErrorCode.PAYLOAD_TOO_LARGE}.get(
        exc.status_code, ErrorCode.VALIDATION
    )
    response = responses.error(DomainError(code, str(exc.detail)))
    # Starlette's 405 carries the route's Allow header (any method, TRACE included): keep it.
    response.headers.update(exc.headers or {})
    return response


async def _server_error(request: Request, exc: Exception) -> Response:
    # Logged with its traceback here; the client gets a stable body and never the traceback.
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return responses.error(DomainError(ErrorCode.INTERNAL, "internal error; it has been logged"))


def create_app(settings: Settings) -> Starlette:
    graphql = GatewayGraphQL(build_schema(settings.graphql_max_cost), allowed_origins=settings.origins)
    routes: list[BaseRoute] = [
        Route("/graphql", BodyLimit(graphql, settings.max_body_bytes), methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
    ]
    routes += api_routes()
    catch_all = Route(
        "/api/{rest:path}",
        _not_found,
        methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
    )
    routes.append(catch_all)

    async def collect() -> None:
        await app.state.collect_gauges()

    routes.append(metrics_route(settings.metrics_token, collect))
    app = Starlette(
        routes=routes,
        lifespan=_lifespan(settings),
        exception_handlers={HTTPException: _http_exception, Exception: _server_error},
        middleware=[Middleware(RequestMetrics, unmatched=lambda route: route is catch_all)],
    )
    app.state.settings = settings
    app.state.graphql = graphql  # its shared subscription feeds are inspected by tests and benchmarks
    app.state.version = _version()
    app.state.openapi = None
    return app
