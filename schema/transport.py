"""graphql-transport-ws with shared subscriptions and one non-blocking, bounded writer per socket.

Strawberry's handler runs every subscription on its own and awaits each send. Here:
- every message of the connection goes through its `SocketWriter`, in order, without the sender
  waiting on the peer; a socket more than `QUEUE_LIMIT` frames behind is closed with 1013;
- a shareable subscription (schema/shared_feeds.py) joins the feed of its key instead of running a
  task and an execution of its own.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message
from strawberry.types.execution import PreExecutionError

from realtime.writer import SocketWriter
from resolvers.common.metrics import SOCKETS_OPEN, SUBSCRIPTIONS_ACTIVE
from schema.context import SLOW_CONSUMER, Context
from schema.shared_feeds import Feed, Member, SharedFeeds, replay_context

log = logging.getLogger(__name__)


class GatewayTransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        socket = self.context.websocket
        self.writer = SocketWriter(socket.send_text, on_overflow=self._too_slow)
        self.shared: dict[str, tuple[Feed, Member]] = {}
        self.counted = 0  # this socket's share of SUBSCRIPTIONS_ACTIVE

    async def handle(self) -> None:
        SOCKETS_OPEN.inc()
        try:
            await super().handle()
        finally:
            SOCKETS_OPEN.dec()
            self.operations.clear()
            self._count_operations()

    def _count_operations(self) -> None:
        """Keeps SUBSCRIPTIONS_ACTIVE equal to the sum of every socket's running operations."""
        running = len(self.operations)
        SUBSCRIPTIONS_ACTIVE.inc(running - self.counted)
        self.counted = running

    async def _handle_pre_execution_error(
        self, operation: Operation[Context, None], result: PreExecutionError
    ) -> None:
        # Strawberry closes the socket (4400) on a syntax error; graphql-transport-ws answers a document
        # that fails parsing or validation with an `error` message for that operation alone.
        await operation.send_initial_errors(result.errors or [])

    async def handle_message(self, message: Message) -> None:
        # Strawberry catches only a missing key: a frame that is not an object (`[1,2]`), or a field of
        # the wrong type (a `payload` of 5), raised past it and dropped the socket without a close frame.
        # The protocol closes a malformed message with 4400.
        problem = frame_problem(message)
        if problem:
            await self.handle_invalid_message(problem)
            return
        await super().handle_message(message)
        self._count_operations()

    async def send_message(self, message: Message) -> None:
        encoded = self.view.encode_json(message)
        self.writer.write(encoded if isinstance(encoded, str) else encoded.decode())

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        feeds: SharedFeeds | None = getattr(self.view, "feeds", None)
        joined = feeds.join(operation, self.context, self.writer) if feeds is not None else None
        if joined is None:
            await super().run_operation(operation)
            return
        feed, member = joined
        self.shared[operation.id] = joined
        try:
            await feed.admit(member, lambda: replay_context(self.context))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("a subscriber's replay failed")
            await operation.send_operation_message(
                {
                    "id": operation.id,
                    "type": "error",
                    "payload": [{"message": "internal error; it has been logged"}],
                }
            )

    async def cleanup_operation(self, operation_id: str) -> None:
        joined = self.shared.pop(operation_id, None)
        if joined is not None:
            feed, member = joined
            feed.leave(member)
        await super().cleanup_operation(operation_id)
        self._count_operations()

    def forget_id(self, id: str) -> None:
        # A shared operation's feed ended it (complete or error): it is no longer a member.
        joined = self.shared.pop(id, None)
        if joined is not None:
            joined[0].leave(joined[1])
        super().forget_id(id)
        self._count_operations()

    def _too_slow(self) -> None:
        log.warning("a subscriber of account %s fell too far behind; closing it", self._account())
        self.context.closing = True
        task = asyncio.get_running_loop().create_task(self.websocket.close(SLOW_CONSUMER, "too slow"))
        task.add_done_callback(self._task_done)

    def _account(self) -> str:
        actor = self.context.actor
        return actor.account_id if actor is not None else "?"


# The fields graphql-transport-ws gives each message type, and the types they must have; None: optional.
_OBJECT_OR_NONE = (dict, type(None))
_FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "connection_init": {"payload": _OBJECT_OR_NONE},
    "ping": {"payload": _OBJECT_OR_NONE},
    "pong": {"payload": _OBJECT_OR_NONE},
    "subscribe": {"id": (str,), "payload": (dict,)},
    "complete": {"id": (str,)},
}
_SUBSCRIBE_PAYLOAD: dict[str, tuple[type, ...]] = {
    "query": (str,),
    "variables": _OBJECT_OR_NONE,
    "operationName": (str, type(None)),
    "extensions": _OBJECT_OR_NONE,
}


def frame_problem(message: object) -> str | None:
    """Why a decoded frame is not a well-formed graphql-transport-ws message (the close reason), or None.
    An unknown type is left to Strawberry, which closes with 4400 naming it."""
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return "a message must be a JSON object with a string `type`"
    kind = message["type"]
    wrong = _wrong_field(message, _FIELDS.get(kind, {}))
    if wrong is None and kind == "subscribe":
        wrong = _wrong_field(message["payload"], _SUBSCRIBE_PAYLOAD, "payload.")
    return f"`{wrong}` of a {kind} message is missing or has the wrong type" if wrong else None


def _wrong_field(fields: dict[str, Any], spec: dict[str, tuple[type, ...]], prefix: str = "") -> str | None:
    # An absent optional field reads as None, which its types allow.
    return next(
        (prefix + name for name, types in spec.items() if not isinstance(fields.get(name), types)), None
    )
