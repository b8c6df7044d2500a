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


# The POSTs that take no body: they act on the caller's account (an access code is generated).
BODILESS = {"/api/admin/access-code", "/api/admin/seedrun", "/api/admin/seedrun/demo"}


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def test_every_ref_resolves_and_every_path_that_takes_a_body_documents_one(client: TestClient) -> None:
    """A generated client or a fuzzer can send every body: POST /api/notification-preference referred to
    a schema missing from components, POST /api/signal documented none."""
    document = client.get("/api/openapi.json").json()
    schemas = document["components"]["schemas"]
    refs = set(_refs(document))
    assert refs and all(ref.startswith("#/components/schemas/") for ref in refs), refs
    assert {ref.rsplit("/", 1)[1] for ref in refs} <= set(schemas), set(refs) - set(schemas)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method in {"post", "put", "patch"} and path not in BODILESS:
                assert operation.get("requestBody"), f"{method.upper()} {path} documents no body"
    signal = document["paths"]["/api/signal"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"$ref": "#/components/schemas/HttpSignalIn"} in signal["anyOf"], signal
