"""Per-request GraphQL context: the authenticated caller and the request's DataLoaders."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from strawberry.dataloader import DataLoader

from resolvers.common.actor import Actor
from resolvers.common.errors import DomainError, invalid, unauthorized

# Close code for a subscriber too slow to keep up (RFC 6455 "try again later").
SLOW_CONSUMER = 1013


@dataclass(eq=False)
class Context:
    """One per HTTP request, or one per websocket connection (its loaders are renewed per event)."""

    actor: Actor | None
    auth_error: DomainError | None = None
    loaders: dict[str, DataLoader[Any, Any]] = field(default_factory=dict)
    # Websocket connections only: the socket, its connection_init payload, the live-change hub, and
    # the credential it authenticated with (re-checked when credentials change).
    websocket: Any = None
    connection_params: dict[str, Any] | None = None
    hub: Any = None
    credential: tuple[str | None, str | None] = (None, None)
    # False once a field read something that changes with the clock (issue durations, "today"), or
    # that no bus change invalidates: the answer must then not be kept by the response cache.
    cacheable: bool = True
    closing: bool = False
    # Shared subscriptions (schema/shared_feeds.py): the revision of the change a subscription event
    # is about; set once the subscription listens and knows where it starts; a member's replay ends
    # when it has caught up instead of going live.
    last_revision: int | None = None
    live: asyncio.Event | None = None
    replay_only: bool = False

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

    def fresh_loaders(self) -> None:
        """A subscription event is a new request: nothing loaded for an earlier event is reused."""
        self.loaders = {}

    def listen(self) -> Any:
        """A listener on the caller's account. A subscriber with a socket that falls behind has its
        socket closed; a shared feed (no socket of its own) re-reads from its last revision instead."""
        if self.hub is None:
            raise invalid(None, "subscriptions run over a websocket at /graphql (graphql-transport-ws)")
        on_overflow = self.close_slow if self.websocket is not None else None
        return self.hub.listen(self.caller().account_id, on_overflow=on_overflow)

    def mark_live(self) -> None:
        if self.live is not None:
            self.live.set()

    def close_slow(self) -> None:
        if self.websocket is not None:
            asyncio.get_running_loop().create_task(
                self.websocket.close(code=SLOW_CONSUMER, reason="too slow")
            )


def _closed(task: asyncio.Task[None]) -> None:
    # The peer may already be gone; that is the outcome wanted, not an error to report.
    if not task.cancelled():
        task.exception()
