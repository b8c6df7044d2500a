"""Encoded answers of read-only GraphQL queries, per account and caller, dropped by any change of the account.

Dashboards poll the same query; executing it costs milliseconds in graphql-core. An answer is kept only
when every field it read is invalidated through the bus (resolvers mark clock-dependent reads, such as
issue durations, as not cacheable) and it has no errors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import lru_cache

import orjson
from graphql import GraphQLError, OperationType, get_operation_ast, parse

from resolvers.common.actor import Actor
from resolvers.common.changes import CHANGE_KINDS
from resolvers.common.read_cache import cached

ALL_KINDS = frozenset(CHANGE_KINDS)


class NotCacheable(Exception):
    """Raised from a load whose answer must not be kept; carries the answer."""

    def __init__(self, answer: object) -> None:
        super().__init__()
        self.answer = answer


@lru_cache(maxsize=512)
def _is_query(body: bytes) -> bool:
    """Only queries are shared: a mutation must run once per request."""
    try:
        data = orjson.loads(body)
        if not isinstance(data, dict) or not isinstance(data.get("query"), str):
            return False
        operation = get_operation_ast(parse(data["query"]), data.get("operationName"))
    except (orjson.JSONDecodeError, GraphQLError, TypeError):
        return False
    return operation is not None and operation.operation is OperationType.QUERY


async def cached_answer(
    actor: Actor, body: bytes, run: Callable[[], Awaitable[tuple[object, bool]]]
) -> object:
    """`run()` → (answer, cacheable). Identical query bodies of one caller share the kept answer."""
    if not _is_query(body):
        return (await run())[0]
    identity = (actor.role.value, actor.via, actor.user_id, actor.credential_id)

    async def load() -> object:
        answer, cacheable = await run()
        if not cacheable:
            raise NotCacheable(answer)
        return answer

    try:
        return await cached(actor.account_id, ("graphql", identity, body), ALL_KINDS, load)
    except NotCacheable as skipped:
        return skipped.answer
