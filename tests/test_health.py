"""GET /api/health as a load balancer reads it (503 `degraded` with the reasons while a component fails,
200 again once it recovers), and GET /metrics as a scraper reads it, with its protection.

The outages are real where they can be: the test's own SMTP server, Redis and Mosquitto are stopped
and started again under a gateway process. A failing database probe and a lease holder whose
detection job keeps failing are injected faults in the session's in-process gateway.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

import gateway.probes
import realtime.timers
from tests.conftest import SYSTEM_KEY, new_tenant
from tests.gateway_process import running_gateway
from tests.helpers.mail import layout, start_issue, user
from tests.helpers.servers import OwnServer, mosquitto, redis_server
from tests.helpers.waiting import poll
from tests.smtp_sink import SmtpSink

# Longer than every threshold and probe cache used below (the session app's probes are cached 2 s, its
# detection job is overdue after 3 x 0.5 s + 2 s), short enough for a failure to read clearly.
CHANGE_SECONDS = 10.0
METRICS_TOKEN = "metrics-token-0123456789abcdef"


def _health(http: httpx.Client | TestClient) -> httpx.Response:
    return http.get("/api/health")


def _until(http: httpx.Client | TestClient, status: int) -> httpx.Response:
    """The health answer once it has `status` (or the last one after CHANGE_SECONDS)."""
    return poll(lambda: _health(http), lambda r: r.status_code == status, timeout=CHANGE_SECONDS)


def _degraded_by(response: httpx.Response, component: str) -> None:
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "degraded" and body["isSuccess"] is False, body
    assert any(r.startswith(f"{component}: ") for r in body["reasons"]), body
    assert component in body["reason"], body
    assert body["result"]["reasons"] == body["reasons"]


def _healthy(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok" and "reason" not in body and "reasons" not in body, body


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


# --------------------------------------------------------------------------------------------------
# The session's in-process gateway: injected faults
# --------------------------------------------------------------------------------------------------


class _Unreachable:
    def get(self, name: str) -> Any:
        raise ConnectionError("injected: the database does not answer")


def test_a_failing_database_probe_degrades_health_until_it_answers_again(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _healthy(_until(client, 200))
    monkeypatch.setattr(gateway.probes, "connections", _Unreachable())
    _degraded_by(_until(client, 503), "database")
    monkeypatch.undo()
    _healthy(_until(client, 200))


def test_a_lease_holder_whose_detection_job_stops_completing_is_degraded(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    leading = poll(lambda: _health(client).json()["signals"]["timers"], lambda t: t == "leader", timeout=15)
    assert leading == "leader", "the session gateway never took the timers lease"
    _healthy(_until(client, 200))

    async def failing(**kwargs: Any) -> None:
        raise RuntimeError("injected: detection fails")

    monkeypatch.setattr(realtime.timers, "detect_and_refresh", failing)
    degraded = _until(client, 503)
    _degraded_by(degraded, "timers")
    assert "detection-and-status" in degraded.json()["reason"]
    monkeypatch.undo()
    _healthy(_until(client, 200))


# --------------------------------------------------------------------------------------------------
# Gateway processes and real outages
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def own_services(tmp_path: Path) -> Iterator[tuple[OwnServer, OwnServer]]:
    """A Redis and a Mosquitto of the test's own (stopping the session's would disturb other tests)."""
    redis, broker = redis_server(tmp_path), mosquitto(tmp_path)
    redis.start()
    broker.start()
    try:
        yield redis, broker
    finally:
        redis.stop()
        broker.stop()


@pytest.mark.backend_independent  # its database is named in the test, whatever the backend
def test_a_broker_or_redis_outage_degrades_health_and_metrics_want_the_token(
    tmp_path: Path, own_services: tuple[OwnServer, OwnServer]
) -> None:
    redis, broker = own_services
    env = {
        "ANDON_DATABASE_URL": f"sqlite://{tmp_path / 'andon.db'}",
        "ANDON_REDIS_URL": f"redis://127.0.0.1:{redis.port}/0",
        "ANDON_MQTT_URL": f"mqtt://127.0.0.1:{broker.port}",
        "ANDON_HEALTH_INGEST_FAILING_SECONDS": "0",
        "ANDON_METRICS_TOKEN": METRICS_TOKEN,
    }
    with running_gateway(env, tmp_path) as gw, gw.client() as http:
        _healthy(_until(http, 200))
        broker.stop()
        _degraded_by(_until(http, 503), "mqtt")
        broker.start()
        _healthy(_until(http, 200))
        redis.stop()
        _degraded_by(_until(http, 503), "bus")
        redis.start()
        _healthy(_until(http, 200))

        assert http.get("/metrics").status_code == 401
        wrong = http.get("/metrics", headers={"Authorization": "Bearer " + "x" * len(METRICS_TOKEN)})
        assert wrong.status_code == 401
        scraped = http.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert scraped.status_code == 200, scraped.text
    assert scraped.headers["content-type"].startswith("text/plain; version=")
    samples = _samples(scraped.text)
    assert samples[("andon_mqtt_ingest_lag_seconds", ())] == 0.0  # caught up: nothing waits
    health_503 = (
        "andon_http_requests_total",
        (("method", "GET"), ("route", "/api/health"), ("status", "503")),
    )
    assert samples[health_503] >= 2, "the degraded answers were not counted by route and status"


BACKLOG = ("andon_outbox_backlog", ())
FAILURES = ("andon_outbox_failures_total", ())


@pytest.mark.backend_independent  # its database is named in the test, whatever the backend
def test_an_smtp_outage_degrades_health_and_shows_in_the_outbox_metrics_on_loopback(tmp_path: Path) -> None:
    sink = SmtpSink()
    sink.start()
    env = {
        "ANDON_DATABASE_URL": f"sqlite://{tmp_path / 'andon.db'}",
        "ANDON_SYSTEM_API_KEY": SYSTEM_KEY,
        "ANDON_SMTP_URL": sink.url,
        "ANDON_MAIL_POLL_SECONDS": "0.2",
        "ANDON_MAIL_RETRY_MAX_SECONDS": "0.5",
        "ANDON_HEALTH_MAILER_FAILING_SECONDS": "0",
        "ANDON_HEALTH_PROBE_SECONDS": "0",
    }
    try:
        with running_gateway(env, tmp_path) as gw, gw.client() as http:
            _healthy(_until(http, 200))
            tenant = new_tenant(http)  # type: ignore[arg-type]  # the helpers need only get and post
            layout(tenant)
            fan, _ = user(tenant, "fan", {"g1": ["issue"]})

            def scrape() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
                response = http.get("/metrics")  # from 127.0.0.1, no token configured
                assert response.status_code == 200, response.text
                return _samples(response.text)

            sink.stop()
            start_issue(tenant)
            _degraded_by(_until(http, 503), "mailer")
            waiting = poll(scrape, lambda s: s[BACKLOG] >= 1 and s[FAILURES] >= 1, timeout=CHANGE_SECONDS)
            assert waiting[BACKLOG] >= 1 and waiting[FAILURES] >= 1, waiting
            # Through the trusted local proxy on behalf of another host: not a loopback client.
            assert http.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 403

            sink.start()
            _healthy(_until(http, 200))
            assert sink.wait(lambda: len(sink.to(fan)) == 1, CHANGE_SECONDS), "the email never came"
            drained = poll(scrape, lambda s: s[BACKLOG] == 0, timeout=CHANGE_SECONDS)
            assert drained[BACKLOG] == 0, drained
    finally:
        sink.stop()
