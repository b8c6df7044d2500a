"""A real GraphQL client outside Python (Node's graphql-request) against a running `andon serve` (SPEC 11).

tests/node/client.mjs queries `me` and `issue(id:)`, acknowledges the issue, then tries a second time;
this test sets up the account over REST, runs the script and checks its output and the REST view.
The npm packages are installed from the committed package-lock.json when node_modules is missing.
Without `node` or `npm` the test is skipped locally and fails under CI=true (as tests/services.py).
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from tests.gateway_process import Gateway, result_of, running_gateway, subprocess_database
from tests.helpers.issues import NO_AUTO_ESCALATION, ago
from tests.node_tools import NODE_DIR, node_with_packages

CLIENT_SCRIPT = NODE_DIR / "client.mjs"
# Present once `npm ci` has installed package-lock.json.
INSTALLED_MARKERS = ("graphql-request/package.json", "graphql/package.json")
CLIENT_SECONDS = 60.0
SYSTEM_KEY = "node-client-system-key-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def node() -> str:
    return node_with_packages(INSTALLED_MARKERS)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    cwd = tmp_path_factory.mktemp("node-gateway")
    with (
        subprocess_database(cwd) as url,
        running_gateway({"ANDON_DATABASE_URL": url, "ANDON_SYSTEM_API_KEY": SYSTEM_KEY}, cwd) as gateway,
    ):
        yield gateway


def test_node_graphql_request_client_queries_and_acknowledges(node: str, gateway: Gateway) -> None:
    with gateway.client() as http:
        account = result_of(
            http.post(
                "/api/admin/newaccount",
                json={"domain": f"node-{uuid.uuid4().hex[:8]}.example.com", "plantName": "Node Plant"},
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
        [issue] = result_of(
            http.post(
                "/api/issue",
                json={"type": "stop", "stationCode": "N1", "startAt": ago(minutes=3)},
                headers=admin,
            )
        )
        assert issue["isAcknowledged"] is False

        try:
            run = subprocess.run(
                [node, str(CLIENT_SCRIPT), gateway.base_url, account["apiKey"], str(issue["id"])],
                cwd=NODE_DIR,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=CLIENT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"node client.mjs did not finish within {CLIENT_SECONDS} s\n{gateway.output()}")
        assert run.returncode == 0, (
            f"node client.mjs exited {run.returncode}\n{run.stdout}\n{run.stderr}\n{gateway.output()}"
        )
        out = json.loads(run.stdout)

        assert out["me"] == {"accountId": account["accountId"], "role": "admin"}
        assert out["issue"] == {
            "id": issue["id"],
            "stationCode": "N1",
            "isOngoing": True,
            "isAcknowledged": False,
        }
        acknowledged = out["acknowledgeIssue"]
        assert (acknowledged["id"], acknowledged["isAcknowledged"]) == (issue["id"], True)
        assert acknowledged["statusText"] == "Awaiting estimate"
        assert acknowledged["events"] == [{"type": "acknowledge", "operatorInitials": "ND"}]
        second = out["secondAcknowledge"]
        assert second["status"] == 200, second
        assert second["error"]["code"] == "conflict", second
        assert "internal" not in second["error"]["message"].lower(), second
        assert second["data"] is None, second

        [seen] = result_of(http.get("/api/issue", params={"id": issue["id"]}, headers=admin))
        assert seen["isAcknowledged"] is True
        assert [(e["type"], e["operatorInitials"]) for e in seen["events"]] == [("acknowledge", "ND")]
