"""Scalars beyond GraphQL's 32-bit Int: epoch milliseconds and durations need 64 bits."""

from __future__ import annotations

from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

Long = NewType("Long", int)

SCALARS: dict[object, ScalarDefinition] = {
    Long: strawberry.scalar(
        name="Long",
        serialize=int,
        parse_value=int,
        description="A 64-bit integer: epoch milliseconds, durations in milliseconds, revisions.",
    )
}
