"""The GraphQL response cache: kept only for cacheable queries, per caller, dropped by any change."""

from __future__ import annotations

from typing import Any

from tests.conftest import Tenant
from tests.helpers.issues import NO_AUTO_ESCALATION, ago
from tests.helpers.waiting import poll

STATIONS = "{ stations { code name } }"
ONGOING = '{ ongoingIssues(stationCodes: ["S1"]) { id duration } }'


def gql(t: Tenant, query: str, key: str | None = None) -> dict[str, Any]:
    response = t.client.post("/graphql", json={"query": query}, headers=t.headers(key))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_a_change_is_visible_on_the_next_query(tenant: Tenant) -> None:
    tenant.ok(tenant.post("/api/station", {"code": "S1", "name": "Before", "plantCode": tenant.plant_code}))
    assert gql(tenant, STATIONS)["data"]["stations"] == [{"code": "S1", "name": "Before"}]
    assert gql(tenant, STATIONS)["data"]["stations"] == [{"code": "S1", "name": "Before"}]  # served again
    tenant.ok(tenant.post("/api/station", {"code": "S1", "name": "After", "plantCode": tenant.plant_code}))
    assert gql(tenant, STATIONS)["data"]["stations"] == [{"code": "S1", "name": "After"}]


def test_clock_dependent_answers_are_not_kept(tenant: Tenant) -> None:
    tenant.ok(tenant.post("/api/admin/config", {"config": NO_AUTO_ESCALATION}))
    tenant.ok(tenant.post("/api/station", {"code": "S1", "name": "S", "plantCode": tenant.plant_code}))
    tenant.ok(tenant.post("/api/issue", {"type": "stop", "stationCode": "S1", "startAt": ago(minutes=1)}))
    first = gql(tenant, ONGOING)["data"]["ongoingIssues"][0]["duration"]
    # The same query again as the clock moves on: a kept answer would repeat `first` until a change
    # of the account's data (none comes) or the cache's expiry (a minute), well past the deadline.
    later = poll(
        lambda: gql(tenant, ONGOING)["data"]["ongoingIssues"][0]["duration"], lambda d: d > first, timeout=2.0
    )
    assert later > first


def test_callers_do_not_share_answers(tenant: Tenant) -> None:
    device = tenant.key_for("device")
    assert gql(tenant, STATIONS)["data"] is not None
    denied = gql(tenant, STATIONS, key=device)
    assert denied["data"] is None and denied["errors"][0]["extensions"]["code"] == "forbidden"


def test_identical_mutations_each_run(tenant: Tenant) -> None:
    mutation = 'mutation { upsertCause(code: "c1", description: "One") { code } }'
    assert gql(tenant, mutation)["data"]["upsertCause"] == {"code": "c1"}
    tenant.ok(tenant.post("/api/issue/cause", {"code": "c1", "description": "Changed"}))
    assert gql(tenant, mutation)["data"]["upsertCause"] == {"code": "c1"}
    assert tenant.ok(tenant.get("/api/issue/cause"))[0]["description"] == "One"  # the second one ran
