"""The process's metrics as the in-process gateway counts them (resolvers.common.metrics.REGISTRY): requests by
route template, the lease holder's job runs, and /metrics refused to a client that is not loopback.

The exposition itself, its token and the gauges read at scrape time are tests/test_health.py's (a
gateway process, reached over 127.0.0.1).
"""

from __future__ import annotations

import time

from starlette.testclient import TestClient

from resolvers.common.metrics import REGISTRY
from tests.conftest import Tenant
from tests.helpers.waiting import poll

JOB_SECONDS = 15.0  # the lease may first have to expire on another instance (ANDON_LEASE_TTL_SECONDS)


def _requests(route: str, method: str, status: int) -> float:
    labels = {"route": route, "method": method, "status": str(status)}
    return REGISTRY.get_sample_value("andon_http_requests_total", labels) or 0.0


def test_requests_are_counted_by_route_template_method_and_status(tenant: Tenant) -> None:
    listed = _requests("/api/station", "GET", 200)
    event = _requests("/api/issue/{id}/event", "POST", 404)
    unmatched = _requests("unmatched", "GET", 404)

    tenant.ok(tenant.get("/api/station"))
    missing_issue = tenant.post("/api/issue/987654321/event", {"type": "acknowledge"})
    assert missing_issue.status_code == 404, missing_issue.text
    for path in ("/api/no-such-path-1", "/api/no-such-path-2", "/no/such/page"):
        assert tenant.get(path).status_code == 404

    assert _requests("/api/station", "GET", 200) == listed + 1
    assert _requests("/api/issue/{id}/event", "POST", 404) == event + 1  # the template, never the id
    assert _requests("unmatched", "GET", 404) == unmatched + 3  # unknown paths make no new series
    assert (
        REGISTRY.get_sample_value(
            "andon_http_requests_total", {"route": "/api/no-such-path-1", "method": "GET", "status": "404"}
        )
        is None
    )


def test_the_lease_holder_stamps_each_job_when_it_completes(client: TestClient) -> None:
    started = time.time()

    def stamps() -> dict[str, float]:
        return {
            job: REGISTRY.get_sample_value("andon_leader_job_last_run_timestamp_seconds", {"job": job}) or 0.0
            for job in ("ingest-watermark", "detection-and-status", "window-closing", "escalation-timer")
        }

    after = poll(stamps, lambda s: min(s.values()) >= started, timeout=JOB_SECONDS)
    assert min(after.values()) >= started, after
    assert max(after.values()) <= time.time()


def test_metrics_are_refused_to_a_client_that_is_not_loopback_without_a_token(client: TestClient) -> None:
    # The in-process client's address is `testclient`: neither loopback nor a token (none configured).
    before = _requests("/metrics", "GET", 403)
    response = client.get("/metrics")
    assert response.status_code == 403, response.text
    assert "ANDON_METRICS_TOKEN" in response.text
    assert _requests("/metrics", "GET", 403) == before + 1
