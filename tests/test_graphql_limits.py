"""GraphQL limits and client mistakes (docs/graphql.md, "Limits" and "Errors"): bounded variables, codes
that fit their columns, the cost budget checked before anything runs, every client mistake a typed
error (never `internal_error`, never an ERROR log line), websocket garbage closed with 4400, a
subscription whose document fails answered with an `error` message, and the GraphQL metrics."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from resolvers.common.metrics import REGISTRY
from tests.conftest import Tenant
from tests.helpers.graphql import data_of, gql
from tests.helpers.waiting import poll

LONG_CODE = "S" * 33
# The budget of schema/limits.py.
MAX_COST = 100_000
COSTLY = 'a{i}: downtimeAnalysis(plantCode: $plant, rangeCode: "last-30-days", aggregateWindow: "hour") {{ range {{ duration }} }}'


@pytest.fixture
def no_error_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Client mistakes are answers, not faults: nothing may be logged at ERROR."""
    with caplog.at_level(logging.ERROR):
        yield
    # Read in teardown: the records of the test's call phase.
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


def error_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["errors"], body
    return body["errors"][0]  # type: ignore[no-any-return]


def code_of(response: Any) -> str:
    return str(error_of(response)["extensions"]["code"])


# --------------------------------------------------------------------------- variables and documents


def test_variables_nested_five_thousand_deep_are_a_400_not_a_500(tenant: Tenant, no_error_logs: None) -> None:
    body = '{"query": "query Q($x: [String!]) { stations(stationCodes: $x) { code } }", "variables": {"x": '
    body += "[" * 5000 + "]" * 5000 + "}}"
    response = tenant.client.post(
        "/graphql", content=body, headers={**tenant.headers(), "content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    # Within the decoder's reach but deeper than the bound: a typed error, nothing run.
    deep = json.loads("[" * 50 + "]" * 50)
    query = "query Q($x: [String!]) { stations(stationCodes: $x) { code } }"
    response = gql(tenant.client, query, {"x": deep}, headers=tenant.headers())
    assert code_of(response) == "BAD_USER_INPUT" and "nested" in error_of(response)["message"]


@pytest.mark.parametrize("body", ["5", "null", '"query"', "true"])
def test_a_body_that_is_json_but_not_an_object_is_a_400(
    tenant: Tenant, body: str, no_error_logs: None
) -> None:
    headers = {**tenant.headers(), "content-type": "application/json"}
    response = tenant.client.post("/graphql", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert "JSON object" in response.text


def test_a_list_argument_longer_than_a_page_is_refused(tenant: Tenant) -> None:
    query = "query Q($x: [String!]) { stations(stationCodes: $x) { code } }"
    response = gql(tenant.client, query, {"x": ["S1"] * 1001}, headers=tenant.headers())
    assert code_of(response) == "BAD_USER_INPUT"
    assert data_of(gql(tenant.client, query, {"x": ["S1"] * 1000}, headers=tenant.headers())) is not None


def test_an_absurdly_deep_document_is_a_typed_validation_error(tenant: Tenant, no_error_logs: None) -> None:
    response = gql(tenant.client, "query {" + " me {" * 3000 + "}" * 3000 + "}", headers=tenant.headers())
    assert code_of(response) == "GRAPHQL_VALIDATION_FAILED"
    many = "query {" + " ".join(f"a{i}: me {{ role }}" for i in range(2000)) + "}"
    assert code_of(gql(tenant.client, many, headers=tenant.headers())) == "GRAPHQL_VALIDATION_FAILED"


# --------------------------------------------------------------------------- typed client mistakes

CODE_FIELDS = [
    'station(code: "{c}") {{ code }}',
    'stations(stationCodes: ["{c}"]) {{ code }}',
    'stations(plantCode: "{c}") {{ code }}',
    'stationGroups(plantCode: "{c}") {{ code }}',
    'issues(plantCode: "{c}") {{ nodes {{ id }} }}',
    'issues(stationCodes: ["{c}"]) {{ nodes {{ id }} }}',
    'ongoingIssues(stationCodes: ["{c}"]) {{ id }}',
    'unreportedDowntimeCounts(stationCodes: ["{c}"], rangeCode: "today") {{ count }}',
    'downtimeAnalysis(plantCode: "{c}", rangeCode: "today") {{ range {{ duration }} }}',
    'downtimeAnalysis(plantCode: "P", rangeCode: "today", stationCodes: ["{c}"]) {{ range {{ duration }} }}',
    'downtimeAnalysis(plantCode: "P", rangeCode: "today", skuCodes: ["{c}"]) {{ range {{ duration }} }}',
    'stationWindows(stationCodes: ["{c}"]) {{ stationCode }}',
    'stationWindows(plantCode: "{c}") {{ stationCode }}',
]


@pytest.mark.parametrize("field", CODE_FIELDS)
def test_a_code_longer_than_its_column_is_bad_user_input(
    tenant: Tenant, field: str, no_error_logs: None
) -> None:
    response = gql(tenant.client, "query { " + field.format(c=LONG_CODE) + " }", headers=tenant.headers())
    error = error_of(response)
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert "32" in error["message"]


def test_a_cause_code_may_be_longer_than_a_station_code_but_not_than_its_column(tenant: Tenant) -> None:
    ok = gql(tenant.client, 'query { causes(codes: ["%s"]) { code } }' % ("c" * 50), headers=tenant.headers())
    assert code_of(ok) == "not_found"
    long = gql(
        tenant.client, 'query { causes(codes: ["%s"]) { code } }' % ("c" * 51), headers=tenant.headers()
    )
    assert code_of(long) == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        ("query Q($id: Int!) { issue(id: $id) { id } }", {"id": "abc"}),
        ("query Q($id: Int!) { issue(id: $id) { id } }", {}),
        ("query Q($id: Int!) { issue(id: $id) { id } }", {"id": 2**40}),
        ("query Q($c: [String!]!) { ongoingIssues(stationCodes: $c) { id } }", {"c": [1, None]}),
    ],
)
def test_a_variable_of_the_wrong_type_or_missing_is_bad_user_input(
    tenant: Tenant, document: str, variables: dict[str, Any], no_error_logs: None
) -> None:
    assert code_of(gql(tenant.client, document, variables, headers=tenant.headers())) == "BAD_USER_INPUT"


def test_a_subscription_over_http_is_refused_with_a_code(tenant: Tenant, no_error_logs: None) -> None:
    document = "subscription { issueChanged { id } }"
    post = gql(tenant.client, document, headers=tenant.headers())
    assert code_of(post) == "SUBSCRIPTION_NOT_OVER_WEBSOCKET", post.text
    get = tenant.client.get(
        "/graphql", params={"query": document}, headers={**tenant.headers(), "accept": "application/json"}
    )
    assert code_of(get) == "SUBSCRIPTION_NOT_OVER_WEBSOCKET", get.text


# --------------------------------------------------------------------------- cost


def costly(count: int) -> str:
    return "query Costly($plant: String!) { " + " ".join(COSTLY.format(i=i) for i in range(count)) + " }"


def test_thirty_month_long_hourly_analyses_are_refused_before_running(
    tenant: Tenant, no_error_logs: None
) -> None:
    before = REGISTRY.get_sample_value(
        "andon_graphql_operations_total", {"type": "query", "transport": "http"}
    )
    response = gql(tenant.client, costly(30), {"plant": tenant.plant_code}, headers=tenant.headers())
    body = response.json()
    assert body["data"] is None, body
    error = body["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert error["extensions"]["budget"] == MAX_COST and error["extensions"]["cost"] > MAX_COST
    after = REGISTRY.get_sample_value(
        "andon_graphql_operations_total", {"type": "query", "transport": "http"}
    )
    assert after == before, "a refused operation does not run"
    # One such analysis is within the budget.
    data = data_of(gql(tenant.client, costly(1), {"plant": tenant.plant_code}, headers=tenant.headers()))
    assert data["a0"]["range"]["duration"] > 0


DASHBOARD_DOCUMENTS = {
    # bench/graphql_stations.py: the station board.
    "stations": ("{ stations { code name status group { name } } }", {}),
    # bench/fanout.py: the subscription every screen holds.
    "fanout": ('subscription { issueChanged(stationCodes: ["S1"]) { id revision isAcknowledged } }', {}),
    "issue page": (
        "query { issues(first: 100) { nodes { id stationCode station { name } events { type } "
        "causeBreadcrumb { code } } pageInfo { hasNextPage endCursor } } }",
        {},
    ),
    "week by hour": (
        'query($p: String!) { downtimeAnalysis(plantCode: $p, rangeCode: "last-7-days", '
        'aggregateWindow: "hour") { range { duration } results { stationCode oee { oee '
        "stops { code duration } } downtimes { type range { duration } } } } }",
        {"p": "P"},
    ),
}


@pytest.mark.backend_independent
@pytest.mark.parametrize("name", DASHBOARD_DOCUMENTS)
def test_dashboard_documents_cost_well_under_the_budget(name: str) -> None:
    """Priced without running (the price needs no database): what screens send fits with room to spare."""
    from graphql import OperationDefinitionNode, parse

    from schema.app import build_schema
    from schema.limits import operation_cost, operation_problems

    document, variables = DASHBOARD_DOCUMENTS[name]
    parsed = parse(document)
    [operation] = [d for d in parsed.definitions if isinstance(d, OperationDefinitionNode)]
    schema = build_schema()._schema
    assert operation_problems(schema, parsed, operation, variables, over_websocket=True) == []
    cost = operation_cost(schema, parsed, operation, variables)
    assert 0 < cost < MAX_COST / 4, cost  # four at once still fit


def test_a_negative_page_size_does_not_offset_the_price_of_other_fields(tenant: Tenant) -> None:
    negative = "issues(first: -2147483648) { nodes { id events { id } causeBreadcrumb { code } } }"
    document = costly(30).replace("{ a0:", "{ " + negative + " a0:")
    response = gql(tenant.client, document, {"plant": tenant.plant_code}, headers=tenant.headers())
    assert code_of(response) == "QUERY_TOO_COSTLY", response.text


def test_an_issue_page_is_priced_by_its_size(tenant: Tenant) -> None:
    events = "query { issues(first: %d) { nodes { id events { id } station { code } } } }"
    assert data_of(gql(tenant.client, events % 1000, headers=tenant.headers()))["issues"]["nodes"] == []
    aliased = (
        "query { "
        + " ".join(
            f"p{i}: issues(first: 1000) {{ nodes {{ id events {{ id }} causeBreadcrumb {{ code }} }} }}"
            for i in range(5)
        )
        + " }"
    )
    assert code_of(gql(tenant.client, aliased, headers=tenant.headers())) == "QUERY_TOO_COSTLY"


# --------------------------------------------------------------------------- websocket


@contextmanager
def socket(tenant: Tenant) -> Iterator[Any]:
    with tenant.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"apiKey": tenant.api_key}})
        assert ws.receive_json() == {"type": "connection_ack"}
        yield ws


def next_message(ws: Any) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = ws.receive_json()
        if message["type"] not in ("ping", "pong"):
            return message


@pytest.mark.parametrize(
    "frame",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"type": "ping", "payload": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "[1, 2]",
        '{"id": "1", "type": "subscribe", "payload": 5}',
    ],
    ids=["deep-array", "deep-payload", "array", "payload-5"],
)
def test_a_garbage_frame_closes_the_socket_with_4400_and_a_reason(tenant: Tenant, frame: str) -> None:
    with socket(tenant) as ws:
        ws.send_text(frame)
        with pytest.raises(WebSocketDisconnect) as closed:
            next_message(ws)
    assert closed.value.code == 4400 and closed.value.reason


@pytest.mark.parametrize(
    ("document", "variables", "code"),
    [
        ("subscription { issueChanged( { id } }", {}, "GRAPHQL_VALIDATION_FAILED"),
        ("subscription { issueChanged { noSuchField } }", {}, "GRAPHQL_VALIDATION_FAILED"),
        (f'subscription {{ issueChanged(stationCodes: ["{LONG_CODE}"]) {{ id }} }}', {}, "BAD_USER_INPUT"),
        (f'subscription {{ ongoingIssues(plantCode: "{LONG_CODE}") {{ id }} }}', {}, "BAD_USER_INPUT"),
        (
            f'subscription {{ stationStatusChanged(stationCodes: ["{LONG_CODE}"]) {{ status }} }}',
            {},
            "BAD_USER_INPUT",
        ),
        ('subscription { issueChanged(since: "abc") { id } }', {}, "BAD_USER_INPUT"),
        ("subscription S($s: Long) { issueChanged(since: $s) { id } }", {"s": 10**30}, "BAD_USER_INPUT"),
        ("subscription S($s: Long) { issueChanged(since: $s) { id } }", {"s": "12x"}, "BAD_USER_INPUT"),
    ],
)
def test_a_subscription_whose_document_fails_gets_an_error_message(
    tenant: Tenant, document: str, variables: dict[str, Any], code: str, no_error_logs: None
) -> None:
    with socket(tenant) as ws:
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": document, "variables": variables}})
        message = next_message(ws)
        assert message["type"] == "error" and message["id"] == "1", message
        assert message["payload"][0]["extensions"]["code"] == code, message
        # The socket stays usable.
        ws.send_json(
            {"id": "2", "type": "subscribe", "payload": {"query": "subscription { issueChanged { id } }"}}
        )
        ws.send_json({"id": "2", "type": "complete"})


# --------------------------------------------------------------------------- metrics


def value(name: str, labels: dict[str, str] | None = None) -> float:
    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


def test_operations_errors_sockets_and_frames_are_counted(tenant: Tenant) -> None:
    queries = {"type": "query", "transport": "http"}
    before = value("andon_graphql_operations_total", queries)
    data_of(gql(tenant.client, "query { me { role } }", headers=tenant.headers()))
    assert value("andon_graphql_operations_total", queries) == before + 1

    bad = value("andon_graphql_errors_total", {"code": "BAD_USER_INPUT"})
    gql(tenant.client, f'query {{ station(code: "{LONG_CODE}") {{ code }} }}', headers=tenant.headers())
    assert value("andon_graphql_errors_total", {"code": "BAD_USER_INPUT"}) == bad + 1

    sockets = value("andon_websockets_open")
    frames = value("andon_ws_frames_sent_total")
    subscriptions = {"type": "subscription", "transport": "ws"}
    started = value("andon_graphql_operations_total", subscriptions)
    running = value("andon_subscriptions_active")
    with socket(tenant) as ws:
        assert value("andon_websockets_open") == sockets + 1
        ws.send_json(
            {"id": "1", "type": "subscribe", "payload": {"query": "subscription { issueChanged { id } }"}}
        )
        ws.send_json({"id": "x", "type": "subscribe", "payload": {"query": "subscription { nope }"}})
        assert next_message(ws)["type"] == "error"  # the invalid one; the valid one runs meanwhile
        assert value("andon_subscriptions_active") >= 1
        assert value("andon_graphql_operations_total", subscriptions) >= started + 1
        assert value("andon_ws_frames_sent_total") >= frames + 2  # the ack and the error
        ws.send_json({"id": "1", "type": "complete"})
        poll(lambda: value("andon_subscriptions_active"), lambda active: active == running, timeout=5.0)
    # The server side ends the socket's handler after the client has gone.
    poll(lambda: value("andon_websockets_open"), lambda open_now: open_now == sockets, timeout=5.0)


@pytest.mark.backend_independent
def test_the_budget_is_a_setting() -> None:
    import asyncio

    from gateway.settings import load_settings
    from schema.app import build_schema
    from schema.context import Context

    assert load_settings().graphql_max_cost == MAX_COST
    assert load_settings(graphql_max_cost=1000).graphql_max_cost == 1000
    document, _ = DASHBOARD_DOCUMENTS["issue page"]
    # Refused before any resolver runs: no caller, no database needed.
    result = asyncio.run(build_schema(max_cost=1000).execute(document, context_value=Context(actor=None)))
    assert result.errors and result.errors[0].extensions == {
        "code": "QUERY_TOO_COSTLY",
        "cost": 3201,
        "budget": 1000,
    }
