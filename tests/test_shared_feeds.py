"""Shared subscription feeds and the per-socket writer (schema/shared_feeds.py, realtime/writer.py).

The end-to-end behaviour (delivery, resume, slow consumers) is covered against real gateway processes in
tests/test_subscriptions.py; here: that subscribers of one key really share one execution, that keys
keep accounts and filters apart, and the writer's ordering and overflow rules.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from realtime.writer import SocketWriter
from resolvers.common import changes
from resolvers.common.changes import Change
from schema.shared_feeds import SharedFeeds
from tests.conftest import Tenant
from tests.helpers.issues import NO_AUTO_ESCALATION, ago, new_issue
from tests.helpers.waiting import poll

# Feeds start and end within milliseconds; generous for a loaded machine.
FEED_SECONDS = 10.0

ISSUE_CHANGED = """
subscription Changed($stations: [String!], $since: Long) {
  issueChanged(stationCodes: $stations, since: $since) { id revision stationCode }
}
"""


@pytest.fixture
def plant(tenant: Tenant) -> Tenant:
    """Stations S1 and S2, no automatic escalation (its events would interleave with the test's)."""
    tenant.ok(tenant.post("/api/admin/config", {"config": NO_AUTO_ESCALATION}))
    for code in ("S1", "S2"):
        tenant.ok(tenant.post("/api/station", {"code": code, "name": code, "plantCode": tenant.plant_code}))
    return tenant


def feeds(client: TestClient) -> SharedFeeds:
    return client.app.state.graphql.feeds  # type: ignore[attr-defined, no-any-return]


@contextmanager
def subscribed(client: TestClient, api_key: str, variables: dict[str, Any]) -> Iterator[Any]:
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"apiKey": api_key}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json(
            {"id": "1", "type": "subscribe", "payload": {"query": ISSUE_CHANGED, "variables": variables}}
        )
        yield ws


def next_issue(ws: Any) -> dict[str, Any]:
    message = ws.receive_json()
    assert message["type"] == "next", message
    return message["payload"]["data"]["issueChanged"]  # type: ignore[no-any-return]


def wait_for_feeds(client: TestClient, count: int) -> None:
    found = poll(feeds(client).count, lambda n: n == count, timeout=FEED_SECONDS)
    assert found == count


def test_subscribers_of_one_key_share_one_feed_and_others_get_their_own(
    plant: Tenant,
    other_tenant: Tenant,
) -> None:
    client = plant.client
    before = feeds(client).count()
    with ExitStack() as stack:
        same = [
            stack.enter_context(subscribed(client, plant.api_key, {"stations": ["S1"]})) for _ in range(3)
        ]
        # Another filter, and the same document in another account: two more feeds.
        s2 = stack.enter_context(subscribed(client, plant.api_key, {"stations": ["S2"]}))
        other_tenant.ok(
            other_tenant.post(
                "/api/station", {"code": "S1", "name": "S1", "plantCode": other_tenant.plant_code}
            )
        )
        other = stack.enter_context(subscribed(client, other_tenant.api_key, {"stations": ["S1"]}))
        wait_for_feeds(client, before + 3)

        issue = new_issue(plant, "S1")
        for ws in same:
            assert next_issue(ws)["id"] == issue["id"]
        elsewhere = new_issue(plant, "S2")
        assert next_issue(s2)["id"] == elsewhere["id"]
        mine = new_issue(other_tenant, "S1")
        # The other account's subscriber sees its own issue first: never the first account's.
        assert next_issue(other)["id"] == mine["id"]
    wait_for_feeds(client, before)


def test_a_resuming_member_replays_then_follows_the_shared_feed(plant: Tenant) -> None:
    client = plant.client
    before = feeds(client).count()
    with subscribed(client, plant.api_key, {"stations": ["S1"]}) as live:
        first = ended_issue(plant)
        seen = next_issue(live)
        assert seen["id"] == first["id"]
        second = ended_issue(plant)
        assert next_issue(live)["id"] == second["id"]
        # Joins the running feed of the same key, replays what came after `first`, then goes live.
        with subscribed(client, plant.api_key, {"stations": ["S1"], "since": seen["revision"]}) as late:
            assert feeds(client).count() == before + 1
            replayed = next_issue(late)
            assert replayed["id"] == second["id"]
            third = ended_issue(plant)
            assert next_issue(late)["id"] == third["id"]
            assert next_issue(live)["id"] == third["id"]
    wait_for_feeds(client, before)


def ended_issue(plant: Tenant) -> dict[str, Any]:
    return new_issue(plant, "S1", startAt=ago(minutes=20), endAt=ago(minutes=10))


# --- the writer ----------------------------------------------------------------------------------


class Peer:
    """A socket's send: completes at once while `open`, waits (as a full TCP buffer does) otherwise."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.open.set()
        self.received: list[str] = []
        # Sends begun and ended (delivered, or abandoned by the writer while waiting).
        self.started = 0
        self.ended = 0
        self._ended = asyncio.Event()

    async def send(self, frame: str) -> None:
        self.started += 1
        try:
            await self.open.wait()
            self.received.append(frame)
        finally:
            self.ended += 1
            self._ended.set()

    async def until(self, done: Callable[[], bool]) -> None:
        """Wait for `done()`, looked at again whenever a send ends; fails after FEED_SECONDS."""

        async def wait() -> None:
            while not done():
                self._ended.clear()
                await self._ended.wait()

        await asyncio.wait_for(wait(), FEED_SECONDS)


async def test_the_writer_sends_at_once_without_a_task_while_the_peer_keeps_up() -> None:
    peer = Peer()
    writer = SocketWriter(peer.send, on_overflow=lambda: pytest.fail("no overflow expected"))
    tasks_before = len(asyncio.all_tasks())
    for n in range(5):
        writer.write(str(n))
    # Delivered synchronously, in order, and nothing was scheduled to do it.
    assert peer.received == ["0", "1", "2", "3", "4"]
    assert len(asyncio.all_tasks()) == tasks_before


async def test_the_writer_queues_behind_a_waiting_send_and_keeps_the_order() -> None:
    peer = Peer()
    writer = SocketWriter(peer.send, on_overflow=lambda: pytest.fail("no overflow expected"))
    peer.open.clear()
    for n in range(10):
        writer.write(str(n))
    # One pass of the loop (a yield, not a wait): the task finishing the first send, ready since that
    # write, has run up to its wait for the peer. Nothing else was started meanwhile.
    await asyncio.sleep(0)
    assert peer.received == [] and writer.queued == 9 and peer.started == 1
    peer.open.set()
    await peer.until(lambda: len(peer.received) == 10)
    assert peer.received == [str(n) for n in range(10)]
    writer.write("10")  # the peer keeps up again: back to sending at once
    assert peer.received[-1] == "10"


async def test_the_writer_gives_up_once_past_its_limit() -> None:
    peer = Peer()
    overflows: list[int] = []
    writer = SocketWriter(peer.send, on_overflow=lambda: overflows.append(1), limit=3)
    peer.open.clear()
    writer.write("0")
    # One pass of the loop (a yield, not a wait): the task finishing that send waits for the peer now, as
    # a slow socket's does by the time it overflows.
    await asyncio.sleep(0)
    for n in range(1, 10):
        writer.write(str(n))
    assert overflows == [1] and writer.closed
    peer.open.set()
    # The waiting send ends either way: abandoned (the writer cancels its task) or delivered, now that the
    # peer reads.
    await peer.until(lambda: peer.ended == peer.started)
    assert peer.received == []  # the waiting send was abandoned, nothing queued was sent
    writer.write("late")
    assert peer.received == [] and overflows == [1]


def test_websocket_disconnect_is_not_an_error_for_the_writer() -> None:
    async def gone(frame: str) -> None:
        raise WebSocketDisconnect(1006)

    async def run() -> None:
        writer = SocketWriter(gone, on_overflow=lambda: pytest.fail("no overflow expected"))
        writer.write("x")
        assert writer.closed

    asyncio.run(run())


def test_station_status_subscriptions_are_not_shared(plant: Tenant) -> None:
    """Each subscriber must get every station's current status first, which one shared frame cannot give."""
    client = plant.client
    before = feeds(client).count()
    issue = ended_issue(plant)
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"apiKey": plant.api_key}})
        assert ws.receive_json()["type"] == "connection_ack"
        query = "subscription { stationStatusChanged { stationCode status } }"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": query}})
        # Then a shared one on the same socket, resuming from before the issue so it sends a frame
        # whenever its feed starts listening. Each subscribe message starts a task, in order, and a task
        # joins its feed (or not) in its first step: once the second one's frame is here, the first
        # subscription has made a feed if it was ever going to.
        variables = {"stations": ["S1"], "since": issue["revision"] - 1}
        ws.send_json(
            {"id": "2", "type": "subscribe", "payload": {"query": ISSUE_CHANGED, "variables": variables}}
        )
        while (message := ws.receive_json())["id"] != "2":
            assert message["type"] == "next" and message["id"] == "1", message
        assert message["type"] == "next", message
        assert message["payload"]["data"]["issueChanged"]["id"] == issue["id"]
        assert feeds(client).count() == before + 1  # the issueChanged feed only
    wait_for_feeds(client, before)


def test_a_change_published_after_the_replay_read_it_is_not_sent_twice(
    plant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change commits, its publish comes later (held here; on a busy gateway, whatever runs between
    commit and publish), and a member resuming meanwhile replays it from the log. When the publish
    reaches the feed the member is live: it must not get the change a second time."""
    client = plant.client
    portal = client.portal
    assert portal is not None
    before = feeds(client).count()

    class Held:
        def __init__(self, inner: Any, account_id: str) -> None:
            self.inner = inner
            self.account_id = account_id
            self.release = asyncio.Event()
            # Set when an issue change of the account reaches the publisher: its transaction committed.
            self.holding = threading.Event()

        async def publish(self, change: Change) -> None:
            if change.kind == "issue" and change.account_id == self.account_id:
                self.holding.set()
            await self.release.wait()
            await self.inner.publish(change)

    with subscribed(client, plant.api_key, {"stations": ["S1"]}) as live:
        first = ended_issue(plant)
        seen = next_issue(live)
        held = portal.call(lambda: _made(Held, changes._publisher, plant.account_id))
        monkeypatch.setattr(changes, "_publisher", held)
        with ThreadPoolExecutor(1) as pool:
            second = pool.submit(ended_issue, plant)
            assert held.holding.wait(FEED_SECONDS), "the second issue was not published"  # committed, held
            with subscribed(client, plant.api_key, {"stations": ["S1"], "since": seen["revision"]}) as late:
                replayed = next_issue(late)
                assert replayed["revision"] == seen["revision"] + 1
                # The member goes live when its replay has ended, a moment after the replay's last frame.
                replaying = poll(
                    lambda: portal.call(feeds(client).replaying), lambda n: n == 0, timeout=FEED_SECONDS
                )
                assert replaying == 0, "the resuming member is still replaying"
                monkeypatch.setattr(changes, "_publisher", held.inner)
                portal.call(_set, held.release)
                assert second.result(10)["id"] == replayed["id"]
                assert next_issue(live)["id"] == replayed["id"]
                third = ended_issue(plant)
                assert next_issue(late)["id"] == third["id"]  # not `second` again
    assert first["id"] != third["id"]
    wait_for_feeds(client, before)


async def _made(cls: Any, *args: Any) -> Any:
    return cls(*args)  # built inside the app's loop: its asyncio.Event belongs there


async def _set(event: asyncio.Event) -> None:
    event.set()
