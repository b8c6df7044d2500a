"""Query parameters: lower-case names, multi-value lists from repeated and comma-separated values."""

from __future__ import annotations

import types
import typing
from typing import Any

from cachetools import LRUCache
from pydantic import BaseModel
from starlette.requests import Request

MAX_VALUES = 500  # a list parameter holds at most this many values


def _is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(a) for a in typing.get_args(annotation) if a is not type(None))
    if origin is typing.Annotated:
        return _is_list(typing.get_args(annotation)[0])
    return origin in (list, tuple, set, frozenset)


def multi(values: list[str]) -> list[str]:
    """`?a=x&a=y,z` → ['x', 'y', 'z']; blanks dropped, order kept, duplicates removed."""
    seen: dict[str, None] = {}
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if part:
                seen[part] = None
    return list(seen)


# Dashboards and tablets poll the same URLs: a validated query string is reused (models are frozen).
_parsed: LRUCache[tuple[type[BaseModel], bytes], BaseModel] = LRUCache(maxsize=2048)


def read_query(model: type[BaseModel], request: Request) -> BaseModel:
    """Validate the query string against `model`; unknown parameters are ignored."""
    key = (model, request.scope.get("query_string", b""))
    parsed = _parsed.get(key)
    if parsed is None:
        parsed = _parsed[key] = _validate(model, request)
    return parsed


def _validate(model: type[BaseModel], request: Request) -> BaseModel:
    params = request.query_params
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name not in params:
            continue
        if _is_list(info.annotation):
            data[name] = multi(params.getlist(name))[: MAX_VALUES + 1]
        else:
            data[name] = params[name]
    return model.model_validate(data)
