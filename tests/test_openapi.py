"""GET /api/openapi.json: a valid OpenAPI 3.1 document listing every /api path the app serves."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.versions import consts  # noqa: F401  # the 3.1 validator is picked from the document
from starlette.routing import Route
from starlette.testclient import TestClient

from rest_compat.endpoint import ENDPOINTS

pytestmark = pytest.mark.backend_independent  # the document is built from the declarations


def test_document_validates_as_openapi_31(client: TestClient) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_document_lists_every_served_api_path_and_method(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    documented = {(path, method.upper()) for path, ops in paths.items() for method in ops}
    served = {
        (route.path, method)
        for route in client.app.routes  # type: ignore[attr-defined]
        if isinstance(route, Route) and route.path.startswith("/api/") and "{rest:path}" not in route.path
        for method in (route.methods or set()) - {"HEAD"}
    }
    assert served == documented
    assert len(served) == len(ENDPOINTS)


def test_bodies_are_described_from_the_models(client: TestClient) -> None:
    document = client.get("/api/openapi.json").json()
    ref = document["paths"]["/api/station"]["post"]["requestBody"]["content"]["application/json"]["schema"][
        "$ref"
    ]
    station = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert station["properties"]["code"]["pattern"] == "^([a-zA-Z0-9-_]+)$"
    assert station["additionalProperties"] is False
    assert "stationcodes" in {p["name"] for p in document["paths"]["/api/station"]["get"]["parameters"]}
    assert document["paths"]["/api/station"]["post"]["responses"]["403"]
