"""The cause tree: list, upsert (ERP re-sync), delete (SPEC section 4)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.transactions import in_transaction

from models.issues import Cause, IssueEvent
from models.roles import Role
from models.timefmt import iso_ms
from resolvers.catalog.cause_tree import CauseTree, cause_tree
from resolvers.common.actor import Actor
from resolvers.common.bodies import CauseIn
from resolvers.common.changes import Change, publish
from resolvers.common.config_views import View
from resolvers.common.errors import DomainError, ErrorCode, conflict, invalid, not_found

CSV_COLUMNS = ("code", "description", "parentCauseCode")


def cause_view(c: Cause, parent_code: str | None) -> View:
    return {
        "code": c.code,
        "description": c.description,
        "accountId": c.account_id,
        "parentCauseCode": parent_code,
        "createdAt": iso_ms(c.created_at),
        "updatedAt": iso_ms(c.updated_at),
    }


async def list_causes(*, actor: Actor, codes: Sequence[str] = ()) -> list[View]:
    """Ordered by code; unknown codes in the filter → 404."""
    actor.require(Role.READ_ONLY)
    query = Cause.filter(account_id=actor.account_id)
    if codes:
        query = query.filter(code__in=list(codes))
    rows = await query.order_by("code")
    if codes and len(rows) != len(set(codes)):
        missing = sorted(set(codes) - {c.code for c in rows})
        raise DomainError(ErrorCode.NOT_FOUND, f"cause {', '.join(missing)} not found")
    tree = await cause_tree(actor.account_id)
    return [cause_view(c, tree.code_of(c.parent_id)) for c in rows]


def _check_no_cycle(tree: CauseTree, code: str, parent_code: str | None) -> None:
    """Walking up from the new parent must not reach the cause itself."""
    node = tree.by_code.get(parent_code) if parent_code else None
    seen: set[int] = set()
    while node is not None and node.id not in seen:
        if node.code == code:
            raise invalid("parentCauseCode", f"{parent_code!r} is below {code!r}: that would make a cycle")
        seen.add(node.id)
        node = tree.by_id.get(node.parent_id) if node.parent_id is not None else None


async def upsert_cause(*, actor: Actor, data: CauseIn) -> View:
    actor.require(Role.SUPERVISOR)
    tree = await cause_tree(actor.account_id)
    parent = None
    if data.parentCauseCode is not None:
        parent = tree.by_code.get(data.parentCauseCode)
        if parent is None:
            raise invalid("parentCauseCode", f"no cause with code {data.parentCauseCode!r} in this account")
        _check_no_cycle(tree, data.code, data.parentCauseCode)
    values: dict[str, Any] = {"description": data.description}
    if "parentCauseCode" in data.model_fields_set:  # omitted keeps the parent; null makes it a root
        values["parent_id"] = parent.id if parent else None
    async with in_transaction():
        cause = await Cause.select_for_update().get_or_none(account_id=actor.account_id, code=data.code)
        if cause is None:
            cause = await Cause.create(account_id=actor.account_id, code=data.code, **values)
        else:
            cause.update_from_dict(values)
            await cause.save()
    await publish(Change("cause", actor.account_id, cause.code))
    return cause_view(cause, tree.code_of(cause.parent_id))


async def delete_cause(*, actor: Actor, code: str) -> None:
    actor.require(Role.SUPERVISOR)
    async with in_transaction():
        cause = await Cause.select_for_update().get_or_none(account_id=actor.account_id, code=code)
        if cause is None:
            raise not_found("cause", code)
        if await Cause.filter(parent_id=cause.id).exists():
            raise conflict(f"cause {code!r} has child causes; delete or move them first")
        if await IssueEvent.filter(cause_id=cause.id).exists():
            raise conflict(f"cause {code!r} is named by issue events and is kept for their history")
        await cause.delete()
    await publish(Change("cause", actor.account_id, code))


async def cause_csv_rows(*, actor: Actor) -> list[list[object]]:
    return [[v["code"], v["description"], v["parentCauseCode"]] for v in await list_causes(actor=actor)]
