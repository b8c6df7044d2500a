"""The OpenAPI 3.1 document, generated from the endpoint declarations and their pydantic models."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from rest_compat.endpoint import Endpoint
from rest_compat.responses import STATUS

_REF = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"{(\w+)(?::\w+)?}")
_ERROR_TEXT = {
    400: "Bad request: the message names the offending field",
    401: "Missing or invalid credential",
    403: "Valid credential, insufficient role",
    404: "Unknown id or code (another account's are unknown too)",
    409: "Conflict with the current state",
    413: "Body larger than the limit",
    429: "Too many failed authentications from this address; see Retry-After",
    501: "Not implemented yet",
}

_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["isSuccess", "error"],
    "properties": {
        "isSuccess": {"const": False},
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "enum": sorted({c.value for c in STATUS})},
                "message": {"type": "string"},
                "field": {"type": "string"},
                "details": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"message": {"type": "string"}, "field": {"type": "string"}},
                    },
                },
            },
        },
    },
}

_ENVELOPES: dict[str, dict[str, Any]] = {
    "results": {"type": "object", "properties": {"isSuccess": {"const": True}, "results": {"type": "array"}}},
    "result": {"type": "object", "properties": {"isSuccess": {"const": True}, "result": {"type": "object"}}},
    "ok": {"type": "object", "properties": {"isSuccess": {"const": True}}},
}


def _body_schema(
    body: type[BaseModel] | TypeAdapter[Any], defs: Mapping[tuple[Any, Any], Any], shared: dict[str, Any]
) -> dict[str, Any]:
    if isinstance(body, TypeAdapter):
        schema = body.json_schema(ref_template=_REF)
        # Its models go to components/schemas, where its refs point (else they would not resolve).
        shared.update(schema.pop("$defs", {}))
        return schema
    return defs[(body, "validation")]  # type: ignore[no-any-return]


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=_REF)
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": prop,
            **({"style": "form", "explode": True} if "array" in str(prop.get("type", prop)) else {}),
        }
        for name, prop in schema.get("properties", {}).items()
    ]


def _operation(ep: Endpoint, defs: Mapping[tuple[Any, Any], Any], shared: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": ep.summary,
        "operationId": f"{ep.method.lower()}_{re.sub(r'[^a-zA-Z0-9]+', '_', ep.path.strip('/'))}",
        "tags": [ep.tag],
    }
    if ep.description:
        op["description"] = ep.description
    params = [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
        for n in _PATH_PARAM.findall(ep.path)
    ]
    if ep.query is not None:
        params += _query_parameters(ep.query)
    if params:
        op["parameters"] = params
    body = ep.body if ep.body is not None else ep.documented_body
    if body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _body_schema(body, defs, shared)}},
        }
    op["responses"] = _responses(ep)
    if ep.auth != "none":
        op["security"] = [{"apiKey": []}, {"bearer": []}, {"accessCode": []}]
    return op


def _responses(ep: Endpoint) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if ep.envelope == "empty":
        out["204"] = {"description": "Done"}
    elif ep.produces != "application/json":
        out["200"] = {"description": "OK", "content": {ep.produces: {"schema": {"type": "string"}}}}
    else:
        schema = _ENVELOPES.get(ep.envelope, {"type": "object"})
        out["200"] = {"description": "OK", "content": {"application/json": {"schema": schema}}}
    takes_body = ep.body is not None or ep.documented_body is not None
    errors = [400, 404, 409, 413] if takes_body else [400, 404]
    if ep.auth != "none":
        errors += [401, 403, 429]
    errors += list(ep.extra_responses)
    for status in sorted(set(errors)):
        out[str(status)] = {
            "description": ep.extra_responses.get(status, _ERROR_TEXT[status]),
            "content": {"application/json": {"schema": {"$ref": _REF.format(model="Error")}}},
        }
    return out


def build_openapi(endpoints: list[Endpoint], version: str) -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Literal["validation"]]] = [
        (ep.body, "validation") for ep in endpoints if isinstance(ep.body, type)
    ]
    defs_map, top = models_json_schema(list(dict.fromkeys(models)), ref_template=_REF)
    schemas = {**top.get("$defs", {}), "Error": _ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for ep in endpoints:
        path = _PATH_PARAM.sub(r"{\1}", ep.path)
        paths.setdefault(path, {})[ep.method.lower()] = _operation(ep, defs_map, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Andon gateway API",
            "version": version,
            "description": "Busroot-compatible REST API of the Andon downtime-monitoring gateway.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-KEY"},
                "bearer": {"type": "http", "scheme": "bearer"},
                "accessCode": {"type": "apiKey", "in": "header", "name": "X-ACCESS-CODE"},
            },
        },
    }
