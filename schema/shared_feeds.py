"""Shared execution of live subscriptions: one run per distinct subscription, one frame per change.

Thousands of screens of one plant subscribe to the same thing (the same document, the same
filters, one account). Executing the selection once per subscriber per change is what made a
change cost ~300 µs of CPU per socket. So subscribers with the same key (account, role, document,
operation name, variables other than `since`) share one `Feed`: one Strawberry execution of the
subscription under a context of its own, whose every result is encoded once and written to every
member's socket with only the operation id differing.

Resuming (`since`): the member joins the feed first, with what the feed sends buffered, then runs its
own replay of the change log up to the newest matching revision `h` and ends it there; buffered
frames after `h` follow and the member is live. The feed was listening before the replay read the
log, and revisions commit in order, so every matching revision after `h` is one the feed sends
after the member joined: no gap and no duplicate at the seam.

`ongoingIssues` sends the full list on subscribe: a member joining a running feed gets the feed's
last frame (every member sees the same list, computed at the same change).

Only documents of exactly one subscription field from `SHAREABLE` (`issueChanged`, `ongoingIssues`) (with `since`, if given, passed as
a variable) are shared; anything else runs per subscriber as before.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, VariableNode, parse
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from realtime.writer import SocketWriter
from schema.context import Context
from schema.scalars import parse_long

if TYPE_CHECKING:
    import strawberry
    from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import Operation

log = logging.getLogger(__name__)

# `stationStatusChanged` is not shared: it sends each station's current status on subscribe, one frame
# per station, so a member joining a running feed would need every station's last frame, not one.
SHAREABLE = frozenset({"issueChanged", "ongoingIssues"})
# A member resuming with `since` buffers the feed's frames while it replays; past this it is too slow.
BUFFER_LIMIT = 1024


@dataclass(frozen=True, slots=True)
class FeedKey:
    account_id: str
    role: str
    query: str
    operation_name: str | None
    variables: str  # canonical JSON, without the `since` variable


@dataclass(frozen=True, slots=True)
class _Shape:
    field: str
    since_variable: str | None


@lru_cache(maxsize=256)
def _shape(query: str, operation_name: str | None) -> _Shape | None:
    """What makes a document shareable: one subscription, one root field of `SHAREABLE`, `since` as a
    variable. Anything else (including a document that does not parse) → None."""
    try:
        document = parse(query)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name is not None and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation is not OperationType.SUBSCRIPTION:
        return None
    operation = operations[0]
    selections = operation.selection_set.selections
    if operation.directives or len(selections) != 1 or not isinstance(selections[0], FieldNode):
        return None
    field = selections[0]
    if field.name.value not in SHAREABLE or field.directives:
        return None
    since_variable = None
    for argument in field.arguments or ():
        if argument.name.value == "since":
            if not isinstance(argument.value, VariableNode):
                return None  # a literal `since` differs per client: nothing to share
            since_variable = argument.value.name.value
    return _Shape(field.name.value, since_variable)


class Member:
    """One subscription (socket + operation id) of a feed."""

    __slots__ = ("buffer", "id_json", "operation", "replayed_to", "since", "writer")

    def __init__(self, operation: Operation[Any, Any], writer: SocketWriter, since: int | None) -> None:
        self.operation = operation
        self.writer = writer
        self.id_json = json.dumps(operation.id)
        self.since = since
        # While replaying: (revision, frame) the feed sent meanwhile; None once live.
        self.buffer: list[tuple[int | None, str]] | None = [] if since is not None else None
        # The last revision the replay sent: a change committed before the replay read it may reach
        # the feed only after the member went live (its publish comes after its commit).
        self.replayed_to: int | None = None

    def wants(self, revision: int | None) -> bool:
        """Whether a live frame of `revision` is new to the member (its replay did not send it)."""
        return revision is None or self.replayed_to is None or revision > self.replayed_to

    def frame(self, payload: str) -> str:
        return '{"id":' + self.id_json + ',"type":"next","payload":' + payload + "}"


def _payload(result: ExecutionResult) -> str:
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [e.formatted for e in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return json.dumps(payload, separators=(",", ":"))


class Feed:
    def __init__(
        self,
        registry: SharedFeeds,
        key: FeedKey,
        operation: Operation[Any, Any],
        variables: dict[str, Any] | None,
        context: Context,
    ) -> None:
        self.key = key
        self.members: dict[Member, None] = {}  # insertion-ordered set
        self.last_payload: str | None = None
        self.ended = False
        self._registry = registry
        self._query = operation.query
        self._operation_name = operation.operation_name
        self._variables = variables
        self.context = context
        self.live = asyncio.Event()  # set once the feed listens and knows where it starts
        context.live = self.live
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            stream = await self._registry.schema.stream(
                self._query,
                variable_values=self._variables,
                context_value=self.context,
                operation_name=self._operation_name,
            )
            async with aclosing(stream):
                first = True
                async for result in stream:
                    if first and isinstance(result, PreExecutionError):
                        await self._end([e.formatted for e in result.errors or []])
                        return
                    first = False
                    if not isinstance(result, ExecutionResult):
                        await self._end([{"message": "incremental delivery is not supported"}])
                        return
                    self._deliver(_payload(result), self.context.last_revision)
            await self._end(None)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("a shared subscription failed")
            await self._end([{"message": "internal error; it has been logged"}])
        finally:
            self.ended = True
            self.live.set()
            self._registry.forget(self)

    def _deliver(self, payload: str, revision: int | None) -> None:
        self.last_payload = payload
        frames: dict[str, str] = {}
        for member in list(self.members):
            frame = frames.get(member.id_json)
            if frame is None:
                frame = frames[member.id_json] = member.frame(payload)
            if member.buffer is None:
                if member.wants(revision):
                    member.writer.write(frame)
            elif len(member.buffer) < BUFFER_LIMIT:
                member.buffer.append((revision, frame))
            else:
                member.writer.overflow()  # replaying for too long: cut off like any slow socket

    async def _end(self, errors: list[Any] | None) -> None:
        """Every member's operation ends: with `error` when the execution failed, else `complete`."""
        self.ended = True
        for member in list(self.members):
            self.members.pop(member, None)
            message: dict[str, Any] = (
                {"id": member.operation.id, "type": "error", "payload": errors}
                if errors is not None
                else {"id": member.operation.id, "type": "complete"}
            )
            await member.operation.send_operation_message(message)  # type: ignore[arg-type]

    async def admit(self, member: Member, replay: Callable[[], Context]) -> None:
        """Make `member` live: replay first when it resumes, else start from the last full frame
        (for lists such as `ongoingIssues`, the current state) when the field sends one."""
        self.members[member] = None
        if member.since is None:
            if self.last_payload is not None and self.key_field_sends_state:
                member.writer.write(member.frame(self.last_payload))
            return
        await self.live.wait()
        if self.ended:
            return
        context = replay()
        context.last_revision = member.since
        variables = dict(self._variables or {})
        shape = _shape(self._query, self._operation_name)
        assert shape is not None and shape.since_variable is not None
        variables[shape.since_variable] = member.since
        stream = await self._registry.schema.stream(
            self._query, variable_values=variables, context_value=context, operation_name=self._operation_name
        )
        async with aclosing(stream):
            async for result in stream:
                if isinstance(result, PreExecutionError) and member in self.members:
                    self.members.pop(member, None)
                    errors = [e.formatted for e in result.errors or []]
                    await member.operation.send_operation_message(
                        {"id": member.operation.id, "type": "error", "payload": errors}  # type: ignore[arg-type]
                    )
                    return
                if not isinstance(result, ExecutionResult) or member not in self.members:
                    return
                member.writer.write(member.frame(_payload(result)))
        member.replayed_to = context.last_revision
        buffered, member.buffer = member.buffer or [], None
        for revision, frame in buffered:
            if member.wants(revision):
                member.writer.write(frame)

    @property
    def key_field_sends_state(self) -> bool:
        shape = _shape(self._query, self._operation_name)
        return shape is not None and shape.field == "ongoingIssues"

    def leave(self, member: Member) -> None:
        self.members.pop(member, None)
        if not self.members and not self.ended:
            self.task.cancel()


class SharedFeeds:
    """Every running feed of this process, by key."""

    def __init__(self, schema: strawberry.Schema) -> None:
        self.schema = schema
        self._feeds: dict[FeedKey, Feed] = {}

    def join(
        self, operation: Operation[Any, Any], context: Context, writer: SocketWriter
    ) -> tuple[Feed, Member] | None:
        """The feed `operation` joins (created when it is the first of its key), or None when the
        operation is not shareable or the caller is not authenticated (it then runs on its own)."""
        shape = _shape(operation.query, operation.operation_name)
        if shape is None or context.actor is None:
            return None
        variables = dict(operation.variables or {})
        since = variables.pop(shape.since_variable, None) if shape.since_variable else None
        if since is not None and (isinstance(since, bool) or not isinstance(since, int | str)):
            return None  # let the per-subscriber path report the wrong type
        try:
            # Out of the Long scalar's bounds: the per-subscriber path answers with the typed error.
            since_value = parse_long(since) if since is not None else None
            canonical = json.dumps(variables, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError):
            return None
        actor = context.actor
        key = FeedKey(
            actor.account_id, actor.role.value, operation.query, operation.operation_name, canonical
        )
        feed = self._feeds.get(key)
        if feed is None or feed.ended:
            feed_context = Context(actor=actor, hub=context.hub)
            feed_variables = dict(variables)
            if shape.since_variable:
                feed_variables[shape.since_variable] = None
            feed = self._feeds[key] = Feed(self, key, operation, feed_variables, feed_context)
        return feed, Member(operation, writer, since_value)

    def forget(self, feed: Feed) -> None:
        if self._feeds.get(feed.key) is feed:
            del self._feeds[feed.key]

    def count(self) -> int:
        return len(self._feeds)

    def replaying(self) -> int:
        """Members still replaying their `since` (not live yet). Nothing in the gateway needs it: it lets
        a test wait for a resuming member to go live, which nothing a client sees tells apart."""
        return sum(member.buffer is not None for feed in self._feeds.values() for member in feed.members)


def replay_context(context: Context) -> Context:
    """A context for one member's bounded replay: its own caller, fresh loaders, ends when caught up."""
    return dataclasses.replace(context, loaders={}, replay_only=True, live=None)
