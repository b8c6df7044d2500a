"""Create-or-update of a code-keyed row inside the caller's account (POST with an existing code updates)."""

from __future__ import annotations

from typing import Any, TypeVar

from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from resolvers.common.bodies import Body
from resolvers.common.errors import conflict

M = TypeVar("M", bound=Model)


def columns(data: Body, mapping: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Map wire fields to columns: (all of them for a create, only those the caller sent for an update)."""
    create = {mapping[k]: v for k, v in data.model_dump().items() if k in mapping}
    update = {mapping[k]: v for k, v in data.given().items() if k in mapping}
    return create, update


async def upsert_by_code(
    model: type[M], *, account_id: str, code: str, create: dict[str, Any], update: dict[str, Any]
) -> M:
    """`create` holds every column for a new row; `update` only what the caller sent."""
    for attempt in range(2):
        try:
            async with in_transaction():
                row = await model.select_for_update().get_or_none(account_id=account_id, code=code)
                if row is None:
                    return await model.create(account_id=account_id, code=code, **create)
                if update:
                    row.update_from_dict(update)
                    await row.save(update_fields=[*update, "updated_at"])
                return row
        except IntegrityError:
            # Two first writes of one code raced; the loser retries as an update.
            if attempt:
                raise conflict(f"{model.__name__} {code!r} was changed concurrently; try again") from None
    raise AssertionError("unreachable")
