"""Schemathesis over /api/openapi.json against the in-process app: no request, valid or not, with an
admin key, a read-only key or no credential, is answered 5xx, and every error is the JSON envelope
`{"isSuccess": false, "error": {"code": ..., "message": ...}}` (docs/reliability.md).

Bounded for `make test`: a few derandomized examples per operation (ANDON_FUZZ_EXAMPLES, default 3,
both valid and invalid data) under a time budget (ANDON_FUZZ_SECONDS, default 8 s per credential).
`make fuzz FUZZ_SECONDS=600` (ANDON_FUZZ_LONG=1) runs the same test with fresh random rounds until
the budget is spent.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from starlette.testclient import TestClient

from tests.conftest import Tenant

# On Postgres: it refuses what SQLite stores (NUL in text, integers past 32 bits), so a 500 only it
# would cause shows here (a NUL in a body was one).
pytestmark = pytest.mark.postgres

EXAMPLES = int(os.environ.get("ANDON_FUZZ_EXAMPLES", "3"))
SECONDS = float(os.environ.get("ANDON_FUZZ_SECONDS", "8"))
# The long run (make fuzz) draws fresh random rounds until its time is up; make test runs one
# derandomized round, the same examples every time.
LONG = os.environ.get("ANDON_FUZZ_LONG") == "1"
# Writes a week of demo history (about 4 s a call) and takes no input to vary: sent once, in the long run
# only (tests/test_demo_seed.py covers what it does).
SLOW = {"POST /api/admin/seedrun/demo"}


def _send(client: TestClient, case: Case, credential: str | None) -> httpx.Response:
    """The case as a request through the session's TestClient (its lifespan is already running)."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    headers = {k: str(v) for k, v in (kwargs.get("headers") or {}).items()}
    # The credential under test replaces whatever the generator put there.
    for name in list(headers):
        if name.lower() in ("x-api-key", "authorization", "x-access-code"):
            del headers[name]
    if credential:
        headers["X-API-KEY"] = credential
    body: dict[str, Any] = {}
    if "json" in kwargs:
        body["json"] = kwargs["json"]
    elif isinstance(kwargs.get("data"), (bytes, str)):
        body["content"] = kwargs["data"]
    elif kwargs.get("data") is not None:
        body["data"] = kwargs["data"]
    return client.request(
        kwargs["method"],
        kwargs["url"],
        params=kwargs.get("params"),
        headers=headers,
        cookies=kwargs.get("cookies") or None,
        **body,
    )


def _problem(response: httpx.Response) -> str | None:
    """What is wrong with an answer: a 5xx, or an error outside the envelope; None if nothing."""
    status = response.status_code
    if status >= 500:
        return f"{status}: {response.text[:300]}"
    if status < 400:
        return None
    try:
        body = response.json()
    except ValueError:
        return f"{status} is not JSON: {response.text[:300]!r}"
    error = body.get("error") if isinstance(body, dict) else None
    if (
        not isinstance(error, dict)
        or body.get("isSuccess") is not False
        or not isinstance(error.get("code"), str)
        or not isinstance(error.get("message"), str)
    ):
        return f"{status} outside the envelope: {response.text[:300]}"
    return None


def _run_operation(
    client: TestClient,
    operation: Any,
    credential: str | None,
    deadline: float,
    problems: list[str],
    derandomize: bool,
) -> int:
    """Up to EXAMPLES cases of one operation (valid and invalid data); the number of requests sent."""
    sent = 0
    if operation.label in SLOW and credential is not None:
        if not LONG:
            return 0
        examples = 1
    else:
        examples = EXAMPLES
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
    )

    @settings(
        max_examples=examples,
        derandomize=derandomize,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        # Shrinking would spend the budget on one failure; every problem is collected instead.
        phases=[p for p in settings.default.phases if p.name != "shrink"],
    )
    @given(case=strategy)
    def fuzz(case: Case) -> None:
        nonlocal sent
        if time.monotonic() > deadline:
            return  # out of time: the remaining examples are drawn but not sent
        response = _send(client, case, credential)
        sent += 1
        if problem := _problem(response):
            problems.append(f"{case.method} {case.formatted_path} → {problem}\n  {case.as_curl_command()}")

    fuzz()
    return sent


CREDENTIALS: dict[str, Callable[[Tenant], str | None]] = {
    "admin": lambda t: t.api_key,
    "read-only": lambda t: t.key_for("read-only"),
    "none": lambda t: None,
}


@pytest.mark.parametrize("who", list(CREDENTIALS))
def test_no_request_is_answered_5xx_and_every_error_is_in_the_envelope(
    client: TestClient, tenant: Tenant, who: str
) -> None:
    credential = CREDENTIALS[who](tenant)
    schema = schemathesis.openapi.from_dict(client.get("/api/openapi.json").json())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40, "the document lists every /api operation"
    deadline = time.monotonic() + SECONDS
    problems: list[str] = []
    sent = rounds = 0
    while True:
        rounds += 1
        for operation in operations:
            sent += _run_operation(client, operation, credential, deadline, problems, derandomize=not LONG)
        if not LONG or time.monotonic() > deadline or problems:
            break
    assert not problems, f"{len(problems)} bad answers in {sent} requests:\n" + "\n".join(problems[:20])
    # The budget must leave room for a real sweep: at least one request per operation.
    assert sent >= len(operations) - len(SLOW), f"only {sent} requests in {SECONDS} s"
