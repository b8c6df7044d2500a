"""Per-request GraphQL context: the authenticated caller and the request's DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strawberry.dataloader import DataLoader

from resolvers.actor import Actor
from resolvers.errors import DomainError, unauthorized


@dataclass
class Context:
    """Built once per HTTP request (and once per websocket operation), never shared between requests."""

    actor: Actor | None
    auth_error: DomainError | None = None
    loaders: dict[str, DataLoader[Any, Any]] = field(default_factory=dict)

    def caller(self) -> Actor:
        """The authenticated actor, or the error that says why there is none (no data without it)."""
        if self.actor is None:
            raise self.auth_error or unauthorized()
        return self.actor

    def loader(self, name: str, make: Any) -> DataLoader[Any, Any]:
        """The request's DataLoader `name`, created by `make()` on first use."""
        if name not in self.loaders:
            self.loaders[name] = make()
        return self.loaders[name]
