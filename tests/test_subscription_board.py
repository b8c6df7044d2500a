"""ongoingIssues by plant: a board can follow every station of a plant without listing their codes."""

from __future__ import annotations

from tests.conftest import Tenant
from tests.helpers.issues import NO_AUTO_ESCALATION, ago

BOARD = "subscription($plant: String) { ongoingIssues(plantCode: $plant) { id stationCode } }"


def test_a_plant_board_lists_the_ongoing_issues_of_its_stations(tenant: Tenant) -> None:
    tenant.ok(tenant.post("/api/admin/config", {"config": NO_AUTO_ESCALATION}))
    tenant.ok(tenant.post("/api/plant", {"code": "other", "name": "Other plant"}))
    for code, plant in (("S1", tenant.plant_code), ("S2", tenant.plant_code), ("X1", "other")):
        tenant.ok(tenant.post("/api/station", {"code": code, "name": code, "plantCode": plant}))
        tenant.ok(tenant.post("/api/issue", {"type": "stop", "stationCode": code, "startAt": ago(minutes=2)}))
    with tenant.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"apiKey": tenant.api_key}})
        assert ws.receive_json() == {"type": "connection_ack"}
        ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": BOARD, "variables": {"plant": tenant.plant_code}},
            }
        )
        message = ws.receive_json()
        assert message["type"] == "next", message
        assert sorted(i["stationCode"] for i in message["payload"]["data"]["ongoingIssues"]) == ["S1", "S2"]
        ws.send_json(
            {"id": "2", "type": "subscribe", "payload": {"query": BOARD, "variables": {"plant": "nope"}}}
        )
        error = ws.receive_json()
        assert error["type"] == "error" or "errors" in error.get("payload", {}), error
