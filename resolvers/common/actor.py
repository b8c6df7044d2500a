"""Who is calling, as resolved from a credential."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from models.roles import Role, allows
from resolvers.common.errors import forbidden

Via = Literal["api-key", "access-code", "system"]


@dataclass(frozen=True, slots=True)
class Actor:
    account_id: str
    role: Role
    via: Via
    user_id: int | None = None
    email: str | None = None
    credential_id: int | None = None

    def require(self, needed: Role) -> None:
        """Raise 403 unless this actor's role reaches `needed`."""
        if not allows(self.role, needed):
            raise forbidden(f"role {self.role.value} may not do this (needs {needed.value})")


SYSTEM_ACCOUNT = ""
