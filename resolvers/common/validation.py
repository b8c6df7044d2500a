"""pydantic validation failures as DomainError 400, naming the fields in wire names (REST and GraphQL)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from resolvers.common.errors import Detail, DomainError, ErrorCode, invalid

M = TypeVar("M", bound=BaseModel)


def validation_error(exc: ValidationError, where: str) -> DomainError:
    details = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "json_invalid":
            return invalid(None, f"the body is not valid JSON ({err['msg']})")
        message = err["msg"]
        details.append(Detail(f"{loc}: {message}" if loc else message, loc or None))
    first = details[0]
    text = first.message if len(details) == 1 else f"{first.message} (and {len(details) - 1} more)"
    return DomainError(ErrorCode.VALIDATION, f"invalid {where}: {text}", details)


def parse(model: type[M], data: dict[str, Any], where: str = "input") -> M:
    """Validate already-decoded values (GraphQL inputs); leave out what the caller did not give."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, where) from None
