"""Generated GraphQL documents (hypothesis-graphql) against the in-process gateway with an admin key:
whatever the document, the answer is never an HTTP 5xx and never an `internal_error`. Bounded: a
fixed number of derandomized examples, so the run is the same each time and takes seconds."""

from __future__ import annotations

import pytest
from graphql import GraphQLSchema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema

from schema.app import build_schema
from tests.conftest import Tenant

SCHEMA: GraphQLSchema = build_schema()._schema
LONG = st.one_of(st.integers(), st.text(max_size=30))
FUZZ = settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def assert_answered(tenant: Tenant, document: str) -> None:
    response = tenant.client.post("/graphql", json={"query": document}, headers=tenant.headers())
    assert response.status_code < 500, (document, response.text)
    if response.headers.get("content-type", "").startswith("application/json"):
        for error in response.json().get("errors") or []:
            code = (error.get("extensions") or {}).get("code")
            assert code and code != "internal_error", (document, error)


@pytest.fixture(scope="module")
def fuzzed(client: object) -> Tenant:
    from tests.conftest import new_tenant

    return new_tenant(client)  # type: ignore[arg-type]  # the session's TestClient


@FUZZ
@given(document=from_schema(SCHEMA, custom_scalars={"Long": LONG}))
def test_generated_queries_and_mutations_never_fail_inside(fuzzed: Tenant, document: str) -> None:
    assert_answered(fuzzed, document)


@FUZZ
@given(document=from_schema(SCHEMA, custom_scalars={"Long": LONG}, mode=Mode.NEGATIVE))
def test_generated_invalid_documents_are_typed_errors(fuzzed: Tenant, document: str) -> None:
    assert_answered(fuzzed, document)
