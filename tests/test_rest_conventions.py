"""Bad input gets a clear 4xx naming the problem; unknown paths 404 JSON; envelopes (SPEC section 3)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Tenant


def _error(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    body = response.json()
    assert body["isSuccess"] is False
    assert "Traceback" not in response.text
    return body["error"]


def test_malformed_json_is_400(tenant: Tenant) -> None:
    response = tenant.client.post("/api/station", content=b'{"code": "x",', headers=tenant.headers())
    assert "not valid JSON" in _error(response, 400)["message"]


def test_missing_body_is_400(tenant: Tenant) -> None:
    response = tenant.client.post("/api/station", headers=tenant.headers())
    assert "body is required" in _error(response, 400)["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "s", "name": "S", "plantCode": "p", "cycleTime": "fast"}, "cycleTime"),
        (
            {"code": "s", "name": "S", "plantCode": "p", "downtimeDetectionMode": "sometimes"},
            "downtimeDetectionMode",
        ),
        ({"code": "x" * 33, "name": "S", "plantCode": "p"}, "code"),
        ({"code": "has space", "name": "S", "plantCode": "p"}, "code"),
        ({"name": "S", "plantCode": "p"}, "code"),
        ({"code": "s", "name": "S", "plantCode": "p", "cycletime": 3}, "cycletime"),
        ({"code": 5, "name": "S", "plantCode": "p"}, "code"),
        ({"code": "s", "name": "", "plantCode": "p"}, "name"),
    ],
)
def test_wrong_field_is_400_naming_it(tenant: Tenant, body: dict, field: str) -> None:
    error = _error(tenant.post("/api/station", body), 400)
    assert error["code"] == "validation_error"
    assert error["field"] == field
    assert field in error["message"]


def test_nested_field_is_named_with_its_path(tenant: Tenant) -> None:
    body = {
        "code": "g",
        "name": "G",
        "plantCode": tenant.plant_code,
        "shifts": [{"weekDay": 9, "startHour": 6, "duration": 8}],
    }
    assert _error(tenant.post("/api/station-group", body), 400)["field"] == "shifts.0.weekDay"


def test_bad_timezone_and_hour_are_400(tenant: Tenant) -> None:
    assert (
        _error(tenant.post("/api/plant", {"code": "p", "name": "P", "timezone": "Mars/Base"}), 400)["field"]
        == "timezone"
    )
    assert (
        _error(tenant.post("/api/plant", {"code": "p", "name": "P", "dayStartHour": 24}), 400)["field"]
        == "dayStartHour"
    )


def test_body_of_the_wrong_shape_is_400(tenant: Tenant) -> None:
    assert _error(tenant.post("/api/station", [1, 2]), 400)["code"] == "validation_error"
    assert _error(tenant.post("/api/station", "text"), 400)["code"] == "validation_error"


def test_ten_megabyte_body_is_413(tenant: Tenant) -> None:
    big = b'{"code": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    error = _error(tenant.client.post("/api/station", content=big, headers=tenant.headers()), 413)
    assert error["code"] == "payload_too_large"


def test_graphql_refuses_a_body_over_the_limit_before_parsing_it(tenant: Tenant) -> None:
    """The limit of /api (1 MiB by default), with or without a credential, declared or streamed."""
    big = b'{"query": "{ me { email } }", "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    for headers in (tenant.headers(), {}):
        error = _error(tenant.client.post("/graphql", content=big, headers=headers), 413)
        assert error["code"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        yield big[: len(big) // 2]
        yield big[len(big) // 2 :]

    streamed = tenant.client.post("/graphql", content=chunks(), headers=tenant.headers())
    assert _error(streamed, 413)["code"] == "payload_too_large"
    small = tenant.client.post("/graphql", json={"query": "{ me { email } }"}, headers=tenant.headers())
    assert small.status_code == 200 and small.json()["data"]["me"]["email"], small.text


def test_bad_query_parameter_is_400_naming_it(tenant: Tenant) -> None:
    error = _error(tenant.get("/api/station", params={"stationcodes": "ok,not ok"}), 400)
    assert error["field"].startswith("stationcodes")


def test_unknown_api_path_is_404_json(tenant: Tenant) -> None:
    error = _error(tenant.get("/api/no-such-thing"), 404)
    assert error["code"] == "not_found"
    assert _error(tenant.client.get("/api/also/not/here"), 404)["code"] == "not_found"


@pytest.mark.parametrize("method", ["PUT", "TRACE", "PATCH"])
def test_wrong_method_is_405_json_with_allow(tenant: Tenant, method: str) -> None:
    response = tenant.client.request(method, "/api/station", headers=tenant.headers())
    assert _error(response, 405)["code"] == "method_not_allowed"
    assert _allowed(response) == {"GET", "POST"}
    graphql = tenant.client.request(method, "/graphql", headers=tenant.headers())
    assert graphql.status_code == 405 and _allowed(graphql) == {"GET", "POST"}


def _allowed(response: Any) -> set[str]:
    """The methods of the Allow header; HEAD, which GET implies, is left out of the comparison."""
    return {m.strip() for m in response.headers["allow"].split(",")} - {"HEAD"}


def test_non_numeric_id_in_path_is_404(tenant: Tenant) -> None:
    assert _error(tenant.delete("/api/user/abc"), 404)["code"] == "not_found"
    assert _error(tenant.delete("/api/user/99999999999999999999999"), 404)["code"] == "not_found"


def test_unicode_names_round_trip(tenant: Tenant) -> None:
    station = tenant.ok(
        tenant.post(
            "/api/station", {"code": "s1", "name": "Presse Nr. 1 — Größe ✓", "plantCode": tenant.plant_code}
        )
    )
    assert station["name"] == "Presse Nr. 1 — Größe ✓"


def test_a_nul_character_is_a_400_on_every_backend_never_a_500(tenant: Tenant) -> None:
    """Postgres text cannot hold NUL (SQLite can): both refuse it, in a body by field, elsewhere too."""
    body = {"code": "s1", "name": "Press\u00001", "plantCode": tenant.plant_code}
    error = _error(tenant.post("/api/station", body), 400)
    assert error["code"] == "validation_error" and error["field"] == "name", error
    cause = {"code": "jam", "description": "belt\u0000jam"}
    assert _error(tenant.post("/api/issue/cause", cause), 400)["field"] == "description"
    # A GraphQL argument reaches the database without a body model: still a client mistake.
    query = 'query { station(code: "s\\u00001") { code } }'
    answer = tenant.client.post("/graphql", json={"query": query}, headers={"X-API-KEY": tenant.api_key})
    codes = [e["extensions"]["code"] for e in answer.json().get("errors", [])]
    assert answer.status_code == 200 and "internal_error" not in codes, answer.text


def test_read_only_fields_echoed_back_are_accepted(tenant: Tenant) -> None:
    created = tenant.ok(tenant.post("/api/sku", {"code": "k1", "name": "K"}))
    echoed = tenant.ok(tenant.post("/api/sku", {**created, "name": "K2"}))
    assert echoed["name"] == "K2"


def test_health_needs_no_credential(tenant: Tenant) -> None:
    body = tenant.client.get("/api/health").json()
    assert body["database"] == "ok" and body["bus"] == "ok"
    # The session app sends mail to the session's SMTP server (tests/conftest.py), so its mailer is up.
    assert body["mqtt"] == "disabled" and body["mailer"] == "ok"
    assert body["result"]["database"] == "ok"
