"""GraphQL at /graphql (SPEC section 11): the same issues as REST, typed errors, roles and tenancy,
batched loading, cursor pagination, the document limits and GraphiQL."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query
from starlette.testclient import TestClient

from models.durations import format_duration
from models.issues import Issue
from models.roles import Role
from models.tenancy import Sku, Station
from resolvers.common.actor import Actor
from resolvers.common.bodies import IssueEventIn, IssueIn
from resolvers.common.changes import Change, publish
from resolvers.common.validation import parse
from resolvers.issues import creation
from resolvers.issues import events as issue_events
from tests.conftest import Tenant, new_tenant
from tests.helpers.graphql import data_of, gql
from tests.helpers.issues import NO_AUTO_ESCALATION, new_issue
from tests.helpers.statements import StatementCounter

# Seeded by POST /api/admin/seedrun: a leaf with a parent and a grandparent.
LEAF_CAUSE = "mechanical.conveyor.belt-jam"
# Depend on the clock for an ongoing issue: two reads a moment apart may differ by a second.
CLOCK_FIELDS = frozenset({"duration", "durationFormatted"})
# The document limits of schema/app.py.
MAX_DEPTH = 10
MAX_ALIASES = 30
# The largest `first` (and REST `limit`).
MAX_PAGE = 1000

# --------------------------------------------------------------------------- documents

ISSUE_FIELDS = """
fragment IssueFields on Issue {
  id type stationCode startAt endAt createdAt updatedAt startNotifiedAt endNotifiedAt accountId
  excludedAt isOngoing isAcknowledged isEstimated isEscalated hasCause causeCode estimateEndAt
  ragStatus statusText stationName startAtTimestamp endAtTimestamp duration durationFormatted
  skuCode skuName revision
  causeBreadcrumb { code description parentCauseCode }
  events {
    id downtimeId type userId estimateEndAt notifiedAt causeCode accountId createdAt updatedAt
    operatorInitials userEmail
  }
}
"""
CAUSE_FIELDS = """
fragment CauseFields on Cause { code description parentCauseCode accountId createdAt updatedAt }
"""
TYPE_FIELDS = """
query TypeFields($name: String!) {
  __type(name: $name) { name fields { name } }
}
"""

SAME_AS_REST = (
    """
query SameAsRest($plant: String!, $issueId: Int!) {
  lastWeek: issues(rangeCode: "last-7-days") { nodes { ...IssueFields } }
  lastDay: issues { nodes { ...IssueFields } }
  s2: issues(stationCodes: ["S2"], rangeCode: "last-7-days") { nodes { ...IssueFields } }
  plant: issues(plantCode: $plant) { nodes { ...IssueFields } }
  one: issue(id: $issueId) { ...IssueFields }
  ongoing: ongoingIssues(stationCodes: ["S1", "S2", "S3"]) { ...IssueFields }
  causes { ...CauseFields }
  someCauses: causes(codes: ["quality", "material"]) { ...CauseFields }
  unreported: unreportedDowntimeCounts(stationCodes: ["S3", "S2", "S1"], rangeCode: "last-7-days") {
    stationCode count
  }
}
"""
    + ISSUE_FIELDS
    + CAUSE_FIELDS
)

ACKNOWLEDGE = """
mutation Acknowledge($id: Int!, $operator: String) {
  acknowledgeIssue(issueId: $id, operator: $operator) {
    id isAcknowledged statusText events { type operatorInitials }
  }
}
"""
ISSUE_BY_ID = """
query IssueById($id: Int!) {
  issue(id: $id) { id stationCode isAcknowledged }
}
"""
ISSUE_IDS = """
query IssueIds {
  issues { nodes { id } }
}
"""
ME = """
query Me {
  me { accountId role via }
}
"""
UNKNOWN_FIELD = """
query UnknownField {
  me { accountId noSuchField }
}
"""
CREATE_ISSUE = """
mutation Create($type: String!, $station: String!, $startAt: String!, $endAt: String) {
  createIssue(type: $type, stationCode: $station, startAt: $startAt, endAt: $endAt) {
    id type stationCode isOngoing
  }
}
"""
ESTIMATE = """
mutation Estimate($id: Int!, $minutes: Float!) {
  estimateIssue(issueId: $id, minutes: $minutes) { id isEstimated }
}
"""
PAGE = """
query Page($first: Int!, $after: String) {
  issues(first: $first, after: $after) {
    edges { cursor node { id startAt } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
# Everything a board needs for each issue: each relation must be loaded in one batch for the whole page.
HUNDRED_ISSUES = """
query HundredIssues {
  issues(first: 100) {
    nodes {
      id
      station { code name group { code } }
      events { type causeCode }
      cause { code parent { code } }
      sku { code }
    }
  }
}
"""


def nested_causes(levels: int, alias: str = "") -> str:
    """`causes` with `parent` nested until the document is `levels` deep."""
    inner = "code"
    for _ in range(levels - 1):
        inner = f"parent {{ {inner} }}"
    return f"query Deep {{ {alias}causes {{ {inner} }} }}"


def aliased_me(count: int) -> str:
    return "query Aliases { " + " ".join(f"m{n}: me {{ accountId }}" for n in range(count)) + " }"


# --------------------------------------------------------------------------- helpers


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ago(**delta: float) -> str:
    return iso(datetime.now(UTC) - timedelta(**delta))


def error_of(response: httpx.Response, *, statuses: tuple[int, ...] = (200,)) -> dict[str, Any]:
    """The first error of a GraphQL answer that has errors, never a server error."""
    assert response.status_code in statuses, response.text
    body = response.json()
    assert body.get("errors"), body
    error: dict[str, Any] = body["errors"][0]
    assert "internal" not in error["message"].lower(), error
    assert error.get("extensions", {}).get("code") != "internal_error", error
    return error


def code_of(response: httpx.Response, *, statuses: tuple[int, ...] = (200,)) -> str:
    return str(error_of(response, statuses=statuses)["extensions"]["code"])


def no_data(response: httpx.Response) -> bool:
    return response.json().get("data") is None


def event(t: Tenant, issue_id: int, **body: Any) -> None:
    t.ok(t.post(f"/api/issue/{issue_id}/event", body))


def rest_issue(t: Tenant, issue_id: int) -> dict[str, Any]:
    [issue] = t.ok(t.get("/api/issue", params={"id": issue_id}))
    return issue  # type: ignore[no-any-return]


def set_sku(t: Tenant, issue_ids: list[int], sku_code: str) -> None:
    """Give issues a SKU (detection records the SKU running at the start; hand-made issues have none)."""

    async def assign() -> None:
        sku = await Sku.get(account_id=t.account_id, code=sku_code)
        await Issue.filter(account_id=t.account_id, id__in=issue_ids).update(sku_id=sku.id)
        await publish(Change("issue", t.account_id))

    portal = t.client.portal
    assert portal is not None
    portal.call(assign)


def setup_plant(t: Tenant, stations: tuple[str, ...] = ("S1", "S2", "S3")) -> Tenant:
    """Escalation timers off, the default cause tree, a group G1 holding the stations, one SKU."""
    t.ok(t.post("/api/admin/config", {"config": NO_AUTO_ESCALATION}))
    assert t.post("/api/admin/seedrun").json() == {"isSuccess": True}
    t.ok(t.post("/api/station-group", {"code": "G1", "name": "Group 1", "plantCode": t.plant_code}))
    for code in stations:
        t.ok(
            t.post(
                "/api/station",
                {"code": code, "name": f"Station {code}", "plantCode": t.plant_code, "groupCode": "G1"},
            )
        )
    t.ok(t.post("/api/sku", {"code": "SKU-1", "name": "Widget"}))
    return t


@pytest.fixture
def plant(tenant: Tenant) -> Tenant:
    return setup_plant(tenant)


def assert_same_issues(rest: list[dict[str, Any]], graphql: list[dict[str, Any]]) -> None:
    """Same issues in the same order, field by field; clock fields of ongoing issues within a second or two."""
    assert [i["id"] for i in graphql] == [i["id"] for i in rest]
    for r, g in zip(rest, graphql, strict=True):
        assert set(g) == set(r), (sorted(set(r) ^ set(g)), r["id"])
        for key in r:
            if key in CLOCK_FIELDS and r["endAt"] is None:
                continue
            assert g[key] == r[key], (r["id"], key, r[key], g[key])
        if r["endAt"] is None:
            assert abs(g["duration"] - r["duration"]) <= 2_000, (r["duration"], g["duration"])
            assert g["durationFormatted"] == format_duration(g["duration"])
            assert r["durationFormatted"] == format_duration(r["duration"])


# --------------------------------------------------------------------------- fields and values


def test_every_rest_issue_and_event_key_is_a_field_of_the_graphql_types(plant: Tenant) -> None:
    issue = new_issue(plant)["id"]
    event(plant, issue, type="acknowledge", operator="JD")
    event(plant, issue, type="estimate", estimatedTime=30)
    event(plant, issue, type="cause", causeCode=LEAF_CAUSE)
    rest = plant.ok(plant.get("/api/issue"))[0]
    assert rest["events"] and rest["causeBreadcrumb"]

    def fields(name: str) -> set[str]:
        answer = data_of(gql(plant.client, TYPE_FIELDS, {"name": name}, plant.headers()))["__type"]
        assert answer is not None, f"no type {name} in the schema"
        return {f["name"] for f in answer["fields"]}

    assert set(rest) - fields("Issue") == set()
    for e in rest["events"]:
        assert set(e) - fields("IssueEvent") == set()
    for crumb in rest["causeBreadcrumb"]:
        assert set(crumb) - fields("CauseCrumb") == set()


def test_issue_cause_and_count_queries_answer_what_the_rest_paths_answer(plant: Tenant) -> None:
    caused = new_issue(plant, "S1", startAt=ago(hours=2), endAt=ago(hours=1))["id"]
    event(plant, caused, type="cause", causeCode=LEAF_CAUSE)
    excluded = new_issue(plant, "S1", startAt=ago(minutes=50), endAt=ago(minutes=40))["id"]
    event(plant, excluded, type="exclude")
    old = new_issue(plant, "S1", startAt=ago(days=3), endAt=ago(days=3, minutes=-7))["id"]
    ongoing = new_issue(plant, "S2", startAt=ago(minutes=5))["id"]
    event(plant, ongoing, type="acknowledge", operator="JD")
    event(plant, ongoing, type="estimate", estimatedTime=30)
    slow = new_issue(plant, "S2", type="slow", startAt=ago(minutes=3))["id"]
    set_sku(plant, [caused, ongoing], "SKU-1")

    answer = data_of(
        gql(plant.client, SAME_AS_REST, {"plant": plant.plant_code, "issueId": caused}, plant.headers())
    )

    last_week = plant.ok(plant.get("/api/issue", params={"rangecode": "last-7-days"}))
    assert {i["id"] for i in last_week} == {caused, excluded, old, ongoing, slow}
    assert any(i["skuCode"] == "SKU-1" for i in last_week)
    assert_same_issues(last_week, answer["lastWeek"]["nodes"])
    assert_same_issues(plant.ok(plant.get("/api/issue")), answer["lastDay"]["nodes"])
    assert_same_issues(
        plant.ok(plant.get("/api/issue", params={"stationcodes": "S2", "rangecode": "last-7-days"})),
        answer["s2"]["nodes"],
    )
    assert_same_issues(
        plant.ok(plant.get("/api/issue", params={"plantcode": plant.plant_code})), answer["plant"]["nodes"]
    )
    assert_same_issues([rest_issue(plant, caused)], [answer["one"]])
    ongoing_rest = plant.ok(plant.get("/api/issue/ongoing", params={"stationcodes": "S1,S2,S3"}))
    assert {i["id"] for i in ongoing_rest} == {ongoing, slow}
    assert_same_issues(ongoing_rest, answer["ongoing"])

    assert answer["causes"] == plant.ok(plant.get("/api/issue/cause"))
    assert answer["someCauses"] == plant.ok(
        plant.get("/api/issue/cause", params={"codes": "quality,material"})
    )
    unreported = plant.ok(
        plant.get(
            "/api/issue/unreported-downtime/count",
            params={"stationcodes": "S3,S2,S1", "rangecode": "last-7-days"},
        )
    )
    assert unreported == [
        {"stationCode": "S3", "count": 0},
        {"stationCode": "S2", "count": 2},
        {"stationCode": "S1", "count": 1},
    ]
    assert answer["unreported"] == unreported


# --------------------------------------------------------------------------- mutations and errors


def test_acknowledge_issue_shows_on_rest_and_a_second_one_is_a_typed_conflict(plant: Tenant) -> None:
    issue = new_issue(plant)["id"]
    acknowledged = data_of(gql(plant.client, ACKNOWLEDGE, {"id": issue, "operator": "JD"}, plant.headers()))
    assert acknowledged["acknowledgeIssue"] == {
        "id": issue,
        "isAcknowledged": True,
        "statusText": "Awaiting estimate",
        "events": [{"type": "acknowledge", "operatorInitials": "JD"}],
    }
    seen = rest_issue(plant, issue)
    assert seen["isAcknowledged"] is True
    assert [(e["type"], e["operatorInitials"]) for e in seen["events"]] == [("acknowledge", "JD")]

    again = gql(plant.client, ACKNOWLEDGE, {"id": issue, "operator": "XY"}, plant.headers())
    assert again.status_code == 200
    assert "internal error" not in again.text.lower()
    assert code_of(again) == "conflict"
    assert no_data(again)
    assert len(rest_issue(plant, issue)["events"]) == 1


def test_an_unknown_field_is_a_validation_error_and_bad_credentials_get_no_data(plant: Tenant) -> None:
    unknown = gql(plant.client, UNKNOWN_FIELD, headers=plant.headers())
    assert code_of(unknown, statuses=(200, 400)) == "GRAPHQL_VALIDATION_FAILED"
    assert "noSuchField" in error_of(unknown, statuses=(200, 400))["message"]
    assert no_data(unknown)

    for headers in ({}, {"X-API-KEY": "not-a-key"}, {"Authorization": "Bearer not-a-key"}):
        for document in (ME, ISSUE_IDS):
            response = gql(plant.client, document, headers=headers)
            assert code_of(response) == "unauthorized", (headers, response.text)
            assert no_data(response), (headers, response.text)

    # The same credential as REST, in either header.
    bearer = {"Authorization": f"Bearer {plant.api_key}"}
    assert data_of(gql(plant.client, ME, headers=bearer))["me"] == {
        "accountId": plant.account_id,
        "role": "admin",
        "via": "api-key",
    }


def test_create_issue_with_a_bad_station_and_an_estimate_of_zero_are_validation_errors(plant: Tenant) -> None:
    bad_station = gql(
        plant.client,
        CREATE_ISSUE,
        {"type": "stop", "station": "NOPE", "startAt": ago(minutes=1)},
        plant.headers(),
    )
    error = error_of(bad_station)
    assert error["extensions"]["code"] == "validation_error"
    assert error["extensions"]["field"] == "stationCode"
    assert no_data(bad_station)

    issue = new_issue(plant)["id"]
    zero = gql(plant.client, ESTIMATE, {"id": issue, "minutes": 0}, plant.headers())
    assert code_of(zero) == "validation_error"
    assert no_data(zero)
    assert rest_issue(plant, issue)["isEstimated"] is False

    created = data_of(
        gql(
            plant.client,
            CREATE_ISSUE,
            {"type": "stop", "station": "S2", "startAt": ago(minutes=1)},
            plant.headers(),
        )
    )["createIssue"]
    assert (created["type"], created["stationCode"], created["isOngoing"]) == ("stop", "S2", True)
    twice = gql(
        plant.client,
        CREATE_ISSUE,
        {"type": "stop", "station": "S2", "startAt": ago(minutes=1)},
        plant.headers(),
    )
    assert code_of(twice) == "conflict"


# --------------------------------------------------------------------------- roles and tenancy


def test_roles_read_only_reads_operator_code_acknowledges_member_creates_device_is_refused(
    plant: Tenant,
) -> None:
    issue = new_issue(plant)["id"]
    read_only = {"X-API-KEY": plant.key_for("read-only")}
    assert issue in [
        i["id"] for i in data_of(gql(plant.client, ISSUE_IDS, headers=read_only))["issues"]["nodes"]
    ]
    refused = gql(plant.client, ACKNOWLEDGE, {"id": issue}, read_only)
    assert code_of(refused) == "forbidden"
    assert rest_issue(plant, issue)["isAcknowledged"] is False

    tablet = {"X-ACCESS-CODE": plant.ok(plant.post("/api/admin/access-code"))["code"]}
    assert data_of(gql(plant.client, ME, headers=tablet))["me"] == {
        "accountId": plant.account_id,
        "role": "operator",
        "via": "access-code",
    }
    acknowledged = data_of(gql(plant.client, ACKNOWLEDGE, {"id": issue, "operator": "OP"}, tablet))
    assert acknowledged["acknowledgeIssue"]["isAcknowledged"] is True
    assert rest_issue(plant, issue)["events"][0]["operatorInitials"] == "OP"
    new = {"type": "stop", "station": "S2", "startAt": ago(minutes=1)}
    assert code_of(gql(plant.client, CREATE_ISSUE, new, tablet)) == "forbidden"

    member = {"X-API-KEY": plant.key_for("member")}
    created = data_of(gql(plant.client, CREATE_ISSUE, new, member))["createIssue"]
    assert rest_issue(plant, created["id"])["stationCode"] == "S2"

    device = {"X-API-KEY": plant.key_for("device")}
    denied = gql(plant.client, ISSUE_IDS, headers=device)
    assert code_of(denied) == "forbidden"
    assert no_data(denied)


def test_another_accounts_issue_is_not_found_by_query_or_mutation(plant: Tenant, client: TestClient) -> None:
    other = setup_plant(new_tenant(client), stations=("S1",))
    theirs = new_issue(other)["id"]

    lookup = gql(plant.client, ISSUE_BY_ID, {"id": theirs}, plant.headers())
    assert code_of(lookup) == "not_found"
    assert (lookup.json().get("data") or {}).get("issue") is None
    acknowledge = gql(plant.client, ACKNOWLEDGE, {"id": theirs, "operator": "JD"}, plant.headers())
    assert code_of(acknowledge) == "not_found"
    assert no_data(acknowledge)
    assert rest_issue(other, theirs)["events"] == []
    assert data_of(gql(client, ISSUE_BY_ID, {"id": theirs}, other.headers()))["issue"]["id"] == theirs


# --------------------------------------------------------------------------- statements per query

# HUNDRED_ISSUES, cold: credential, plant, issues JOIN station/plant/sku, cause tree, events, then one
# batch per relation and level: stations, causes, SKUs, station groups, the causes' parents.
MAX_HUNDRED_ISSUES_STATEMENTS = 10


def _board(client: TestClient, count: int) -> Tenant:
    """`count` ended issues over 5 stations in 2 groups, each with a cause event (a leaf with a parent);
    every other one with a SKU. Made through the resolvers, in the app's own thread."""

    t = setup_plant(new_tenant(client), stations=())
    t.ok(t.post("/api/station-group", {"code": "G2", "name": "Group 2", "plantCode": t.plant_code}))
    stations = [f"B{n}" for n in range(min(count, 5))]
    for n, code in enumerate(stations):
        group = "G1" if n % 2 else "G2"
        t.ok(
            t.post(
                "/api/station", {"code": code, "name": code, "plantCode": t.plant_code, "groupCode": group}
            )
        )
    causes = [LEAF_CAUSE, "mechanical.conveyor", "quality"]
    actor = Actor(account_id=t.account_id, role=Role.ADMIN, via="api-key")
    now = datetime.now(UTC)

    async def create() -> list[int]:
        ids = []
        for n in range(count):
            start = now - timedelta(minutes=10 * (n + 1))
            body = {
                "type": "stop",
                "stationCode": stations[n % len(stations)],
                "startAt": iso(start),
                "endAt": iso(start + timedelta(minutes=1 + n % 7)),
            }
            view = await creation.create_issue(actor=actor, data=parse(IssueIn, body))
            cause = {"type": "cause", "causeCode": causes[n % len(causes)]}
            await issue_events.add_issue_event(
                actor=actor, issue_id=view["id"], data=parse(IssueEventIn, cause)
            )
            ids.append(view["id"])
        return ids

    portal = client.portal
    assert portal is not None
    ids = portal.call(create)
    set_sku(t, ids[::2], "SKU-1")
    return t


def test_a_hundred_issues_with_their_relations_run_as_many_statements_as_one(
    client: TestClient, statements: StatementCounter
) -> None:
    one, hundred = _board(client, 1), _board(client, 100)
    counted: dict[int, list[str]] = {}
    for size, t in ((1, one), (100, hundred)):
        answer, log = statements.graphql(t, HUNDRED_ISSUES)
        nodes = answer["issues"]["nodes"]
        assert len(nodes) == size
        for node in nodes:
            assert node["station"]["group"]["code"] in ("G1", "G2")
            assert [e["type"] for e in node["events"]] == ["cause"]
            assert node["cause"]["code"] == node["events"][0]["causeCode"]
            assert (node["cause"]["parent"] or {}).get("code") in ("mechanical.conveyor", "mechanical", None)
        assert any(n["sku"] == {"code": "SKU-1"} for n in nodes)
        assert any(n["cause"]["parent"] for n in nodes)
        assert log, "the counted request ran no SQL: it was not counted or not cold"
        counted[size] = log
    assert len(counted[1]) == len(counted[100]), "\n".join(
        [f"{len(counted[1])} statements for 1 issue, {len(counted[100])} for 100:", *counted[100]]
    )
    assert len(counted[100]) <= MAX_HUNDRED_ISSUES_STATEMENTS, "\n".join(counted[100])


# --------------------------------------------------------------------------- pagination


def test_cursor_pages_walk_every_issue_once_in_order(plant: Tenant) -> None:
    tie = ago(minutes=30)
    for station, start in (("S1", tie), ("S2", tie), ("S3", tie)):  # same startAt: ordered by id
        new_issue(plant, station, startAt=start, endAt=ago(minutes=20))
    for minutes in (90, 60, 10):
        new_issue(plant, "S1", startAt=ago(minutes=minutes), endAt=ago(minutes=minutes - 5))
    expected = [i["id"] for i in plant.ok(plant.get("/api/issue"))]
    assert len(expected) == 6

    walked: list[int] = []
    pages: list[int] = []
    after = None
    while True:
        page = data_of(gql(plant.client, PAGE, {"first": 2, "after": after}, plant.headers()))["issues"]
        edges = page["edges"]
        walked += [e["node"]["id"] for e in edges]
        pages.append(len(edges))
        assert page["pageInfo"]["endCursor"] == (edges[-1]["cursor"] if edges else None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert len(pages) < 10, "the pages do not end"
    assert walked == expected
    assert pages == [2, 2, 2]
    everything = data_of(gql(plant.client, PAGE, {"first": 100}, plant.headers()))["issues"]
    assert [e["node"]["id"] for e in everything["edges"]] == expected
    assert everything["pageInfo"]["hasNextPage"] is False


def test_a_garbage_cursor_is_a_validation_error(plant: Tenant) -> None:
    new_issue(plant)
    for garbage in ("garbage", "!!!", base64.urlsafe_b64encode(b"1:2:3").decode()):
        response = gql(plant.client, PAGE, {"first": 2, "after": garbage}, plant.headers())
        error = error_of(response)
        assert error["extensions"]["code"] == "validation_error", (garbage, error)
        assert error["extensions"]["field"] == "after"
    for first in (0, -1):
        assert code_of(gql(plant.client, PAGE, {"first": first}, plant.headers())) == "validation_error"


def test_a_page_of_the_largest_size_still_tells_that_more_issues_follow(client: TestClient) -> None:

    t = setup_plant(new_tenant(client), stations=("S1",))
    now = datetime.now(UTC)

    async def insert() -> None:
        station = await Station.get(account_id=t.account_id, code="S1")
        await Issue.bulk_create(
            [
                Issue(
                    account_id=t.account_id,
                    station_id=station.id,
                    type="stop",
                    start_at=now - timedelta(seconds=40 * (n + 1)),
                    end_at=now - timedelta(seconds=40 * n + 10),
                )
                for n in range(MAX_PAGE + 1)
            ]
        )

    portal = client.portal
    assert portal is not None
    portal.call(insert)
    first = data_of(gql(client, PAGE, {"first": MAX_PAGE}, t.headers()))["issues"]
    assert len(first["edges"]) == MAX_PAGE
    rest = data_of(
        gql(client, PAGE, {"first": MAX_PAGE, "after": first["pageInfo"]["endCursor"]}, t.headers())
    )
    assert len(rest["issues"]["edges"]) == 1  # so the first page was not the last
    assert first["pageInfo"]["hasNextPage"] is True


@pytest.mark.parametrize(
    "raw", ["99999999999999999999:1", "-99999999999999999999:1", "1:99999999999999999999"]
)
def test_a_forged_cursor_out_of_range_is_a_validation_error(plant: Tenant, raw: str) -> None:
    new_issue(plant)
    forged = base64.urlsafe_b64encode(raw.encode()).decode()
    response = gql(plant.client, PAGE, {"first": 2, "after": forged}, plant.headers())
    assert code_of(response) == "validation_error", response.text


# --------------------------------------------------------------------------- document limits


def test_a_query_deeper_than_the_limit_is_refused_naming_the_depth(plant: Tenant) -> None:
    assert "errors" not in gql(plant.client, nested_causes(MAX_DEPTH), headers=plant.headers()).json()
    deep = gql(plant.client, nested_causes(MAX_DEPTH + 1), headers=plant.headers())
    error = error_of(deep, statuses=(200, 400))
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "depth" in error["message"].lower()
    assert no_data(deep)


def test_an_alias_starting_with_underscores_does_not_lift_the_depth_limit(plant: Tenant) -> None:
    deep = gql(plant.client, nested_causes(MAX_DEPTH + 1, alias="__deep: "), headers=plant.headers())
    error = error_of(deep, statuses=(200, 400))
    assert "depth" in error["message"].lower(), deep.text
    assert no_data(deep)


def test_a_query_with_more_aliases_than_the_limit_is_refused(plant: Tenant) -> None:
    assert len(data_of(gql(plant.client, aliased_me(MAX_ALIASES), headers=plant.headers()))) == MAX_ALIASES
    many = gql(plant.client, aliased_me(MAX_ALIASES + 1), headers=plant.headers())
    error = error_of(many, statuses=(200, 400))
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "alias" in error["message"].lower()
    assert no_data(many)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {
            "descriptions": True,
            "specified_by_url": True,
            "directive_is_repeatable": True,
            "schema_description": True,
            "input_value_deprecation": True,
        },
    ],
    ids=["default", "every-option"],
)
def test_the_standard_introspection_query_is_not_refused(plant: Tenant, options: dict[str, bool]) -> None:
    schema = data_of(gql(plant.client, get_introspection_query(**options), headers=plant.headers()))[
        "__schema"
    ]
    names = {t["name"] for t in schema["types"]}
    assert {"Query", "Mutation", "Issue", "IssueEvent", "Cause"} <= names


# --------------------------------------------------------------------------- GraphiQL


def test_graphiql_is_served_on_get_with_an_html_accept(client: TestClient) -> None:
    response = client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "graphiql" in response.text.lower()


def test_a_document_of_two_operations_runs_only_the_one_named(plant: Tenant) -> None:
    document = "query A { me { email } } query B { me { role } }"
    unnamed = plant.client.post("/graphql", json={"query": document}, headers=plant.headers())
    error = error_of(unnamed)
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "operation name" in error["message"]
    assert unnamed.json()["data"] is None
    named = plant.client.post(
        "/graphql", json={"query": document, "operationName": "B"}, headers=plant.headers()
    )
    assert data_of(named) == {"me": {"role": "admin"}}
