"""Finding an account's rows by code: 404 for a path/query reference, 400 naming the field for a body."""

from __future__ import annotations

from typing import TypeVar

from tortoise.models import Model

from resolvers.common.errors import DomainError, invalid, not_found

M = TypeVar("M", bound=Model)


def missing(what: str, code: str, body_field: str | None) -> DomainError:
    """The error for an unknown reference: another account's rows are indistinguishable from none."""
    if body_field is not None:
        return invalid(body_field, f"no {what} with code {code!r} in this account")
    return not_found(what, code)


async def by_code(
    model: type[M], what: str, *, account_id: str, code: str, body_field: str | None = None
) -> M:
    row = await model.get_or_none(account_id=account_id, code=code)
    if row is None:
        raise missing(what, code, body_field)
    return row
