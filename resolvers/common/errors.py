"""Domain errors with a stable code; each transport maps them (REST status, GraphQL error, close code)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ErrorCode(StrEnum):
    VALIDATION = "validation_error"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    RATE_LIMITED = "rate_limited"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_IMPLEMENTED = "not_implemented"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal_error"


@dataclass(frozen=True, slots=True)
class Detail:
    """One problem, naming the offending field (dotted path, wire names) where there is one."""

    message: str
    field: str | None = None


@dataclass(eq=False)
class DomainError(Exception):
    code: ErrorCode
    message: str
    details: list[Detail] = field(default_factory=list)
    # Seconds a client should wait before trying again (rate limiting).
    retry_after: int | None = None

    def __post_init__(self) -> None:
        super().__init__(self.message)

    @property
    def field(self) -> str | None:
        return next((d.field for d in self.details if d.field), None)


def invalid(field_name: str | None, message: str) -> DomainError:
    """400: a value the caller sent is wrong; the message names the field."""
    text = f"{field_name}: {message}" if field_name else message
    return DomainError(ErrorCode.VALIDATION, text, [Detail(message, field_name)])


def not_found(what: str, key: object) -> DomainError:
    return DomainError(ErrorCode.NOT_FOUND, f"{what} {key!s} not found")


def conflict(message: str, field_name: str | None = None) -> DomainError:
    return DomainError(ErrorCode.CONFLICT, message, [Detail(message, field_name)] if field_name else [])


def forbidden(message: str) -> DomainError:
    return DomainError(ErrorCode.FORBIDDEN, message)


def unauthorized(message: str = "missing or invalid credential") -> DomainError:
    return DomainError(ErrorCode.UNAUTHORIZED, message)
