"""GraphQL subscriptions over graphql-transport-ws against real `andon serve` processes (SPEC section 11).

Every test talks to a gateway child process through real websockets (the `websockets` client), so each
wait is bounded: "nothing arrives" is shown by a later expected message arriving first (per
subscription, changes come in revision order). Covered: live delivery of issue changes with their revisions and filters; resuming
with `since` (replay, then live, no duplicate at the seam, replays longer than one feed page);
`ongoingIssues`; `stationStatusChanged` being accepted; authentication at `connection_init`
(4403), closing sockets whose credential is deleted, account isolation; two instances over Redis,
including a Redis restart (Postgres run only, with a redis-server of the test's own); a subscriber
that stops reading beside others that keep up.

Issues end by downtime detection, which arrives with signal ingestion: there is no REST path that ends
an ongoing issue yet, so "end" is covered only as an issue created already ended (`endAt`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from websockets.asyncio.client import connect as connect_async
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from resolvers.issues.feed import PAGE
from tests.conftest import SYSTEM_KEY, Tenant, new_tenant
from tests.gateway_process import Gateway, running_gateway, running_gateways, subprocess_database
from tests.helpers.issues import NO_AUTO_ESCALATION, ago, event, new_issue
from tests.helpers.waiting import poll
from tests.services import free_port, missing

PROTOCOL = Subprotocol("graphql-transport-ws")
# SPEC section 1: a change reaches every subscribed screen in well under a second.
DELIVERY_SECONDS = 1.0
REVOKED = 4403
SLOW_CONSUMER = 1013
# A subscription's inbox (realtime/hub.py): a subscriber this many changes behind is cut off.
INBOX = 256

ISSUE_CHANGED = """
subscription IssueChanged($stations: [String!], $plant: String, $since: Long) {
  issueChanged(stationCodes: $stations, plantCode: $plant, since: $since) {
    id revision accountId stationCode type isOngoing endAt isAcknowledged isEstimated excludedAt statusText
    events { type operatorInitials }
  }
}
"""
ONGOING_ISSUES = """
subscription Ongoing($stations: [String!]!) {
  ongoingIssues(stationCodes: $stations) {
    id revision type stationCode isOngoing isAcknowledged excludedAt statusText
  }
}
"""
STATION_STATUS = "subscription { stationStatusChanged { stationCode status at } }"


# --------------------------------------------------------------------------------------------------
# A graphql-transport-ws client over the synchronous `websockets` client: every wait has a timeout.
# --------------------------------------------------------------------------------------------------


class Socket:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send(json.dumps(message))

    def receive(self, timeout: float) -> dict[str, Any]:
        """The next protocol message other than a keep-alive ping (answered); TimeoutError after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            message: dict[str, Any] = json.loads(self.ws.recv(timeout=max(deadline - time.monotonic(), 0)))
            if message.get("type") == "ping":
                self.send({"type": "pong"})
                continue
            if message.get("type") != "pong":
                return message

    def subscribe(self, query: str, variables: dict[str, Any] | None = None, id: str = "1") -> None:
        self.send({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}})

    def message(self, timeout: float = DELIVERY_SECONDS) -> dict[str, Any]:
        try:
            return self.receive(timeout)
        except TimeoutError:
            pytest.fail(f"no message within {timeout} s")

    def next(self, id: str = "1", timeout: float = DELIVERY_SECONDS) -> Any:
        """The data of the next message, which must be a `next` of subscription `id` without errors."""
        message = self.message(timeout)
        assert message.get("id") == id and message.get("type") == "next", message
        assert "errors" not in message["payload"], message
        return message["payload"]["data"]

    def close_code(self, timeout: float) -> int | None:
        """Wait for the server to close the socket; its close code (messages before it are skipped)."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self.receive(max(deadline - time.monotonic(), 0))
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
        except TimeoutError:
            pytest.fail(f"the socket was still open after {timeout} s")


def ws_url(gateway: Gateway) -> str:
    return gateway.base_url.replace("http://", "ws://", 1) + "/graphql"


@contextmanager
def opened(
    gateway: Gateway, payload: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> Iterator[Socket]:
    """A websocket that has sent `connection_init` with `payload`; the answer is not read yet."""
    with connect(
        ws_url(gateway),
        subprotocols=[PROTOCOL],
        additional_headers=headers,
        proxy=None,
        open_timeout=5,
        close_timeout=2,
    ) as ws:
        sock = Socket(ws)
        sock.send({"type": "connection_init", "payload": payload or {}})
        yield sock


@contextmanager
def acknowledged(
    gateway: Gateway, payload: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> Iterator[Socket]:
    with opened(gateway, payload, headers) as sock:
        assert sock.message(5.0) == {"type": "connection_ack"}
        yield sock


def rejection(
    gateway: Gateway, payload: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> int | None:
    """The close code of a socket whose `connection_init` (or upgrade headers) the server refuses."""
    with opened(gateway, payload, headers) as sock:
        return sock.close_code(5.0)


def changed(data: Any) -> dict[str, Any]:
    return data["issueChanged"]  # type: ignore[no-any-return]


def within(seconds: float, started: float) -> None:
    took = time.monotonic() - started
    assert took < seconds, f"took {took:.3f} s (limit {seconds} s)"


# --------------------------------------------------------------------------------------------------
# One gateway process for the module, and fresh accounts on it
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    cwd = tmp_path_factory.mktemp("subscriptions")
    with (
        subprocess_database(cwd) as url,
        running_gateway({"ANDON_DATABASE_URL": url, "ANDON_SYSTEM_API_KEY": SYSTEM_KEY}, cwd) as gateway,
    ):
        yield gateway


@pytest.fixture(scope="module")
def http(gateway: Gateway) -> Iterator[httpx.Client]:
    with gateway.client() as client:
        yield client


def new_plant(http: httpx.Client, stations: tuple[str, ...] = ("S1", "S2")) -> Tenant:
    """A fresh account (its issue revision at 0) with escalation timers off and `stations`."""
    tenant = new_tenant(http)  # type: ignore[arg-type]  # Tenant only needs get/post/delete
    tenant.ok(tenant.post("/api/admin/config", {"config": NO_AUTO_ESCALATION}))
    for code in stations:
        tenant.ok(
            tenant.post(
                "/api/station", {"code": code, "name": f"Station {code}", "plantCode": tenant.plant_code}
            )
        )
    return tenant


@pytest.fixture
def plant(http: httpx.Client) -> Tenant:
    return new_plant(http)


def ok_event(t: Tenant, issue_id: int, **body: Any) -> None:
    response = event(t, issue_id, **body)
    assert response.status_code == 200, response.text


def api_key_with_id(t: Tenant, role: str = "member") -> tuple[int, str]:
    user = t.ok(t.post("/api/user", {"email": f"{role}-{uuid.uuid4().hex[:8]}@{t.domain}", "role": role}))
    key = t.ok(t.post("/api/apikey", {"userId": user["id"], "name": f"{role} key"}))
    return int(key["id"]), str(key["apiKey"])


# --------------------------------------------------------------------------------------------------
# issueChanged: live delivery, filters, resume
# --------------------------------------------------------------------------------------------------


@pytest.mark.timing
def test_issue_changes_arrive_within_a_second_each_with_increasing_revisions(
    gateway: Gateway, plant: Tenant
) -> None:
    with acknowledged(gateway, {"apiKey": plant.api_key}) as sock:
        # since: 0 on a fresh account: the create is delivered whether it beats the subscription or not.
        sock.subscribe(ISSUE_CHANGED, {"stations": ["S1"], "since": 0})

        started = time.monotonic()
        created = new_issue(plant, "S1")
        first = changed(sock.next())
        within(DELIVERY_SECONDS, started)
        assert (first["id"], first["accountId"], first["stationCode"]) == (
            created["id"],
            plant.account_id,
            "S1",
        )
        assert (first["isOngoing"], first["isAcknowledged"], first["events"]) == (True, False, [])
        assert first["statusText"] == "Awaiting acknowledgement"

        new_issue(plant, "S2")  # another station: not for this subscription (the next message proves it)
        started = time.monotonic()
        ok_event(plant, created["id"], type="acknowledge", operator="AB")
        acked = changed(sock.next())
        within(DELIVERY_SECONDS, started)
        assert acked["id"] == created["id"]
        assert (acked["isAcknowledged"], acked["statusText"]) == (True, "Awaiting estimate")
        assert acked["events"] == [{"type": "acknowledge", "operatorInitials": "AB"}]

        started = time.monotonic()
        ok_event(plant, created["id"], type="estimate", estimatedTime=30)
        estimated = changed(sock.next())
        within(DELIVERY_SECONDS, started)
        assert estimated["id"] == created["id"]
        assert estimated["isEstimated"] is True
        assert estimated["statusText"].startswith("Back at"), estimated
        assert [e["type"] for e in estimated["events"]] == ["acknowledge", "estimate"]

        # An issue that has already ended when it is recorded (the only "end" there is without signals).
        started = time.monotonic()
        ended = new_issue(plant, "S1", startAt=ago(minutes=20), endAt=ago(minutes=10))
        resolved = changed(sock.next())
        within(DELIVERY_SECONDS, started)
        assert resolved["id"] == ended["id"]
        assert (resolved["isOngoing"], resolved["statusText"]) == (False, "Resolved")
        assert resolved["endAt"] is not None

        revisions = [m["revision"] for m in (first, acked, estimated, resolved)]
        assert revisions == sorted(set(revisions)), revisions
        # Per account: the S2 create took the revision between the create and the acknowledge.
        assert revisions[1] - revisions[0] == 2, revisions


def test_without_since_only_changes_made_after_subscribing_arrive(gateway: Gateway, plant: Tenant) -> None:
    before = new_issue(plant, "S1")
    with acknowledged(gateway, {"apiKey": plant.api_key}) as sock:
        sock.subscribe(ISSUE_CHANGED, {"stations": ["S1"]})
        # The protocol has no "subscribed" signal: change again until the subscription has started.
        for _ in range(20):
            ok_event(plant, before["id"], type="estimate", estimatedTime=10)
            try:
                message = sock.receive(0.25)
            except TimeoutError:
                continue
            break
        else:
            pytest.fail("no change arrived on a subscription without `since`")
        assert message["type"] == "next", message
        data = changed(message["payload"]["data"])
        # The create made before subscribing is not replayed: the first message is a later estimate.
        assert (data["id"], data["isEstimated"]) == (before["id"], True)
        assert data["events"][-1]["type"] == "estimate"


def test_resume_with_since_replays_the_missed_changes_in_order_then_goes_live(
    gateway: Gateway, plant: Tenant
) -> None:
    with acknowledged(gateway, {"apiKey": plant.api_key}) as sock:
        sock.subscribe(ISSUE_CHANGED, {"since": 0})
        a = new_issue(plant, "S1")
        seen = changed(sock.next())
        assert seen["id"] == a["id"]
        last = seen["revision"]

    # Missed while disconnected: three changes of two issues.
    ok_event(plant, a["id"], type="acknowledge")
    b = new_issue(plant, "S2")
    ok_event(plant, a["id"], type="estimate", estimatedTime=15)

    with acknowledged(gateway, {"apiKey": plant.api_key}) as sock:
        sock.subscribe(ISSUE_CHANGED, {"since": last})
        # A live change made at once, while the replay may still be running: the seam.
        ok_event(plant, b["id"], type="exclude")
        got = [changed(sock.next()) for _ in range(4)]
        assert [(m["id"], m["revision"]) for m in got] == [
            (a["id"], last + 1),
            (b["id"], last + 2),
            (a["id"], last + 3),
            (b["id"], last + 4),
        ]
        assert got[-1]["excludedAt"] is not None
        # Nothing is sent twice: the next message is the next change, not a repeat of the seam.
        ok_event(plant, b["id"], type="include")
        after = changed(sock.next())
        assert (after["id"], after["revision"], after["excludedAt"]) == (b["id"], last + 5, None)


def test_a_replay_longer_than_one_feed_page_is_delivered_in_full(gateway: Gateway, plant: Tenant) -> None:
    """A client that resumes more than one page of changes behind gets all of them, without waiting
    for some new change to happen first."""
    issue = new_issue(plant, "S1")
    with ThreadPoolExecutor(4) as pool:  # with the create: PAGE + 5 changes, revisions 1 .. PAGE + 5
        list(pool.map(lambda _: ok_event(plant, issue["id"], type="watch"), range(PAGE + 4)))
    total = PAGE + 5
    with acknowledged(gateway, {"apiKey": plant.api_key}) as sock:
        sock.subscribe(TINY, {"since": 0})
        revisions: list[int] = []
        deadline = time.monotonic() + 15.0
        while len(revisions) < total:
            try:
                message = sock.receive(max(min(deadline - time.monotonic(), 2.0), 0))
            except TimeoutError:
                break
            assert message["type"] == "next" and "errors" not in message["payload"], message
            revisions.append(changed(message["payload"]["data"])["revision"])
        assert len(revisions) == total, (
            f"{len(revisions)} of {total} replayed changes arrived; the last was revision "
            f"{revisions[-1] if revisions else None}, then nothing for 2 s"
        )
        assert revisions == list(range(1, total + 1))


def test_station_and_plant_filters_select_the_changes(gateway: Gateway, plant: Tenant) -> None:
    plant.ok(plant.post("/api/plant", {"code": "P2", "name": "Second plant"}))
    plant.ok(plant.post("/api/station", {"code": "T1", "name": "Station T1", "plantCode": "P2"}))
    with acknowledged(gateway, {"apiKey": plant.api_key}) as sock:
        sock.subscribe(ISSUE_CHANGED, {"plant": "P2", "since": 0}, id="plant")
        sock.subscribe(ISSUE_CHANGED, {"stations": ["S2"], "since": 0}, id="station")
        sock.subscribe(STATION_STATUS, id="status")  # current statuses first (tests/test_detection.py)

        new_issue(plant, "S1")  # matches neither
        t1 = new_issue(plant, "T1")
        s2 = new_issue(plant, "S2")
        ok_event(plant, t1["id"], type="acknowledge")

        got: dict[str, list[tuple[int, bool]]] = {"plant": [], "station": []}
        deadline = time.monotonic() + 3 * DELIVERY_SECONDS
        while len(got["plant"]) < 2 or len(got["station"]) < 1:
            message = sock.message(max(deadline - time.monotonic(), 0))
            if message["id"] == "status":
                continue
            assert message["type"] == "next" and message["id"] in got, message
            issue = changed(message["payload"]["data"])
            got[message["id"]].append((issue["id"], issue["isAcknowledged"]))
        # Per subscription, changes come in revision order, so an S1 change would have come first.
        assert got == {"plant": [(t1["id"], False), (t1["id"], True)], "station": [(s2["id"], False)]}
        # Nor does anything come after: one more change for each, whose messages are the next ones.
        ok_event(plant, t1["id"], type="estimate", estimatedTime=10)
        ok_event(plant, s2["id"], type="acknowledge")
        later = _issue_messages(sock, {"plant", "station"}, 3 * DELIVERY_SECONDS)
        assert later == {"plant": (t1["id"], True, True), "station": (s2["id"], True, False)}


def _issue_messages(sock: Socket, ids: set[str], seconds: float) -> dict[str, tuple[int, bool, bool]]:
    """The next issue change (id, acknowledged, estimated) of each subscription in `ids`, station statuses
    skipped; a second one for a subscription before the others have theirs fails."""
    deadline = time.monotonic() + seconds
    got: dict[str, tuple[int, bool, bool]] = {}
    while len(got) < len(ids):
        message = sock.message(max(deadline - time.monotonic(), 0))
        if message["id"] == "status":
            continue
        assert message["type"] == "next" and message["id"] in ids - set(got), message
        issue = changed(message["payload"]["data"])
        got[message["id"]] = (issue["id"], issue["isAcknowledged"], issue["isEstimated"])
    return got


def test_subscription_errors_carry_their_code(gateway: Gateway, plant: Tenant) -> None:
    """SPEC 11: domain errors come back as typed errors with a code, subscriptions included."""
    with acknowledged(gateway, {"apiKey": plant.api_key}) as sock:
        sock.subscribe(ISSUE_CHANGED, {"stations": ["NOPE"]}, id="a")
        sock.subscribe(ONGOING_ISSUES, {"stations": ["NOPE"]}, id="b")
        # Either a `next` with the errors then a `complete`, or an `error` message, for each.
        errors: dict[str, list[dict[str, Any]]] = {}
        done: set[str] = set()
        while done != {"a", "b"}:
            message = sock.message(5.0)
            if message["type"] == "next":
                assert message["payload"]["data"] is None, message
                errors[message["id"]] = message["payload"]["errors"]
            elif message["type"] == "error":
                errors[message["id"]] = message["payload"]
                done.add(message["id"])
            else:
                assert message["type"] == "complete", message
                done.add(message["id"])
        assert set(errors) == {"a", "b"}, errors
        for [error] in errors.values():
            assert "NOPE" in error["message"]
            assert error.get("extensions", {}).get("code") == "not_found", error


# --------------------------------------------------------------------------------------------------
# ongoingIssues
# --------------------------------------------------------------------------------------------------


def test_ongoing_issues_sends_the_full_list_on_subscribe_and_after_every_change(
    gateway: Gateway, plant: Tenant
) -> None:
    old = new_issue(plant, "S1", startAt=ago(minutes=30))
    with acknowledged(
        gateway, {"accessCode": plant.ok(plant.post("/api/admin/access-code"))["code"]}
    ) as sock:
        sock.subscribe(ONGOING_ISSUES, {"stations": ["S1"]})
        [listed] = sock.next(timeout=5.0)["ongoingIssues"]
        assert (listed["id"], listed["isAcknowledged"], listed["isOngoing"]) == (old["id"], False, True)

        # Neither changes the S1 board: no message (the acknowledge's list comes first).
        new_issue(plant, "S2")
        new_issue(plant, "S1", startAt=ago(minutes=20), endAt=ago(minutes=10))
        started = time.monotonic()
        ok_event(plant, old["id"], type="acknowledge")
        [listed] = sock.next()["ongoingIssues"]
        within(DELIVERY_SECONDS, started)
        assert (listed["id"], listed["isAcknowledged"], listed["statusText"]) == (
            old["id"],
            True,
            "Awaiting estimate",
        )

        started = time.monotonic()
        slow = new_issue(plant, "S1", type="slow", startAt=ago(minutes=2))
        board = sock.next()["ongoingIssues"]
        within(DELIVERY_SECONDS, started)
        assert [(i["id"], i["type"]) for i in board] == [(slow["id"], "slow"), (old["id"], "stop")]

        started = time.monotonic()
        ok_event(plant, old["id"], type="exclude")
        board = sock.next()["ongoingIssues"]
        within(DELIVERY_SECONDS, started)
        assert [i["id"] for i in board] == [slow["id"], old["id"]]
        assert board[1]["excludedAt"] is not None and board[1]["statusText"] == "Excluded"
        assert board[0]["excludedAt"] is None
        assert board[1]["revision"] > board[0]["revision"]
        # An ongoing issue leaving the board (it ends) cannot be driven yet: issues end by downtime
        # detection, which comes with signal ingestion, and no REST path ends an ongoing issue.


# --------------------------------------------------------------------------------------------------
# Authentication, revocation, tenancy
# --------------------------------------------------------------------------------------------------


def test_wrong_or_missing_credentials_close_the_socket_with_4403(gateway: Gateway, plant: Tenant) -> None:
    assert rejection(gateway, {"apiKey": "not-a-key-" + uuid.uuid4().hex}) == REVOKED
    assert rejection(gateway, {"accessCode": "WRONGCODE1"}) == REVOKED
    assert rejection(gateway) == REVOKED
    assert rejection(gateway, headers={"X-API-KEY": "not-a-key-" + uuid.uuid4().hex}) == REVOKED
    assert rejection(gateway, headers={"X-ACCESS-CODE": "WRONGCODE2"}) == REVOKED
    # The right credentials in the upgrade headers are enough.
    with acknowledged(gateway, headers={"X-API-KEY": plant.api_key}) as sock:
        sock.subscribe(ISSUE_CHANGED, {"since": 0})
        created = new_issue(plant, "S1")
        assert changed(sock.next())["id"] == created["id"]


@pytest.mark.parametrize(
    "frame",
    [
        "[1, 2]",
        "5",
        '{"type": 5}',
        '{"id": "1", "type": "subscribe", "payload": 5}',
        '{"id": "1", "type": "subscribe", "payload": {"query": 5}}',
        '{"id": "1", "type": "subscribe", "payload": {"query": "subscription { x }", "variables": [1]}}',
        '{"id": 7, "type": "subscribe", "payload": {"query": "subscription { x }"}}',
        '{"type": "complete", "id": null}',
    ],
)
def test_a_malformed_message_closes_the_socket_with_4400(gateway: Gateway, plant: Tenant, frame: str) -> None:
    """graphql-transport-ws: a message that is not what the protocol says closes with 4400 and a
    reason; these raised past Strawberry's check and dropped the socket without a close frame."""
    with acknowledged(gateway, {"apiKey": plant.api_key}) as sock:
        sock.ws.send(frame)
        assert sock.close_code(5.0) == 4400
    # The gateway is unharmed: a well-formed subscription on a new socket works.
    with acknowledged(gateway, {"apiKey": plant.api_key}) as sock:
        sock.subscribe(ISSUE_CHANGED, {"since": 0})
        created = new_issue(plant, "S1")
        assert changed(sock.next())["id"] == created["id"]


def test_an_access_code_authenticates_and_deleting_it_closes_its_sockets(
    gateway: Gateway, plant: Tenant
) -> None:
    code = plant.ok(plant.post("/api/admin/access-code"))["code"]
    with ExitStack() as stack:
        by_payload = stack.enter_context(acknowledged(gateway, {"accessCode": code}))
        by_header = stack.enter_context(acknowledged(gateway, headers={"X-ACCESS-CODE": code}))
        admin = stack.enter_context(acknowledged(gateway, {"apiKey": plant.api_key}))
        for sock in (by_payload, by_header, admin):
            sock.subscribe(ISSUE_CHANGED, {"since": 0})
        created = new_issue(plant, "S1")
        for sock in (by_payload, by_header, admin):
            assert changed(sock.next())["id"] == created["id"]

        started = time.monotonic()
        response = plant.delete(f"/api/admin/access-code/{code}")
        assert response.status_code == 204, response.text
        assert by_payload.close_code(DELIVERY_SECONDS) == REVOKED
        assert by_header.close_code(DELIVERY_SECONDS) == REVOKED
        within(DELIVERY_SECONDS, started)

        # The admin's socket is untouched and still live.
        ok_event(plant, created["id"], type="acknowledge")
        assert changed(admin.next())["isAcknowledged"] is True
    assert rejection(gateway, {"accessCode": code}) == REVOKED


def test_deleting_an_api_key_closes_the_sockets_authenticated_with_it(
    gateway: Gateway, plant: Tenant
) -> None:
    key_id, key = api_key_with_id(plant, "read-only")
    with ExitStack() as stack:
        by_payload = stack.enter_context(acknowledged(gateway, {"apiKey": key}))
        by_header = stack.enter_context(acknowledged(gateway, headers={"X-API-KEY": key}))
        for sock in (by_payload, by_header):
            sock.subscribe(ISSUE_CHANGED, {"since": 0})
        created = new_issue(plant, "S1")
        for sock in (by_payload, by_header):
            assert changed(sock.next())["id"] == created["id"]

        started = time.monotonic()
        response = plant.delete(f"/api/apikey/{key_id}")
        assert response.status_code == 204, response.text
        assert by_payload.close_code(DELIVERY_SECONDS) == REVOKED
        assert by_header.close_code(DELIVERY_SECONDS) == REVOKED
        within(DELIVERY_SECONDS, started)


def test_a_socket_never_receives_another_accounts_changes(
    gateway: Gateway, plant: Tenant, http: httpx.Client
) -> None:
    other = new_plant(http)  # same station codes, another account
    with acknowledged(gateway, {"apiKey": plant.api_key}) as sock:
        sock.subscribe(ISSUE_CHANGED, {"since": 0}, id="all")
        sock.subscribe(ISSUE_CHANGED, {"stations": ["S1"], "since": 0}, id="s1")
        sock.subscribe(ONGOING_ISSUES, {"stations": ["S1"]}, id="board")
        assert sock.next("board", timeout=5.0) == {"ongoingIssues": []}

        theirs = new_issue(other, "S1")
        ok_event(other, theirs["id"], type="acknowledge")
        new_issue(other, "S2")
        mine = new_issue(plant, "S1")

        got: dict[str, Any] = {}
        while len(got) < 3:
            message = sock.message()
            assert message["type"] == "next" and message["id"] not in got, message
            got[message["id"]] = message["payload"]["data"]
        for id in ("all", "s1"):
            issue = changed(got[id])
            assert (issue["id"], issue["accountId"], issue["revision"]) == (mine["id"], plant.account_id, 1)
        assert [i["id"] for i in got["board"]["ongoingIssues"]] == [mine["id"]]
        # Nor does anything of theirs come after: the next message of each subscription is this account's
        # next change.
        ok_event(plant, mine["id"], type="acknowledge")
        later: dict[str, Any] = {}
        while len(later) < 3:
            message = sock.message()
            assert message["type"] == "next" and message["id"] not in later, message
            later[message["id"]] = message["payload"]["data"]
        for id in ("all", "s1"):
            issue = changed(later[id])
            assert (issue["id"], issue["accountId"], issue["revision"]) == (mine["id"], plant.account_id, 2)
        board = later["board"]["ongoingIssues"]
        assert [(i["id"], i["isAcknowledged"]) for i in board] == [(mine["id"], True)]


# --------------------------------------------------------------------------------------------------
# Two instances over Redis (Postgres run only), with a redis-server of the test's own
# --------------------------------------------------------------------------------------------------


class RedisServer:
    """A throw-away redis-server on 127.0.0.1:port, stoppable and restartable on the same port."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                *(self.binary, "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", str(self.directory)),
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=1)
        process = self.process

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        try:
            # Until it answers, or it has exited (it will not answer then).
            up = poll(answers, lambda ok: ok or process.poll() is not None, timeout=10.0)
        finally:
            client.close()
        if not up:
            pytest.fail(f"redis-server did not answer on port {self.port}: {self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None

    def log(self) -> str:
        path = self.directory / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""


def redis_server_binary() -> str:
    """redis-server on PATH; missing → failure under CI=true (make test installs it), skip locally."""
    binary = shutil.which("redis-server")
    if binary:
        return binary
    missing("redis-server is not on PATH: `make test` installs it (scripts/services.sh ensure_packages)")


@dataclass
class Pair:
    redis: RedisServer
    a: Gateway
    b: Gateway
    http_a: httpx.Client
    http_b: httpx.Client


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    """Two gateways on one Postgres database and one (own) Redis."""
    binary = redis_server_binary()
    cwd = tmp_path_factory.mktemp("subscriptions-redis")
    server = RedisServer(binary, cwd)
    with ExitStack() as stack:
        server.start()
        stack.callback(server.stop)
        url = stack.enter_context(subprocess_database(cwd))
        env = {"ANDON_DATABASE_URL": url, "ANDON_SYSTEM_API_KEY": SYSTEM_KEY, "ANDON_REDIS_URL": server.url}
        a, b = stack.enter_context(running_gateways(env, cwd, count=2))
        yield Pair(server, a, b, stack.enter_context(a.client()), stack.enter_context(b.client()))


def bus_state(http: httpx.Client, wanted: Callable[[str], bool], seconds: float = 10.0) -> str:
    """The instance's bus state from GET /api/health, polled until `wanted` or `seconds` pass."""
    return poll(lambda: str(http.get("/api/health").json().get("bus")), wanted, timeout=seconds)


@pytest.mark.postgres
@pytest.mark.redis
def test_a_change_made_through_one_instance_reaches_a_subscriber_of_the_other(pair: Pair) -> None:
    tenant = new_plant(pair.http_a)
    with acknowledged(pair.b, {"apiKey": tenant.api_key}) as sock:
        sock.subscribe(ISSUE_CHANGED, {"since": 0})
        started = time.monotonic()
        created = new_issue(tenant, "S1")
        got = changed(sock.next())
        within(DELIVERY_SECONDS, started)
        assert (got["id"], got["revision"]) == (created["id"], 1)
        started = time.monotonic()
        ok_event(tenant, created["id"], type="acknowledge")
        got = changed(sock.next())
        within(DELIVERY_SECONDS, started)
        assert (got["id"], got["revision"], got["isAcknowledged"]) == (created["id"], 2, True)


@pytest.mark.postgres
@pytest.mark.redis
def test_a_subscriber_misses_nothing_when_redis_restarts(pair: Pair) -> None:
    tenant = new_plant(pair.http_a)
    seen: list[tuple[int, int]] = []
    with ExitStack() as stack:
        socks: list[Socket] = []

        def subscribe(since: int) -> None:
            socks.append(stack.enter_context(acknowledged(pair.b, {"apiKey": tenant.api_key})))
            socks[-1].subscribe(ISSUE_CHANGED, {"since": since})

        def collect(count: int, seconds: float) -> None:
            """Read until `seen` holds `count` changes or `seconds` pass."""
            deadline = time.monotonic() + seconds
            while len(seen) < count and time.monotonic() < deadline:
                try:
                    message = socks[-1].receive(min(deadline - time.monotonic(), 0.5))
                except TimeoutError:
                    continue
                except ConnectionClosed:
                    # A server that closes instead of resyncing: resume by revision, as clients do.
                    subscribe(seen[-1][1])
                    continue
                assert message["type"] == "next" and "errors" not in message["payload"], message
                got = changed(message["payload"]["data"])
                seen.append((got["id"], got["revision"]))

        subscribe(0)
        created = new_issue(tenant, "S1")
        collect(1, DELIVERY_SECONDS)
        assert seen == [(created["id"], 1)]

        pair.redis.stop()
        assert bus_state(pair.http_b, lambda state: state != "ok") != "ok", "B did not notice Redis stop"
        # Changes through A while Redis is down: committed and answered, but B hears nothing of them.
        ok_event(tenant, created["id"], type="acknowledge")
        ok_event(tenant, created["id"], type="estimate", estimatedTime=20)
        pair.redis.start()

        # Back on Redis, B's subscriber catches up by revision before any further change is made.
        collect(3, 15.0)
        assert seen == [(created["id"], 1), (created["id"], 2), (created["id"], 3)], (
            f"B's subscriber saw {seen} within 15 s of Redis coming back"
        )
        assert bus_state(pair.http_b, lambda state: state == "ok") == "ok"

        # The next change through A: live again, over the Redis that came back.
        started = time.monotonic()
        other = new_issue(tenant, "S2")
        collect(4, 5.0)
        assert seen[3:] == [(other["id"], 4)], (
            f"the first change made through A after Redis came back did not reach B within 5 s: {seen}"
        )
        within(DELIVERY_SECONDS, started)
        # And nothing twice: the message after it is the change after it.
        ok_event(tenant, other["id"], type="acknowledge")
        collect(5, 5.0)
        assert seen[4:] == [(other["id"], 5)], f"after {other['id']}'s create, B's subscriber saw {seen}"


# --------------------------------------------------------------------------------------------------
# A subscriber that stops reading, beside a hundred that keep up
# --------------------------------------------------------------------------------------------------

CHANGES = 300  # `watch` events, round-robin over ISSUES ended issues
ISSUES = 5
PRELUDE = 40  # changes before anyone subscribes: the issues' creates and `watch` events
CHANGES_PER_SECOND = 20.0  # with a hundred readers
MAKE_SECONDS = 20.0  # at most this long to make the changes as fast as they go
CATCH_UP_SECONDS = 3.0  # after the last change, for the last deliveries
P99_SECONDS = 1.0
TINY = "subscription($since: Long) { issueChanged(since: $since) { id revision } }"
# The stuck client holds the most subscriptions a connection may have, each asking for the station's
# (long) name many times over: cheap to compute, but about 120 kB per change, so the replay of the
# PRELUDE alone is more than its socket buffers hold (about 3 MB on loopback here).
STUCK_SUBSCRIPTIONS = 20
LONG_NAME = "Station S1 " + "x" * 189  # the longest a name may be (200)
HUGE = (
    "subscription($since: Long) { issueChanged(since: $since) { id revision "
    + " ".join(f"n{n}: stationName" for n in range(28))
    + " } }"
)


def _frame(message: dict[str, Any]) -> bytes:
    """A masked client text frame."""
    data = json.dumps(message).encode()
    mask = os.urandom(4)
    length = len(data)
    if length < 126:
        header = bytes([0x81, 0x80 | length])
    elif length < 1 << 16:
        header = bytes([0x81, 0x80 | 126]) + struct.pack("!H", length)
    else:
        header = bytes([0x81, 0x80 | 127]) + struct.pack("!Q", length)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


@dataclass
class StuckClient:
    """A graphql-transport-ws client on a raw socket with a tiny receive buffer, which stops reading
    once it has subscribed (and reads again only when told to)."""

    sock: socket.socket
    buffer: bytes = b""
    received_bytes: int = 0
    nexts: int = 0
    close_code: int | None = None
    texts: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, gateway: Gateway, api_key: str) -> StuckClient:
        host, port = gateway.base_url.removeprefix("http://").rsplit(":", 1)
        sock = socket.socket()
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.settimeout(5.0)
            sock.connect((host, int(port)))
            key = base64.b64encode(os.urandom(16)).decode()
            sock.sendall(
                (
                    f"GET /graphql HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                    f"Sec-WebSocket-Protocol: {PROTOCOL}\r\n\r\n"
                ).encode()
            )
            client = cls(sock)
            while b"\r\n\r\n" not in client.buffer:
                assert client._fill(), client.buffer
            head, client.buffer = client.buffer.split(b"\r\n\r\n", 1)
            assert head.startswith(b"HTTP/1.1 101"), head
            client.send({"type": "connection_init", "payload": {"apiKey": api_key}})
            client.read(until_text=True)
            assert client.texts == ['{"type":"connection_ack"}'], client.texts
            for n in range(STUCK_SUBSCRIPTIONS):
                client.send(
                    {
                        "id": f"s{n}",
                        "type": "subscribe",
                        "payload": {"query": HUGE, "variables": {"since": 0}},
                    }
                )
        except BaseException:
            sock.close()
            raise
        return client

    def send(self, message: dict[str, Any]) -> None:
        self.sock.sendall(_frame(message))

    def _fill(self) -> bool:
        data = self.sock.recv(1 << 16)
        self.received_bytes += len(data)
        self.buffer += data
        return bool(data)

    def _frame(self) -> tuple[int, bytes] | None:
        if len(self.buffer) < 2:
            return None
        opcode, length, at = self.buffer[0] & 0x0F, self.buffer[1] & 0x7F, 2
        if length == 126:
            if len(self.buffer) < 4:
                return None
            length, at = struct.unpack("!H", self.buffer[2:4])[0], 4
        elif length == 127:
            if len(self.buffer) < 10:
                return None
            length, at = struct.unpack("!Q", self.buffer[2:10])[0], 10
        if len(self.buffer) < at + length:
            return None
        payload, self.buffer = self.buffer[at : at + length], self.buffer[at + length :]
        return opcode, payload

    def read(self, *, until_text: bool = False, idle: float = 2.0, limit: float = 10.0) -> None:
        """Read frames (counting `next` messages) until a text frame if `until_text`, else until the
        close frame or the end of the connection; stop early after `idle` s without data or `limit` s."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            frame = self._frame()
            if frame is None:
                self.sock.settimeout(max(min(idle, deadline - time.monotonic()), 0.01))
                try:
                    if not self._fill():
                        return
                except (TimeoutError, ConnectionError):
                    return
                continue
            opcode, payload = frame
            if opcode == 0x8:
                self.close_code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                return
            if opcode == 0x1:
                text = payload.decode()
                if '"type":"next"' in text:
                    self.nexts += 1
                else:
                    self.texts.append(text)
                if until_text:
                    return


async def _fast_subscriber(
    gateway: Gateway, api_key: str, received: dict[int, float], caught_up: asyncio.Event
) -> None:
    """Reads every message as it comes; `received` maps each revision to when it arrived. `caught_up`
    is set once the PRELUDE changes have been replayed."""
    async with connect_async(ws_url(gateway), subprotocols=[PROTOCOL], proxy=None, open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"apiKey": api_key}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10)) == {"type": "connection_ack"}
        await ws.send(
            json.dumps(
                {"id": "1", "type": "subscribe", "payload": {"query": TINY, "variables": {"since": 0}}}
            )
        )
        async for raw in ws:
            message = json.loads(raw)
            if message["type"] == "ping":
                await ws.send(json.dumps({"type": "pong"}))
                continue
            assert message["type"] == "next" and "errors" not in message["payload"], message
            revision = message["payload"]["data"]["issueChanged"]["revision"]
            assert revision not in received, f"revision {revision} twice"
            received[revision] = time.monotonic()
            if len(received) >= PRELUDE:
                caught_up.set()


@dataclass
class Fanout:
    made: dict[int, float]  # revision → when the request that made it was sent
    making: float  # seconds spent making them
    make_seconds: float  # the time they were allowed
    received: list[dict[int, float]]  # per fast subscriber
    stuck: StuckClient

    def problems(self, *, p99_limit: float) -> list[str]:
        latencies = sorted(r[rev] - self.made[rev] for r in self.received for rev in self.made if rev in r)
        everything = range(1, PRELUDE + len(self.made) + 1)
        missing = sum(1 for r in self.received for rev in everything if rev not in r)
        problems = []
        if len(self.made) < CHANGES:
            problems.append(
                f"only {len(self.made)} of {CHANGES} changes could be made in {self.make_seconds} s"
            )
        if missing:
            problems.append(f"{missing} deliveries were missing {CATCH_UP_SECONDS} s after the last change")
        if any(list(r) != sorted(r) for r in self.received):
            problems.append("a subscriber received changes out of revision order")
        p99 = latencies[max(int(len(latencies) * 0.99) - 1, 0)] if latencies else float("inf")
        if not latencies:
            problems.append("no change was delivered at all")
        elif p99 >= p99_limit:
            problems.append(
                f"p99 delivery latency {p99:.3f} s (p50 {latencies[len(latencies) // 2]:.3f} s, "
                f"max {latencies[-1]:.3f} s) over {len(latencies)} deliveries"
            )
        if len(self.made) <= INBOX:
            problems.append(f"(the stuck subscriber is not judged: it cannot fall {INBOX} changes behind)")
        elif self.stuck.close_code != SLOW_CONSUMER:
            problems.append(
                f"the stuck subscriber was not closed with {SLOW_CONSUMER} (close code "
                f"{self.stuck.close_code}; once it read again: {self.stuck.nexts} messages, "
                f"{self.stuck.received_bytes} bytes)"
            )
        elif self.stuck.nexts >= STUCK_SUBSCRIPTIONS * (PRELUDE + len(self.made)):
            problems.append(f"the stuck subscriber still got all {self.stuck.nexts} messages")
        if problems:
            problems.insert(
                0,
                f"{len(self.made)} changes in {self.making:.1f} s to {len(self.received)} subscribers "
                f"+ 1 stuck ({STUCK_SUBSCRIPTIONS} subscriptions):",
            )
        return problems


async def fan_out(gateway: Gateway, tenant: Tenant, subscribers: int, per_second: float | None) -> Fanout:
    """PRELUDE changes; then one stuck client and `subscribers` readers subscribe with since 0 (the
    stuck one's replay alone is more than its buffers hold, so it is stuck from the start); then
    CHANGES changes one after the other, at `per_second` at most and within 1 s more than that takes
    (as fast as they go and within MAKE_SECONDS without `per_second`); at last the stuck client reads
    what it was sent."""
    # The pace is a target, not the property under test (delivery delay is): on a shared 2-core machine
    # the requests that make the changes may run up to twice as long as the pace asks.
    make_seconds = 2 * CHANGES / per_second if per_second else MAKE_SECONDS
    issue_ids = [
        new_issue(tenant, "S1", startAt=ago(minutes=20), endAt=ago(minutes=10))["id"] for _ in range(ISSUES)
    ]
    for n in range(PRELUDE - ISSUES):
        ok_event(tenant, issue_ids[n % ISSUES], type="watch")
    stuck = StuckClient.open(gateway, tenant.api_key)
    try:
        received: list[dict[int, float]] = [{} for _ in range(subscribers)]
        ready = [asyncio.Event() for _ in range(subscribers)]
        tasks = [
            asyncio.create_task(_fast_subscriber(gateway, tenant.api_key, received[n], ready[n]))
            for n in range(subscribers)
        ]
        made: dict[int, float] = {}
        try:
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ready)), 20.0)
            async with httpx.AsyncClient(
                base_url=gateway.base_url,
                headers={"X-API-KEY": tenant.api_key},
                trust_env=False,
                timeout=10.0,
            ) as client:
                begun = time.monotonic()
                for n in range(CHANGES):
                    now = time.monotonic()
                    if now - begun > make_seconds:
                        break
                    if per_second and begun + n / per_second > now:
                        await asyncio.sleep(begun + n / per_second - now)
                    sent = time.monotonic()
                    issue_id = issue_ids[n % ISSUES]
                    response = await client.post(f"/api/issue/{issue_id}/event", json={"type": "watch"})
                    assert response.status_code == 200, response.text
                    made[PRELUDE + n + 1] = sent
                making = time.monotonic() - begun
            deadline = time.monotonic() + CATCH_UP_SECONDS
            while time.monotonic() < deadline and any(len(r) < PRELUDE + len(made) for r in received):
                await asyncio.sleep(0.05)
        finally:
            for task in tasks:
                task.cancel()
            results = await asyncio.gather(*tasks, return_exceptions=True)
        failures = [r for r in results if isinstance(r, Exception)]
        assert not failures, failures[:3]
        # The stuck client reads at last: what was buffered for it, then (as it fell more than a
        # subscription's inbox behind) the close.
        await asyncio.to_thread(stuck.read)
    finally:
        stuck.sock.close()
    return Fanout(made, making, make_seconds, received, stuck)


def stuck_plant(http: httpx.Client) -> Tenant:
    tenant = new_plant(http, ("S1",))
    tenant.ok(tenant.post("/api/station", {"code": "S1", "name": LONG_NAME, "plantCode": tenant.plant_code}))
    return tenant


# The fan-out is the hub's and the sockets', the same whatever the database: once, and alone (it makes
# changes as fast as it can and checks their delivery latency).
@pytest.mark.backend_independent
@pytest.mark.timing
async def test_a_stuck_subscriber_is_closed_with_1013_and_the_others_get_every_change(
    gateway: Gateway, http: httpx.Client
) -> None:
    """The slow-consumer rule on its own: a few readers, changes as fast as they can be made."""
    result = await fan_out(gateway, stuck_plant(http), 3, None)
    problems = result.problems(p99_limit=P99_SECONDS)
    assert not problems, "\n".join(problems)


@pytest.mark.backend_independent
@pytest.mark.timing
async def test_a_stuck_subscriber_does_not_delay_a_hundred_others(
    gateway: Gateway, http: httpx.Client
) -> None:
    """A hundred readers and one stuck client; 300 changes at 20 a second: every reader gets every
    change, 99 % of them within P99_SECONDS of the request that made it."""
    result = await fan_out(gateway, stuck_plant(http), 100, CHANGES_PER_SECOND)
    problems = result.problems(p99_limit=P99_SECONDS)
    assert not problems, "\n".join(problems)
