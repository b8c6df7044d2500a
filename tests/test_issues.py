"""The Issue API of the seed: shapes, lifecycle rules, RAG status, causes, filters, CSVs, roles (SPEC section 4)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Tenant
from tests.helpers.issues import NO_AUTO_ESCALATION, ago, event, iso, new_issue

ISSUE_FIELDS: dict[str, Any] = {
    "id": int,
    "type": str,
    "stationCode": str,
    "startAt": str,
    "endAt": (str, type(None)),
    "createdAt": str,
    "updatedAt": str,
    "startNotifiedAt": (str, type(None)),
    "endNotifiedAt": (str, type(None)),
    "accountId": str,
    "excludedAt": (str, type(None)),
    "events": list,
    "isAcknowledged": bool,
    "isEstimated": bool,
    "isEscalated": bool,
    "hasCause": bool,
    "causeCode": (str, type(None)),
    "estimateEndAt": (str, type(None)),
    "ragStatus": str,
    "statusText": str,
    "stationName": str,
    "causeBreadcrumb": list,
    "startAtTimestamp": int,
    "endAtTimestamp": (int, type(None)),
    "duration": int,
    "durationFormatted": str,
    "skuCode": (str, type(None)),
    "skuName": (str, type(None)),
    "isOngoing": bool,
}
EVENT_FIELDS: dict[str, Any] = {
    "id": int,
    "downtimeId": int,
    "type": str,
    "userId": (int, type(None)),
    "estimateEndAt": (str, type(None)),
    "notifiedAt": (str, type(None)),
    "causeCode": (str, type(None)),
    "accountId": str,
    "createdAt": str,
    "updatedAt": str,
    "operatorInitials": (str, type(None)),
    "userEmail": (str, type(None)),
}


@pytest.fixture
def plant(tenant: Tenant) -> Tenant:
    """A tenant with escalation timers off, two stations and the default cause tree."""
    tenant.ok(tenant.post("/api/admin/config", {"config": NO_AUTO_ESCALATION}))
    for code in ("S1", "S2"):
        tenant.ok(
            tenant.post(
                "/api/station", {"code": code, "name": f"Station {code}", "plantCode": tenant.plant_code}
            )
        )
    assert tenant.post("/api/admin/seedrun").json() == {"isSuccess": True}
    return tenant


def one(t: Tenant, issue_id: int) -> dict[str, Any]:
    [issue] = t.ok(t.get("/api/issue", params={"id": issue_id}))
    return issue  # type: ignore[no-any-return]


def _types_match(obj: dict[str, Any], spec: dict[str, Any]) -> None:
    for name, kind in spec.items():
        assert name in obj, f"missing {name}"
        assert isinstance(obj[name], kind) and not (kind is int and isinstance(obj[name], bool)), (
            name,
            obj[name],
        )


def test_every_seed_field_is_present_with_its_type(plant: Tenant) -> None:
    created = new_issue(plant)
    _types_match(created, ISSUE_FIELDS)
    assert event(plant, created["id"], type="acknowledge", operator="JD").json() == {"isSuccess": True}
    for path in ("/api/issue", "/api/issue/ongoing?stationcodes=S1"):
        [issue] = plant.ok(plant.get(path))
        _types_match(issue, ISSUE_FIELDS)
        [ack] = issue["events"]
        _types_match(ack, EVENT_FIELDS)
        assert (ack["downtimeId"], ack["type"], ack["operatorInitials"]) == (
            created["id"],
            "acknowledge",
            "JD",
        )
        assert ack["userEmail"] == f"admin@{plant.domain}"


def test_manual_issue_rules(plant: Tenant) -> None:
    future = iso(datetime.now(UTC) + timedelta(hours=1))
    bad = [
        ({"startAt": future}, "startAt"),
        ({"startAt": ago(minutes=5), "endAt": ago(minutes=10)}, "endAt"),
        ({"stationCode": "nope"}, "stationCode"),
        ({"type": "broken"}, "type"),
        ({"startAt": "2025-05-29T13:40:45"}, "startAt"),
    ]
    for override, field in bad:
        body = {"type": "stop", "stationCode": "S1", "startAt": ago(minutes=5), **override}
        response = plant.post("/api/issue", body)
        assert response.status_code == 400, (override, response.text)
        assert response.json()["error"]["field"] == field
    first = new_issue(plant)
    assert (
        plant.post("/api/issue", {"type": "stop", "stationCode": "S1", "startAt": ago(minutes=1)}).status_code
        == 409
    )
    assert new_issue(plant, type="slow")["type"] == "slow"  # another type may run alongside
    # A past, ended stop is fine too. One clock read for both ends: two could straddle a millisecond.
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    ended = new_issue(plant, startAt=iso(hour_ago - timedelta(hours=1)), endAt=iso(hour_ago))
    assert ended["isOngoing"] is False and ended["duration"] == 3_600_000
    assert ended["durationFormatted"] == "1h 00m"
    assert first["isOngoing"] is True


def test_event_rules_of_the_spec_table(plant: Tenant) -> None:
    issue = new_issue(plant)["id"]
    assert event(plant, issue, type="acknowledge").status_code == 200
    second = event(plant, issue, type="acknowledge")
    assert second.status_code == 409 and second.json()["error"]["code"] == "conflict"
    for minutes in (0, 10081, -5):
        response = event(plant, issue, type="estimate", estimatedTime=minutes)
        assert response.status_code == 400 and response.json()["error"]["field"] == "estimatedTime"
    assert event(plant, issue, type="estimate").json()["error"]["field"] == "estimatedTime"
    unknown = event(plant, issue, type="cause", causeCode="no-such-cause")
    assert unknown.status_code == 400 and unknown.json()["error"]["field"] == "causeCode"
    assert event(plant, issue, type="cause").status_code == 400
    long_initials = event(plant, issue, type="acknowledge", operator="ABCDEFGHI")
    assert long_initials.status_code == 400 and long_initials.json()["error"]["field"] == "operator"
    assert event(plant, issue, type="teleport").status_code == 400
    assert event(plant, 999_999, type="escalate").status_code == 404


def test_ongoing_only_events_are_refused_after_the_end_but_cause_is_allowed(plant: Tenant) -> None:
    ended = new_issue(plant, startAt=ago(hours=2), endAt=ago(hours=1))["id"]
    for body in ({"type": "acknowledge"}, {"type": "estimate", "estimatedTime": 5}, {"type": "escalate"}):
        assert event(plant, ended, **body).status_code == 409, body
    assert event(plant, ended, type="cause", causeCode="material.shortage").status_code == 200
    issue = one(plant, ended)
    assert (issue["hasCause"], issue["causeCode"], issue["statusText"]) == (
        True,
        "material.shortage",
        "Resolved",
    )


def test_exclude_include_and_watch(plant: Tenant) -> None:
    issue = new_issue(plant)["id"]
    assert event(plant, issue, type="exclude").status_code == 200
    excluded = one(plant, issue)
    assert excluded["excludedAt"] is not None and (excluded["ragStatus"], excluded["statusText"]) == (
        "#bbbbbb",
        "Excluded",
    )
    assert event(plant, issue, type="include").status_code == 200
    assert one(plant, issue)["excludedAt"] is None
    assert event(plant, issue, type="watch").status_code == 200
    assert event(plant, issue, type="watch").status_code == 200  # watching twice is harmless
    code = plant.ok(plant.post("/api/admin/access-code"))["code"]
    by_tablet = plant.client.post(
        f"/api/issue/{issue}/event", json={"type": "watch"}, headers={"X-ACCESS-CODE": code}
    )
    assert by_tablet.status_code == 400  # a tablet code has no user to email
    assert [e["type"] for e in one(plant, issue)["events"]] == ["exclude", "include", "watch", "watch"]


def test_rag_table_row_by_row(plant: Tenant) -> None:
    plant.ok(
        plant.post("/api/plant", {"code": plant.plant_code, "name": "Main", "timezone": "America/New_York"})
    )
    issue = new_issue(plant)["id"]
    assert (one(plant, issue)["ragStatus"], one(plant, issue)["statusText"]) == (
        "#cc3311",
        "Awaiting acknowledgement",
    )
    event(plant, issue, type="acknowledge")
    assert (one(plant, issue)["ragStatus"], one(plant, issue)["statusText"]) == (
        "#ee7733",
        "Awaiting estimate",
    )
    event(plant, issue, type="escalate")
    escalated = one(plant, issue)
    assert (escalated["ragStatus"], escalated["statusText"], escalated["isEscalated"]) == (
        "#cc3311",
        "Escalated",
        True,
    )
    event(plant, issue, type="estimate", estimatedTime=90)
    estimated = one(plant, issue)
    back = datetime.fromisoformat(estimated["estimateEndAt"]).astimezone(
        __import__("zoneinfo").ZoneInfo("America/New_York")
    )
    assert (estimated["ragStatus"], estimated["statusText"]) == ("#009988", f"Back at {back:%H:%M}")
    assert estimated["isEstimated"] is True
    event(plant, issue, type="escalate")  # escalated again, no estimate after it
    assert one(plant, issue)["statusText"] == "Escalated"


def test_expired_estimate_and_resolution(plant: Tenant, client: Any) -> None:
    from models.issues import IssueEvent

    issue = new_issue(plant)["id"]
    event(plant, issue, type="acknowledge")
    event(plant, issue, type="estimate", estimatedTime=5)

    async def expire() -> None:  # stands in for five minutes passing
        await IssueEvent.filter(issue_id=issue, type="estimate").update(
            estimate_end_at=datetime.now(UTC) - timedelta(seconds=1)
        )

    client.portal.call(expire)
    plant.ok(
        plant.post(
            "/api/station", {"code": "S1", "name": "Station S1 renamed", "plantCode": plant.plant_code}
        )
    )
    assert (one(plant, issue)["ragStatus"], one(plant, issue)["statusText"]) == (
        "#cc3311",
        "Estimate expired",
    )
    ended = new_issue(plant, station="S2", startAt=ago(minutes=3), endAt=ago(minutes=1))
    assert (ended["ragStatus"], ended["statusText"]) == ("#009988", "Resolved")


def test_ongoing_duration_runs_until_now(plant: Tenant) -> None:
    issue = new_issue(plant, startAt=ago(minutes=12, seconds=30))
    assert 750_000 <= issue["duration"] < 760_000
    assert issue["durationFormatted"].startswith("12m 3")
    assert issue["endAtTimestamp"] is None and issue["startAtTimestamp"] == int(
        datetime.fromisoformat(issue["startAt"]).timestamp() * 1000
    )


def test_cause_breadcrumb_upsert_cycle_and_delete(plant: Tenant) -> None:
    issue = new_issue(plant)["id"]
    event(plant, issue, type="cause", causeCode="mechanical.conveyor.belt-jam")
    assert one(plant, issue)["causeBreadcrumb"] == [
        {"code": "mechanical", "description": "Mechanical", "parentCauseCode": None},
        {"code": "mechanical.conveyor", "description": "Conveyor", "parentCauseCode": "mechanical"},
        {
            "code": "mechanical.conveyor.belt-jam",
            "description": "Belt jam",
            "parentCauseCode": "mechanical.conveyor",
        },
    ]
    result = plant.ok(
        plant.post("/api/issue/cause", {"code": "mechanical.conveyor", "description": "Conveyors"})
    )
    assert set(result) == {"code", "description", "accountId", "parentCauseCode", "createdAt", "updatedAt"}
    assert (result["description"], result["parentCauseCode"]) == ("Conveyors", "mechanical")  # parent kept
    before = plant.ok(plant.get("/api/issue/cause"))
    cycle = plant.post(
        "/api/issue/cause",
        {"code": "mechanical", "description": "M", "parentCauseCode": "mechanical.conveyor.belt-jam"},
    )
    assert cycle.status_code == 400 and cycle.json()["error"]["field"] == "parentCauseCode"
    self_parent = plant.post(
        "/api/issue/cause", {"code": "quality", "description": "Q", "parentCauseCode": "quality"}
    )
    assert self_parent.status_code == 400
    assert plant.ok(plant.get("/api/issue/cause")) == before
    unknown_parent = plant.post(
        "/api/issue/cause", {"code": "x", "description": "X", "parentCauseCode": "nope"}
    )
    assert unknown_parent.status_code == 400 and unknown_parent.json()["error"]["field"] == "parentCauseCode"
    assert (
        plant.delete("/api/issue/cause/mechanical.conveyor.belt-jam").status_code == 409
    )  # named by an event
    assert plant.delete("/api/issue/cause/mechanical.conveyor").status_code == 409  # has children
    assert plant.delete("/api/issue/cause/utilities.air").status_code == 204
    assert plant.delete("/api/issue/cause/utilities.air").status_code == 404
    filtered = plant.ok(plant.get("/api/issue/cause", params={"codes": "quality,material"}))
    assert [c["code"] for c in filtered] == ["material", "quality"]
    assert plant.get("/api/issue/cause", params={"codes": "quality,nope"}).status_code == 404


def test_cause_code_rules(plant: Tenant) -> None:
    for body, field in (
        ({"code": "bad code", "description": "x"}, "code"),
        ({"code": "x" * 51, "description": "x"}, "code"),
        ({"code": "ok", "description": "x" * 101}, "description"),
        ({"code": "ok", "description": ""}, "description"),
    ):
        response = plant.post("/api/issue/cause", body)
        assert response.status_code == 400 and response.json()["error"]["field"] == field


def test_list_filters_limit_order_default_range_and_id(plant: Tenant) -> None:
    old = new_issue(plant, station="S2", startAt=ago(hours=30), endAt=ago(hours=29))
    first = new_issue(plant, station="S1", startAt=ago(hours=3), endAt=ago(hours=2))
    second = new_issue(plant, station="S2", startAt=ago(minutes=30))
    listed = [i["id"] for i in plant.ok(plant.get("/api/issue"))]
    assert listed == [second["id"], first["id"]]  # newest first; the 30-hour-old one is outside 24 h
    assert plant.get("/api/issue", params={"limit": 1001}).status_code == 400
    assert plant.get("/api/issue", params={"limit": 1001}).json()["error"]["field"] == "limit"
    assert [i["id"] for i in plant.ok(plant.get("/api/issue", params={"limit": 1}))] == [second["id"]]
    assert [i["id"] for i in plant.ok(plant.get("/api/issue", params={"id": old["id"]}))] == [old["id"]]
    assert plant.get("/api/issue", params={"id": 987654}).status_code == 404
    week = [i["id"] for i in plant.ok(plant.get("/api/issue", params={"rangecode": "last-7-days"}))]
    assert old["id"] in week
    repeated = plant.ok(plant.get("/api/issue?stationcodes=S1&stationcodes=S2&rangecode=last-7-days"))
    commas = plant.ok(plant.get("/api/issue?stationcodes=S1,S2&rangecode=last-7-days"))
    assert [i["id"] for i in repeated] == [i["id"] for i in commas] == week
    assert plant.get("/api/issue", params={"stationcodes": "S9"}).status_code == 404
    bad_range = plant.get("/api/issue", params={"rangecode": "fortnight"})
    assert bad_range.status_code == 400 and bad_range.json()["error"]["field"] == "rangecode"
    reversed_range = plant.get(
        "/api/issue", params={"rangecode": "2025-05-02T00:00:00Z/2025-05-01T00:00:00Z"}
    )
    assert reversed_range.status_code == 400


def test_unreported_count_has_a_row_per_requested_station(plant: Tenant) -> None:
    plant.ok(plant.post("/api/station", {"code": "S3", "name": "Idle", "plantCode": plant.plant_code}))
    a = new_issue(plant, station="S1", startAt=ago(minutes=20), endAt=ago(minutes=10))["id"]
    new_issue(plant, station="S1", startAt=ago(minutes=5))
    reported = new_issue(plant, station="S2", startAt=ago(minutes=20), endAt=ago(minutes=10))["id"]
    event(plant, reported, type="cause", causeCode="quality")
    excluded = new_issue(plant, station="S2", startAt=ago(minutes=9), endAt=ago(minutes=8))["id"]
    event(plant, excluded, type="exclude")
    counts = plant.ok(
        plant.get(
            "/api/issue/unreported-downtime/count", params={"stationcodes": "S2,S1,S3", "rangecode": "today"}
        )
    )
    assert counts == [
        {"stationCode": "S2", "count": 0},
        {"stationCode": "S1", "count": 2},
        {"stationCode": "S3", "count": 0},
    ]
    assert a
    assert plant.get("/api/issue/unreported-downtime/count", params={"stationcodes": "S1"}).status_code == 400
    assert plant.get("/api/issue/unreported-downtime/count", params={"rangecode": "today"}).status_code == 400


def test_ongoing_needs_station_codes_and_lists_only_open_issues(plant: Tenant) -> None:
    new_issue(plant, station="S1", startAt=ago(minutes=20), endAt=ago(minutes=10))
    open_one = new_issue(plant, station="S2")
    assert plant.get("/api/issue/ongoing").status_code == 400
    assert [i["id"] for i in plant.ok(plant.get("/api/issue/ongoing", params={"stationcodes": "S1,S2"}))] == [
        open_one["id"]
    ]
    event(plant, open_one["id"], type="acknowledge")  # a change is visible on the next read (cache dropped)
    [now_open] = plant.ok(plant.get("/api/issue/ongoing", params={"stationcodes": "S2"}))
    assert now_open["isAcknowledged"] is True


def test_issue_csv(plant: Tenant) -> None:
    plant.ok(
        plant.post("/api/plant", {"code": plant.plant_code, "name": "Main", "timezone": "Europe/Berlin"})
    )
    plant.ok(
        plant.post(
            "/api/station", {"code": "S1", "name": "=cmd|' /C calc'!A0", "plantCode": plant.plant_code}
        )
    )
    issue = new_issue(plant, startAt="2026-01-15T10:00:00.000Z", endAt="2026-01-15T10:12:30.000Z")
    event(plant, issue["id"], type="cause", causeCode="quality")
    response = plant.get(
        "/api/issue/csv",
        params={"plantcode": plant.plant_code, "rangecode": "2026-01-15T00:00:00Z/2026-01-16T00:00:00Z"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == [
        "id",
        "type",
        "stationCode",
        "stationName",
        "startAt",
        "endAt",
        "duration",
        "durationFormatted",
        "causeCode",
        "causeDescription",
        "isAcknowledged",
        "isEstimated",
        "isEscalated",
        "excludedAt",
        "skuCode",
        "statusText",
    ]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["stationName"].startswith("'=")
    assert (row["startAt"], row["endAt"]) == (
        "2026-01-15T11:00:00.000+01:00",
        "2026-01-15T11:12:30.000+01:00",
    )
    assert (row["duration"], row["durationFormatted"], row["causeDescription"]) == (
        "750000",
        "12m 30s",
        "Quality",
    )
    assert plant.get("/api/issue/csv", params={"plantcode": plant.plant_code}).status_code == 400
    assert plant.get("/api/issue/csv", params={"rangecode": "today"}).status_code == 400


def test_cause_csv(plant: Tenant) -> None:
    plant.ok(plant.post("/api/issue/cause", {"code": "evil", "description": "@SUM(1+1)"}))
    response = plant.get("/api/issue/cause/csv")
    assert response.status_code == 200 and response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["code", "description", "parentCauseCode"]
    assert ["evil", "'@SUM(1+1)", ""] in rows
    assert ["mechanical.conveyor", "Conveyor", "mechanical"] in rows


def test_roles_on_the_issue_paths(plant: Tenant) -> None:
    issue = new_issue(plant)["id"]
    keys = {role: plant.key_for(role) for role in ("read-only", "operator", "member", "supervisor", "device")}
    reads = [
        "/api/issue",
        "/api/issue/ongoing?stationcodes=S1",
        "/api/issue/cause",
        "/api/issue/cause/csv",
        f"/api/issue/csv?plantcode={plant.plant_code}&rangecode=today",
        "/api/issue/unreported-downtime/count?stationcodes=S1&rangecode=today",
    ]
    for path in reads:
        assert plant.get(path, key=keys["read-only"]).status_code == 200, path
        assert plant.get(path, key=keys["device"]).status_code == 403, path
    assert event(plant, issue, key=keys["read-only"], type="acknowledge").status_code == 403
    assert event(plant, issue, key=keys["operator"], type="acknowledge").status_code == 200
    code = plant.ok(plant.post("/api/admin/access-code"))["code"]
    tablet = {"X-ACCESS-CODE": code}
    assert (
        plant.client.post(
            f"/api/issue/{issue}/event", json={"type": "estimate", "estimatedTime": 10}, headers=tablet
        ).status_code
        == 200
    )
    new = {"type": "stop", "stationCode": "S2", "startAt": ago(minutes=1)}
    assert plant.post("/api/issue", new, key=keys["operator"]).status_code == 403
    assert plant.client.post("/api/issue", json=new, headers=tablet).status_code == 403
    assert plant.post("/api/issue", new, key=keys["member"]).status_code == 200
    cause = {"code": "new-cause", "description": "New"}
    assert plant.post("/api/issue/cause", cause, key=keys["member"]).status_code == 403
    assert plant.post("/api/issue/cause", cause, key=keys["supervisor"]).status_code == 200
    assert plant.delete("/api/issue/cause/new-cause", key=keys["member"]).status_code == 403
    assert plant.delete("/api/issue/cause/new-cause", key=keys["supervisor"]).status_code == 204
    assert plant.post("/api/admin/seedrun", key=keys["supervisor"]).status_code == 403


def test_another_accounts_issue_and_codes_are_unknown(plant: Tenant, client: Any) -> None:
    from tests.conftest import new_tenant

    other = new_tenant(client)
    other.ok(other.post("/api/station", {"code": "OTHER", "name": "O", "plantCode": other.plant_code}))
    other.ok(other.post("/api/issue/cause", {"code": "theirs", "description": "Theirs"}))
    theirs = new_issue(other, station="OTHER")["id"]
    assert event(plant, theirs, type="acknowledge").status_code == 404
    assert plant.get("/api/issue", params={"id": theirs}).status_code == 404
    body = {"type": "stop", "stationCode": "OTHER", "startAt": ago(minutes=1)}
    foreign_station = plant.post("/api/issue", body)
    assert foreign_station.status_code == 400 and foreign_station.json()["error"]["field"] == "stationCode"
    mine = new_issue(plant)["id"]
    foreign_cause = event(plant, mine, type="cause", causeCode="theirs")
    assert foreign_cause.status_code == 400 and foreign_cause.json()["error"]["field"] == "causeCode"
    assert plant.get("/api/issue/ongoing", params={"stationcodes": "OTHER"}).status_code == 404
    assert plant.delete("/api/issue/cause/theirs").status_code == 404
    assert all(i["accountId"] == plant.account_id for i in plant.ok(plant.get("/api/issue")))


def test_seedrun_is_idempotent_and_sets_email_from(plant: Tenant) -> None:
    before = plant.ok(plant.get("/api/issue/cause"))
    assert plant.post("/api/admin/seedrun").status_code == 200
    assert plant.ok(plant.get("/api/issue/cause")) == before
    assert {c["code"] for c in before} >= {
        "mechanical",
        "material",
        "quality",
        "operator",
        "changeover",
        "utilities",
    }
    values = {r["key"]: r["value"] for r in plant.ok(plant.get("/api/admin/config"))}
    assert values["EMAIL_FROM"] == f"andon@{plant.domain}"


def test_range_codes_use_the_plant_clock(plant: Tenant) -> None:
    plant.ok(
        plant.post(
            "/api/plant",
            {"code": plant.plant_code, "name": "Main", "timezone": "Europe/London", "dayStartHour": 6},
        )
    )
    # In July London is on BST: 06:00 local is 05:00Z, so a stop at 05:30Z is inside the plant day.
    summer = new_issue(plant, startAt="2025-07-01T05:30:00.000Z", endAt="2025-07-01T05:45:00.000Z")
    # On 2025-10-26 the clocks went back at 01:00Z: 06:00 local is 06:00Z, so 05:30Z belongs to the day before.
    autumn_before = new_issue(
        plant, station="S2", startAt="2025-10-26T05:30:00.000Z", endAt="2025-10-26T05:45:00.000Z"
    )
    autumn_inside = new_issue(
        plant, station="S2", startAt="2025-10-26T06:30:00.000Z", endAt="2025-10-26T06:45:00.000Z"
    )

    def ids(range_code: str) -> list[int]:
        return [i["id"] for i in plant.ok(plant.get("/api/issue", params={"rangecode": range_code}))]

    # An interval without offsets is read in the plant's time zone.
    assert ids("2025-07-01T06:00:00/2025-07-02T06:00:00") == [summer["id"]]
    assert ids("2025-10-26T06:00:00/2025-10-27T06:00:00") == [autumn_inside["id"]]
    assert autumn_before["id"] in ids("2025-10-25T06:00:00/2025-10-26T06:00:00")
