"""Faults under load with the real services (docs/reliability.md): while signals (MQTT, QoS 1), issue
changes and emails flow through one `andon serve`, Redis, Mosquitto, Postgres and the SMTP server are
each stopped and started again, one per test; afterwards the books reconcile:

- signals: every station's windows count exactly its last running total (nothing counted twice, the
  last total applied whatever was lost or redelivered on the way);
- changes: a subscriber that resumes with `since` after every disconnect has seen every change of the
  account (each `issue_change` revision) exactly once, in order;
- emails: every email of the outbox arrived at the SMTP server exactly once (unique Message-IDs, one
  per outbox row), checked after a later email through the same outbox arrived.

Every service here is the test's own (free ports, a Postgres cluster in a temporary folder), so
stopping one disturbs no other test. Postgres run only: the gateway needs a Postgres to lose.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import shutil
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from starlette.testclient import TestClient
from tortoise.backends.asyncpg.client import TransactionWrapper
from tortoise.connection import get_connections
from tortoise.transactions import in_transaction
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from models.outbox import OutboxMessage
from tests.gateway_process import Gateway, running_gateway
from tests.helpers.issues import NO_AUTO_ESCALATION, iso
from tests.helpers.servers import OwnServer, mosquitto, redis_server
from tests.helpers.waiting import poll
from tests.services import free_port, missing
from tests.smtp_sink import SmtpSink

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.mqtt]

SYSTEM_KEY = "faults-system-key-" + uuid.uuid4().hex
SIGNAL_STATIONS = ("sig1", "sig2", "sig3")
ISSUE_STATION = "line"
# Each flow makes this many steps before a fault, during it and after it: the fault lands in traffic.
STEPS = 3
NOTICE_SECONDS = 15.0  # for the gateway to report a service down or back (GET /api/health)
SETTLE_SECONDS = 20.0  # after the load stops, for the books to balance
TICK_SECONDS = 0.1  # between two signals of a station, and between two issues
ISSUE_CHANGED = "subscription($since: Long) { issueChanged(since: $since) { id revision } }"


# --------------------------------------------------------------------------------------------------
# The services, each stoppable and restartable on its port
# --------------------------------------------------------------------------------------------------


def _binary(name: str, *fallbacks: str) -> str:  # initdb is in no PATH: the cluster's version folder
    for candidate in (shutil.which(name), *fallbacks):
        if candidate and Path(candidate).exists():
            return candidate
    missing(f"{name} is not installed: `make test` installs it (scripts/services.sh ensure_packages)")


class Postgres:
    """A cluster of the test's own in a folder the postgres user can reach (initdb as that user when
    root, as scripts/services.sh does)."""

    def __init__(self) -> None:
        initdb = _binary("initdb", *sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True))
        self.bin = Path(initdb).parent
        self.root = Path(tempfile.mkdtemp(prefix="andon-faults-pg-"))
        self.root.chmod(0o755)
        shutil.chown(self.root, "postgres") if _root() else None
        self.data = self.root / "data"
        self.port = free_port()
        self._as_pg(
            str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8"
        )

    @property
    def dsn(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}"

    def _as_pg(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if _root() else []
        result = subprocess.run([*prefix, *command], capture_output=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr.decode(errors="replace")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_pg(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "pg.log"),
            "-w",
            "-o",
            options,
            "start",
        )

    def stop(self) -> None:
        self._as_pg(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def _root() -> bool:
    import os

    return os.geteuid() == 0


class Smtp:
    """The aiosmtpd sink, stopped and started as a service."""

    def __init__(self) -> None:
        self.sink = SmtpSink()

    def start(self) -> None:
        self.sink.start()

    def stop(self) -> None:
        self.sink.stop()


@dataclass
class Plant:
    """Everything the tests share: the services and one gateway using all of them."""

    postgres: Postgres
    redis: OwnServer
    mosquitto: OwnServer
    smtp: Smtp
    gateway: Gateway
    database: str
    http: httpx.Client


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plant]:
    directory = tmp_path_factory.mktemp("faults")
    with ExitStack() as stack:
        postgres = Postgres()
        stack.callback(postgres.remove)
        postgres.start()
        database = f"{postgres.dsn}/andon"
        asyncio.run(_sql(f"{postgres.dsn}/postgres", "CREATE DATABASE andon"))
        services = redis_server(directory), mosquitto(directory, persistent=True), Smtp()
        for service in services:
            service.start()
            stack.callback(service.stop)
        redis, broker, smtp = services
        env = {
            "ANDON_DATABASE_URL": database,
            "ANDON_SYSTEM_API_KEY": SYSTEM_KEY,
            "ANDON_REDIS_URL": f"redis://127.0.0.1:{redis.port}/0",
            "ANDON_MQTT_URL": f"mqtt://127.0.0.1:{broker.port}",
            "ANDON_MQTT_CLIENT_ID": f"faults-{uuid.uuid4().hex[:8]}",
            "ANDON_MQTT_FLUSH_SECONDS": "0.1",
            "ANDON_SMTP_URL": smtp.sink.url,
            # Short mail timers: a failed attempt is tried again within a second.
            "ANDON_MAIL_POLL_SECONDS": "0.2",
            "ANDON_MAIL_RETRY_MAX_SECONDS": "1",
        }
        gateway = stack.enter_context(running_gateway(env, directory))
        http = stack.enter_context(gateway.client())
        assert poll(lambda: _health(http).get("mqtt"), lambda s: s == "ok", timeout=NOTICE_SECONDS) == "ok"
        yield Plant(postgres, redis, broker, smtp, gateway, database, http)


async def _sql(dsn: str, statement: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(statement, *args)
    finally:
        await conn.close()


def _health(http: httpx.Client) -> dict[str, Any]:
    try:
        return http.get("/api/health", timeout=3.0).json()  # type: ignore[no-any-return]
    except (httpx.HTTPError, ValueError) as exc:
        return {"error": repr(exc)}


# --------------------------------------------------------------------------------------------------
# The load: three flows in threads, each counting its steps
# --------------------------------------------------------------------------------------------------


@dataclass
class Account:
    account_id: str
    api_key: str
    user_email: str


def _call(http: httpx.Client, method: str, path: str, key: str, body: Any = None) -> Any:
    response = http.request(method, path, json=body, headers={"X-API-KEY": key})
    assert response.status_code == 200, response.text
    payload = response.json()
    return payload.get("result", payload.get("results"))


def _new_account(http: httpx.Client) -> Account:
    domain = f"faults-{uuid.uuid4().hex[:8]}.example.com"
    created = _call(
        http, "POST", "/api/admin/newaccount", SYSTEM_KEY, {"domain": domain, "plantName": "Main"}
    )
    key, plant_code = created["apiKey"], created["plantCode"]
    _call(http, "POST", "/api/admin/config", key, {"config": NO_AUTO_ESCALATION})
    _call(http, "POST", "/api/station-group", key, {"code": "g1", "name": "G1", "plantCode": plant_code})
    _call(
        http,
        "POST",
        "/api/station",
        key,
        {"code": ISSUE_STATION, "name": "Line", "plantCode": plant_code, "groupCode": "g1"},
    )
    for code in SIGNAL_STATIONS:
        _call(http, "POST", "/api/station", key, {"code": code, "name": code, "plantCode": plant_code})
    email = f"fan@{domain}"
    user = _call(http, "POST", "/api/user", key, {"email": email, "role": "member"})
    user_key = _call(http, "POST", "/api/apikey", key, {"userId": user["id"], "name": "fan"})["apiKey"]
    prefs = [{"stationGroupCode": "g1", "preference": ["issue"]}]
    _call(http, "POST", "/api/notification-preference", user_key, prefs)
    return Account(created["accountId"], key, email)


@dataclass
class Flow:
    """One thread of traffic; `steps` counts what it got done (acknowledged publishes, created issues,
    received changes)."""

    name: str
    steps: int = 0
    errors: list[str] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def step(self) -> None:
        with self._changed:
            self.steps += 1
            self._changed.notify_all()

    def wait_steps(self, count: int, seconds: float) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self.steps >= count, seconds):
                pytest.fail(
                    f"{self.name}: {self.steps} of {count} steps within {seconds} s; {self.errors[-3:]}"
                )


class Signals:
    """Publishes running totals (QoS 1, explicit timestamps) to each signal station every tick, through
    a paho client that reconnects by itself and resends what the broker did not acknowledge."""

    def __init__(self, broker: OwnServer, account: Account) -> None:
        self.flow = Flow("signals")
        self.account = account
        self.totals = dict.fromkeys(SIGNAL_STATIONS, 0)
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"faults-pub-{uuid.uuid4().hex[:8]}", clean_session=False
        )
        self.client.reconnect_delay_set(0.1, 0.5)
        self.client.max_queued_messages_set(0)  # unlimited: what is published during an outage waits
        self.client.on_publish = lambda *_: self.flow.step()
        connected = threading.Event()
        self.client.on_connect = lambda *_: connected.set()
        self.client.connect_async("127.0.0.1", broker.port)
        self.client.loop_start()
        assert connected.wait(5.0), "the publisher did not connect to Mosquitto"
        self._last = datetime.now(UTC)

    def topic(self, code: str) -> str:
        return f"busroot/v2/{self.account.account_id}/signals/{code}"

    def publish(self) -> list[mqtt.MQTTMessageInfo]:
        """One message per station with its next total (the first is the baseline, counting nothing)."""
        # Strictly increasing instants per station: a redelivered older total counts nothing.
        now = max(datetime.now(UTC), self._last + timedelta(milliseconds=1))
        self._last = now
        infos = []
        for code in SIGNAL_STATIONS:
            payload = {"production_count_good": self.totals[code], "timestamp": iso(now)}
            infos.append(self.client.publish(self.topic(code), json.dumps(payload), qos=1))
            self.totals[code] += 1
        return infos

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


class Issues:
    """Creates issues already ended (a start and an end email each) one after another; a request that
    fails (the database away) is tried again until it is answered."""

    def __init__(self, http: httpx.Client, account: Account) -> None:
        self.flow = Flow("issues")
        self.http = http
        self.account = account
        self.created: list[int] = []
        self.unexpected: list[str] = []
        self._start = datetime.now(UTC) - timedelta(hours=12)

    def create_one(self, stop: threading.Event) -> None:
        # Each issue in a minute of its own: issues of one station do not overlap.
        start = self._start + timedelta(minutes=2 * len(self.created))
        body = {
            "type": "stop",
            "stationCode": ISSUE_STATION,
            "startAt": iso(start),
            "endAt": iso(start + timedelta(minutes=1)),
        }
        while not stop.is_set():
            try:
                response = self.http.post(
                    "/api/issue", json=body, headers={"X-API-KEY": self.account.api_key}
                )
            except httpx.HTTPError as exc:
                self.flow.errors.append(repr(exc))
            else:
                if response.status_code == 200:
                    self.created.append(int(response.json()["results"][0]["id"]))
                    self.flow.step()
                    return
                # The database away is a 503 in the envelope, never a 500 (docs/reliability.md):
                # anything else is kept for reconcile() to report.
                if response.status_code != 503 or response.json()["error"]["code"] != "unavailable":
                    self.unexpected.append(f"{response.status_code} {response.text}")
                self.flow.errors.append(response.text)
            stop.wait(TICK_SECONDS)


class Subscriber:
    """issueChanged over graphql-transport-ws; after any disconnect it resumes with `since` = the last
    revision it saw, as a client should."""

    def __init__(self, gateway: Gateway, account: Account) -> None:
        self.flow = Flow("changes")
        self.url = gateway.base_url.replace("http://", "ws://", 1) + "/graphql"
        self.account = account
        self.seen: list[tuple[int, int]] = []
        self.resumes = 0

    def last(self) -> int:
        return self.seen[-1][1] if self.seen else 0

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self._session(stop)
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError) as exc:
                self.flow.errors.append(repr(exc))
                self.resumes += 1
                stop.wait(TICK_SECONDS)

    def _session(self, stop: threading.Event) -> None:
        protocols = [Subprotocol("graphql-transport-ws")]
        with connect(self.url, subprotocols=protocols, proxy=None, open_timeout=3, close_timeout=1) as ws:
            ws.send(json.dumps({"type": "connection_init", "payload": {"apiKey": self.account.api_key}}))
            assert json.loads(ws.recv(timeout=3))["type"] == "connection_ack"
            variables = {"since": self.last()}
            ws.send(
                json.dumps(
                    {
                        "id": "1",
                        "type": "subscribe",
                        "payload": {"query": ISSUE_CHANGED, "variables": variables},
                    }
                )
            )
            while not stop.is_set():
                try:
                    message = json.loads(ws.recv(timeout=0.2))
                except TimeoutError:
                    continue
                if message.get("type") == "ping":
                    ws.send(json.dumps({"type": "pong"}))
                elif message.get("type") == "next" and "errors" not in message["payload"]:
                    change = message["payload"]["data"]["issueChanged"]
                    self.seen.append((int(change["id"]), int(change["revision"])))
                    self.flow.step()
                elif message.get("type") != "pong":
                    # An error or a complete: the subscription is over; resume on a new socket.
                    self.flow.errors.append(json.dumps(message))
                    return


@dataclass
class Load:
    plant: Plant
    account: Account
    signals: Signals
    issues: Issues
    subscriber: Subscriber
    stop: threading.Event

    def flows(self) -> list[Flow]:
        return [self.signals.flow, self.issues.flow, self.subscriber.flow]

    def advance(self, steps: int = STEPS, seconds: float = NOTICE_SECONDS) -> None:
        """Until every flow has made `steps` more steps (signals count acknowledged publishes)."""
        marks = [(flow, flow.steps) for flow in self.flows()]
        for flow, mark in marks:
            flow.wait_steps(
                mark + steps * (len(SIGNAL_STATIONS) if flow is self.signals.flow else 1), seconds
            )


@contextmanager
def load(plant: Plant) -> Iterator[Load]:
    """Traffic from a fresh account until the block ends; then the final totals, acknowledged."""
    account = _new_account(plant.http)
    stop = threading.Event()
    signals = Signals(plant.mosquitto, account)
    for info in signals.publish():  # the baselines, before anything else
        info.wait_for_publish(5.0)
    issues = Issues(plant.http, account)
    subscriber = Subscriber(plant.gateway, account)

    def publish_loop() -> None:
        while not stop.wait(TICK_SECONDS):
            signals.publish()

    def issue_loop() -> None:
        while not stop.wait(TICK_SECONDS):
            issues.create_one(stop)

    threads = [threading.Thread(target=f, daemon=True) for f in (publish_loop, issue_loop)]
    threads.append(threading.Thread(target=subscriber.run, args=(stop,), daemon=True))
    for thread in threads:
        thread.start()
    try:
        yield Load(plant, account, signals, issues, subscriber, stop)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
    # The final totals, published once the services are back and acknowledged by the broker.
    for info in signals.publish():
        info.wait_for_publish(10.0)
        assert info.is_published()
    signals.close()


# --------------------------------------------------------------------------------------------------
# The books
# --------------------------------------------------------------------------------------------------


def _good(plant: Plant, account: Account, code: str) -> int:
    rows = _call(
        plant.http, "GET", f"/api/station-window?stationcodes={code}&rangecode=last-24-hours", account.api_key
    )
    return sum(int(w["productionGoodCount"]) for w in rows)


def reconcile(the: Load) -> None:
    plant, account = the.plant, the.account
    assert not the.issues.unexpected, the.issues.unexpected[:3]
    # Signals: each station counts its last total exactly (the baseline counted nothing).
    for code in SIGNAL_STATIONS:
        expected = the.signals.totals[code] - 1
        got = poll(
            lambda code=code: _good(plant, account, code),
            lambda n, expected=expected: n >= expected,
            timeout=SETTLE_SECONDS,
        )
        assert got == expected, f"{code}: windows count {got}, last total {expected}"

    # Changes: a subscriber resuming from where it was sees every revision of the account once, in order.
    async def revisions() -> list[int]:
        rows = await _sql(
            plant.database,
            "SELECT revision FROM issue_change WHERE account_id = $1 ORDER BY revision",
            account.account_id,
        )
        return [int(r["revision"]) for r in rows]

    expected_revisions = asyncio.run(revisions())
    subscriber = Subscriber(plant.gateway, account)
    subscriber.seen = list(the.subscriber.seen)
    stop = threading.Event()
    thread = threading.Thread(target=subscriber.run, args=(stop,), daemon=True)
    thread.start()
    try:
        poll(lambda: subscriber.last(), lambda last: last >= expected_revisions[-1], timeout=SETTLE_SECONDS)
    finally:
        stop.set()
        thread.join(5)
    seen = [revision for _, revision in subscriber.seen]
    assert seen[: len(expected_revisions)] == expected_revisions, (
        f"revisions seen {seen}, written {expected_revisions}; errors {the.subscriber.flow.errors[-3:]}"
    )

    # Emails: every outbox row sent, then a later email through the same outbox arrived; by then each
    # row's email arrived exactly once.
    sink = plant.smtp.sink

    async def outbox() -> list[asyncpg.Record]:
        return await _sql(
            plant.database,
            "SELECT id, sent_at, attempts, claimed_until, failed_at, last_error, next_attempt_at FROM outbox_message WHERE account_id = $1",
            account.account_id,
        )

    rows = poll(
        lambda: asyncio.run(outbox()), lambda rs: all(r["sent_at"] for r in rs), timeout=SETTLE_SECONDS
    )
    assert rows and all(r["sent_at"] for r in rows), [dict(r) for r in rows if not r["sent_at"]]
    sentinel = Issues(plant.http, account)
    sentinel._start = datetime.now(UTC) - timedelta(hours=2)
    sentinel.create_one(threading.Event())
    total = len(rows) + 2  # the sentinel issue's start and end
    arrived = poll(lambda: sink.to(account.user_email), lambda ms: len(ms) >= total, timeout=SETTLE_SECONDS)
    ids = [str(m["Message-ID"]) for m in arrived]
    assert len(ids) == total == len(set(ids)), (
        f"{len(ids)} emails ({len(set(ids))} distinct) for {total} rows"
    )
    # Two emails per issue: every issue the flow created (and the sentinel) was notified once each way.
    assert total == 2 * (len(the.issues.created) + 1), (total, the.issues.created)


def _fault(
    plant: Plant,
    stop: Callable[[], None],
    start: Callable[[], None],
    component: str,
    down: Callable[[Any], bool],
    while_down: Callable[[Load], None] | None = None,
) -> None:
    """Stop a service under load, until the gateway reports it (GET /api/health) and the load has gone on
    for a while (and `while_down` has run); start it again until the gateway reports it back."""
    with load(plant) as the:
        the.advance()
        stop()
        try:
            state = poll(lambda: _health(plant.http).get(component), down, timeout=NOTICE_SECONDS)
            assert down(state), f"the gateway did not notice {component} going: {state}"
            # The flows that do not need the service go on; the others wait (they are checked below).
            waits = [f for f in the.flows() if f.name in LIVE_DURING[component]]
            for flow in waits:
                flow.wait_steps(flow.steps + STEPS, NOTICE_SECONDS)
            if while_down is not None:
                while_down(the)
        finally:
            start()
        state = poll(lambda: _health(plant.http).get(component), lambda s: s == "ok", timeout=NOTICE_SECONDS)
        assert state == "ok", f"the gateway did not notice {component} back: {state}"
        the.advance()
    try:
        reconcile(the)
    except AssertionError as failure:
        # What the gateway logged is most of the diagnosis.
        logged = [
            line
            for line in plant.gateway.stderr().splitlines()
            if line[:1].strip() and not line.startswith(("Traceback", "The above", "During"))
        ]
        raise AssertionError(
            f"{failure}\n--- gateway log, last lines ---\n" + "\n".join(logged[-60:])
        ) from None


# What goes on while each service is away (the rest waits for it and catches up afterwards).
LIVE_DURING = {
    "bus": {"signals", "issues"},
    "mqtt": {"issues", "changes"},
    "database": set(),
    "mailer": {"signals", "issues", "changes"},
}


def test_redis_restart_loses_and_doubles_nothing(plant: Plant) -> None:
    _fault(plant, plant.redis.stop, plant.redis.start, "bus", lambda s: s != "ok")


def test_mosquitto_restart_loses_and_doubles_nothing(plant: Plant) -> None:
    _fault(plant, plant.mosquitto.stop, plant.mosquitto.start, "mqtt", lambda s: s != "ok")


ISSUES_PAGE = "query { issues(first: 1) { nodes { id } } }"


def test_postgres_restart_loses_and_doubles_nothing(plant: Plant) -> None:
    def graphql_says_unavailable(the: Load) -> None:
        """GraphQL, like REST, reports the database away as `unavailable` (retry), not `internal_error`."""
        response = plant.http.post(
            "/graphql", json={"query": ISSUES_PAGE}, headers={"X-API-KEY": the.account.api_key}
        )
        codes = [e.get("extensions", {}).get("code") for e in response.json().get("errors", [])]
        assert response.status_code == 200 and codes == ["unavailable"], response.text

    _fault(
        plant,
        plant.postgres.stop,
        plant.postgres.start,
        "database",
        lambda s: s != "ok",
        while_down=graphql_says_unavailable,
    )


def test_smtp_restart_loses_and_doubles_nothing(plant: Plant) -> None:
    _fault(plant, plant.smtp.stop, plant.smtp.start, "mailer", lambda s: s is not None and "error" in str(s))


# --------------------------------------------------------------------------------------------------
# The pool after a failed BEGIN (in-process app, the session's Postgres)
# --------------------------------------------------------------------------------------------------

_REFUSE_BEGIN: contextvars.ContextVar[bool] = contextvars.ContextVar("refuse_begin", default=False)


def test_a_transaction_whose_begin_fails_gives_its_connection_back(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tortoise 1.1 kept the connection of a transaction whose BEGIN failed out of the pool and left the
    task's context on the dead transaction: every database blip leaked one (gateway/tortoise_fixes.py).
    The fault tests above met it as a gateway that took over 10 s to stop after Postgres restarted."""
    real_begin = TransactionWrapper.begin

    async def begin(self: TransactionWrapper) -> None:
        # Only the BEGIN of this test's task fails; the app's own work goes on.
        if _REFUSE_BEGIN.get():
            raise asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command")
        await real_begin(self)

    monkeypatch.setattr(TransactionWrapper, "begin", begin)

    async def attempt() -> tuple[Any, bool, int]:
        _REFUSE_BEGIN.set(True)
        context = in_transaction()
        with pytest.raises(asyncpg.exceptions.AdminShutdownError):
            async with context:
                pass
        _REFUSE_BEGIN.set(False)
        still_current = get_connections().get("default") is context.client
        # The same task goes on using the database.
        return context.client._connection, still_current, await OutboxMessage.all().count()

    proxy, still_current, _ = client.portal.call(attempt)  # type: ignore[union-attr]
    assert proxy._con is None, "the connection was not given back to the pool"
    assert not still_current, "the task's connection context still points at the failed transaction"
