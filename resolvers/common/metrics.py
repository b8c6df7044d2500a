"""The process's Prometheus metrics: every layer counts into these, the gateway exposes them at /metrics.

One registry of our own (not prometheus-client's global one), so that nothing a library registers
by default leaks into the exposition and a test can read exact values with `REGISTRY.get_sample_value`.
Label values are bounded sets (route templates, error codes, job names, reasons): never an account,
a station code or a raw path, which would make the series count grow with the input.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "andon_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
GRAPHQL_OPERATIONS = Counter(
    "andon_graphql_operations",
    "GraphQL operations executed, by type (query, mutation, subscription) and transport (http, ws).",
    ["type", "transport"],
    registry=REGISTRY,
)
GRAPHQL_ERRORS = Counter(
    "andon_graphql_errors",
    "GraphQL errors returned to clients, by extensions.code.",
    ["code"],
    registry=REGISTRY,
)
SOCKETS_OPEN = Gauge("andon_websockets_open", "Open GraphQL websockets.", registry=REGISTRY)
SUBSCRIPTIONS_ACTIVE = Gauge(
    "andon_subscriptions_active", "Active GraphQL subscriptions over all sockets.", registry=REGISTRY
)
FRAMES_SENT = Counter("andon_ws_frames_sent", "Websocket frames sent to clients.", registry=REGISTRY)
MQTT_RECEIVED = Counter("andon_mqtt_received", "MQTT messages received.", registry=REGISTRY)
MQTT_APPLIED = Counter("andon_mqtt_applied", "MQTT signals applied to a station.", registry=REGISTRY)
MQTT_DEAD_LETTERS = Counter(
    "andon_mqtt_dead_letters",
    "MQTT messages set aside (acknowledged, not applied), by reason.",
    ["reason"],
    registry=REGISTRY,
)
INGEST_LAG = Gauge(
    "andon_mqtt_ingest_lag_seconds",
    "Seconds since the oldest received but not yet applied MQTT message arrived (0 when none waits).",
    registry=REGISTRY,
)
OUTBOX_BACKLOG = Gauge("andon_outbox_backlog", "Emails in the outbox not yet sent.", registry=REGISTRY)
OUTBOX_FAILURES = Counter("andon_outbox_failures", "Failed attempts to send an email.", registry=REGISTRY)
LEADER_JOB_LAST_RUN = Gauge(
    "andon_leader_job_last_run_timestamp_seconds",
    "Unix time at which a lease holder's job last finished without an error, by job.",
    ["job"],
    registry=REGISTRY,
)
