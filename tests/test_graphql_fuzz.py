"""Generated GraphQL documents (hypothesis-graphql) against the in-process gateway with an admin key:
whatever the document, the answer is never an HTTP 5xx and never an `internal_error`. Bounded for
`make test`: a fixed number of derandomized examples, the same each run, in seconds. `make fuzz`
(ANDON_FUZZ_LONG=1) draws fresh random rounds until ANDON_FUZZ_SECONDS have passed."""

from __future__ import annotations

import os
import time

import pytest
from graphql import GraphQLSchema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema
from starlette.testclient import TestClient

from schema.app import build_schema
from tests.conftest import Tenant, new_tenant

# On Postgres: it refuses what SQLite stores (NUL in text, integers past 32 bits), so a fault only it
# would raise shows here.
pytestmark = pytest.mark.postgres

SCHEMA: GraphQLSchema = build_schema()._schema
LONG_SCALAR = st.one_of(st.integers(), st.text(max_size=30))
EXAMPLES = 15
LONG = os.environ.get("ANDON_FUZZ_LONG") == "1"
SECONDS = float(os.environ.get("ANDON_FUZZ_SECONDS", "0"))


def assert_answered(tenant: Tenant, document: str) -> None:
    response = tenant.client.post("/graphql", json={"query": document}, headers=tenant.headers())
    assert response.status_code < 500, (document, response.text)
    if response.headers.get("content-type", "").startswith("application/json"):
        for error in response.json().get("errors") or []:
            code = (error.get("extensions") or {}).get("code")
            assert code and code != "internal_error", (document, error)


def fuzz(tenant: Tenant, mode: Mode) -> None:
    """One derandomized round (make test), or random rounds until the time is up (make fuzz)."""

    @settings(
        max_examples=EXAMPLES,
        derandomize=not LONG,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(document=from_schema(SCHEMA, custom_scalars={"Long": LONG_SCALAR}, mode=mode))
    def round_of(document: str) -> None:
        assert_answered(tenant, document)

    deadline = time.monotonic() + SECONDS
    while True:
        round_of()
        if not LONG or time.monotonic() > deadline:
            return


@pytest.fixture(scope="module")
def fuzzed(client: TestClient) -> Tenant:
    return new_tenant(client)


def test_generated_queries_and_mutations_never_fail_inside(fuzzed: Tenant) -> None:
    fuzz(fuzzed, Mode.POSITIVE)


def test_generated_invalid_documents_are_typed_errors(fuzzed: Tenant) -> None:
    fuzz(fuzzed, Mode.NEGATIVE)
