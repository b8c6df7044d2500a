"""Scalars beyond GraphQL's 32-bit Int: epoch milliseconds and durations need 64 bits."""

from __future__ import annotations

import re
from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

Long = NewType("Long", int)

_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_DIGITS = re.compile(r"-?[0-9]{1,19}")


def parse_long(value: object) -> int:
    """An integer (or a string of digits, for clients whose numbers are doubles) within 64 bits.
    A ValueError names the problem; graphql-core reports it as the variable's or argument's error."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"Long must be an integer, not {type(value).__name__}")
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise ValueError("Long must be an integer or a string of at most 19 digits")
    number = int(value)
    if not _LONG_MIN <= number <= _LONG_MAX:
        raise ValueError("Long must fit in 64 bits")
    return number


SCALARS: dict[object, ScalarDefinition] = {
    Long: strawberry.scalar(
        name="Long",
        serialize=int,
        parse_value=parse_long,
        description="A 64-bit integer: epoch milliseconds, durations in milliseconds, revisions.",
    )
}
