"""A real subscription client outside Python (Node's graphql-ws over `ws`) against `andon serve` (SPEC 11).

tests/node/subscribe.mjs subscribes to `issueChanged` over graphql-transport-ws and prints the first
change it receives; this test creates the issue over REST once the script is connected and checks
what the script printed. A wrong API key must close the script's connection with 4403.
The npm packages are installed from the committed package-lock.json when missing; without `node` or
`npm` the tests are skipped locally and fail under CI=true (as tests/test_graphql_node.py).
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import uuid
from collections.abc import Iterator
from typing import IO, Any

import httpx
import pytest

from tests.gateway_process import Gateway, result_of, running_gateway, subprocess_database
from tests.helpers.issues import NO_AUTO_ESCALATION, ago
from tests.node_tools import NODE_DIR, node_with_packages

SCRIPT = NODE_DIR / "subscribe.mjs"
# Present once `npm ci` has installed package-lock.json (graphql-ws and ws included).
INSTALLED_MARKERS = ("graphql-ws/package.json", "ws/package.json", "graphql/package.json")
CONNECT_SECONDS = 20.0
CHANGE_SECONDS = 10.0
SYSTEM_KEY = "node-subscription-system-key-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def node() -> str:
    return node_with_packages(INSTALLED_MARKERS)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    cwd = tmp_path_factory.mktemp("node-subscription-gateway")
    with (
        subprocess_database(cwd) as url,
        running_gateway({"ANDON_DATABASE_URL": url, "ANDON_SYSTEM_API_KEY": SYSTEM_KEY}, cwd) as gateway,
    ):
        yield gateway


class Script:
    """`node subscribe.mjs ...` running, its stdout read line by line in a thread."""

    def __init__(self, node: str, *args: str) -> None:
        self.process = subprocess.Popen(
            [node, str(SCRIPT), *args],
            cwd=NODE_DIR,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        assert self.process.stdout is not None and self.process.stderr is not None
        self._threads = [
            threading.Thread(target=self._pump, args=(self.process.stdout,), daemon=True),
            threading.Thread(target=self._stderr.extend, args=(self.process.stderr,), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _pump(self, pipe: IO[str]) -> None:
        with pipe:
            for line in pipe:
                self._lines.put(line)
        self._lines.put(None)

    def line(self, timeout: float) -> Any:
        """The next JSON line on stdout; fails if none comes within `timeout` (or stdout ends)."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"subscribe.mjs printed nothing within {timeout} s\n{self.stderr()}")
        if line is None:
            self.process.wait(5)
            pytest.fail(f"subscribe.mjs exited {self.process.returncode} early\n{self.stderr()}")
        return json.loads(line)

    def exit_code(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"subscribe.mjs did not exit within {timeout} s\n{self.stderr()}")

    def stderr(self) -> str:
        for thread in self._threads:
            thread.join(0.5)
        return "--- subscribe.mjs stderr ---\n" + "".join(self._stderr)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        for thread in self._threads:
            thread.join(5)
        # The stdout pump closes its pipe; stderr is read to its end by a bare `extend`, which does not.
        assert self.process.stderr is not None
        self.process.stderr.close()


def _account(http: httpx.Client) -> dict[str, Any]:
    """A fresh account (escalation timers off) with station N1."""
    account: dict[str, Any] = result_of(
        http.post(
            "/api/admin/newaccount",
            json={"domain": f"node-sub-{uuid.uuid4().hex[:8]}.example.com", "plantName": "Node Plant"},
            headers={"X-API-KEY": SYSTEM_KEY},
        )
    )
    admin = {"X-API-KEY": account["apiKey"]}
    result_of(http.post("/api/admin/config", json={"config": NO_AUTO_ESCALATION}, headers=admin))
    result_of(
        http.post(
            "/api/station",
            json={"code": "N1", "name": "Node station", "plantCode": account["plantCode"]},
            headers=admin,
        )
    )
    return account


def test_node_graphql_ws_client_receives_an_issue_created_over_rest(node: str, gateway: Gateway) -> None:
    with gateway.client() as http:
        account = _account(http)
        admin = {"X-API-KEY": account["apiKey"]}
        # An issue before the subscription: `since` its revision, the script must not see it.
        [earlier] = result_of(
            http.post(
                "/api/issue",
                json={
                    "type": "stop",
                    "stationCode": "N1",
                    "startAt": ago(minutes=30),
                    "endAt": ago(minutes=20),
                },
                headers=admin,
            )
        )
        read = http.post(
            "/graphql",
            json={
                "query": "query($id: Int!) { issue(id: $id) { revision } }",
                "variables": {"id": earlier["id"]},
            },
            headers=admin,
        )
        assert read.status_code == 200, read.text
        since = read.json()["data"]["issue"]["revision"]

        script = Script(node, gateway.base_url, account["apiKey"], "N1", str(since))
        try:
            assert script.line(CONNECT_SECONDS) == {"connected": True}
            [created] = result_of(
                http.post(
                    "/api/issue",
                    json={"type": "stop", "stationCode": "N1", "startAt": ago(minutes=2)},
                    headers=admin,
                )
            )
            printed = script.line(CHANGE_SECONDS)
            code = script.exit_code(CHANGE_SECONDS)
        finally:
            script.stop()
        assert code == 0, script.stderr()
        assert printed == {
            "issueChanged": {
                "id": created["id"],
                "revision": since + 1,
                "accountId": account["accountId"],
                "stationCode": "N1",
                "type": "stop",
                "isOngoing": True,
                "isAcknowledged": False,
                "statusText": "Awaiting acknowledgement",
                "events": [],
            }
        }


def test_node_graphql_ws_client_with_a_wrong_key_is_closed_with_4403(node: str, gateway: Gateway) -> None:
    script = Script(node, gateway.base_url, "not-a-key-" + uuid.uuid4().hex, "N1", "0")
    try:
        printed = script.line(CONNECT_SECONDS)
        code = script.exit_code(CHANGE_SECONDS)
    finally:
        script.stop()
    assert printed["closed"]["code"] == 4403, printed
    assert code == 3, script.stderr()
