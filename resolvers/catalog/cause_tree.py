"""The account's cause tree, loaded once per change and shared (read cache): breadcrumbs and code look-ups."""

from __future__ import annotations

from dataclasses import dataclass

from models.issues import Cause
from resolvers.common.read_cache import cached


@dataclass(frozen=True, slots=True)
class CauseNode:
    id: int
    code: str
    description: str
    parent_id: int | None


@dataclass(frozen=True, slots=True)
class CauseTree:
    by_id: dict[int, CauseNode]
    by_code: dict[str, CauseNode]

    def breadcrumb(self, cause_id: int | None) -> list[dict[str, str | None]]:
        """Root → chosen cause, each `{code, description, parentCauseCode}`."""
        chain: list[CauseNode] = []
        seen: set[int] = set()
        while cause_id is not None and cause_id in self.by_id and cause_id not in seen:
            seen.add(cause_id)
            node = self.by_id[cause_id]
            chain.append(node)
            cause_id = node.parent_id
        return [
            {"code": n.code, "description": n.description, "parentCauseCode": self.code_of(n.parent_id)}
            for n in reversed(chain)
        ]

    def code_of(self, cause_id: int | None) -> str | None:
        node = self.by_id.get(cause_id) if cause_id is not None else None
        return node.code if node else None


async def cause_tree(account_id: str) -> CauseTree:
    async def load() -> CauseTree:
        rows = await Cause.filter(account_id=account_id).values("id", "code", "description", "parent_id")
        nodes = [CauseNode(r["id"], r["code"], r["description"], r["parent_id"]) for r in rows]
        return CauseTree({n.id: n for n in nodes}, {n.code: n for n in nodes})

    return await cached(account_id, ("cause-tree",), frozenset({"cause"}), load)  # type: ignore[no-any-return]
