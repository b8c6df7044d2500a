"""/api/health and /api/openapi.json (no credential)."""

from __future__ import annotations

from starlette.responses import Response

from resolvers.signals.stats import STATS
from rest_compat.endpoint import ENDPOINTS, Call, endpoint
from rest_compat.openapi import build_openapi
from rest_compat.responses import JSON


@endpoint(
    "GET",
    "/api/health",
    "State of the database, bus, MQTT and mailer",
    tag="Health Check",
    auth="none",
    envelope="raw",
)
async def get_health(call: Call) -> Response:
    # The gateway's health report (gateway/health.py): every component's state, and the reasons the
    # instance is degraded (none when healthy).
    state, reasons = await call.request.app.state.health.report()
    healthy = not reasons
    body: dict[str, object] = {"status": "ok" if healthy else "degraded", **state}
    if reasons:
        body["reason"] = "; ".join(reasons)
        body["reasons"] = reasons
    # Signal counters of this instance (dropped by kind) and whether it runs the clock-driven work.
    lead = getattr(call.request.app.state, "leadership", None)
    body["signals"] = {**STATS.snapshot(), "timers": "leader" if lead and lead.leading else "standby"}
    # The same object at top level (for probes) and as `result` (for envelope-reading clients).
    return JSON({"isSuccess": healthy, **body, "result": body}, status_code=200 if healthy else 503)


@endpoint("GET", "/api/openapi.json", "This OpenAPI 3.1 document", tag="OpenAPI", auth="none", envelope="raw")
async def get_openapi(call: Call) -> Response:
    state = call.request.app.state
    if getattr(state, "openapi", None) is None:
        state.openapi = JSON(build_openapi(ENDPOINTS, state.version)).body
    return Response(state.openapi, media_type="application/json")
