"""GraphQL over HTTP for tests: a request, and the data or first error of its answer."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.testclient import TestClient


def gql(
    client: TestClient,
    document: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return client.post("/graphql", json={"query": document, "variables": variables or {}}, headers=headers)


def data_of(response: httpx.Response) -> dict[str, Any]:
    """The `data` of a successful GraphQL answer (HTTP 200, no errors)."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert not body.get("errors"), body["errors"]
    return body["data"]  # type: ignore[no-any-return]
