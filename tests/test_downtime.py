"""GET /api/downtime (SPEC section 8): the worked example of docs/oee.md, the seed's keys, every rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import Tenant
from tests.helpers.graphql import data_of, gql
from tests.helpers.statements import StatementCounter
from tests.oee_helpers import Minute, insert_windows, iso, layout

MONDAY = datetime(2025, 5, 5, tzinfo=UTC)
DAY_RANGE = "2025-05-05T00:00:00Z/2025-05-06T00:00:00Z"
EARLY_SHIFT = [{"weekDay": 0, "startHour": 6, "duration": 8}]


def at(hour: int, minute: int = 0) -> datetime:
    return MONDAY + timedelta(hours=hour, minutes=minute)


def issue(t: Tenant, start: datetime, end: datetime | None, kind: str = "stop", station: str = "S1") -> int:
    body: dict[str, Any] = {"type": kind, "stationCode": station, "startAt": iso(start)}
    if end is not None:
        body["endAt"] = iso(end)
    [created] = t.ok(t.post("/api/issue", body))
    return int(created["id"])


def event(t: Tenant, issue_id: int, **body: Any) -> None:
    response = t.post(f"/api/issue/{issue_id}/event", body)
    assert response.status_code == 200, response.text


def analysis(t: Tenant, **params: Any) -> dict[str, Any]:
    response = t.get("/api/downtime", params={"plantcode": "P", **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["isSuccess"] is True
    return body  # type: ignore[no-any-return]


def worked_example(t: Tenant) -> None:
    """docs/oee.md: one station, the Monday 06:00-14:00 shift."""
    layout(t, shifts=EARLY_SHIFT, cycle_time=30, idle_cost=2)
    t.ok(
        t.post(
            "/api/schedule",
            {
                "stationCode": "S1",
                "nonProductionReasonCode": "MAINT",
                "plannedStartAt": iso(at(12)),
                "plannedEndAt": iso(at(12, 30)),
            },
        )
    )
    jam = issue(t, at(8), at(8, 10))
    event(t, jam, type="cause", causeCode="mechanical.conveyor.belt-jam")
    issue(t, at(10), at(10, 20))
    excluded = issue(t, at(13), at(13, 5))
    event(t, excluded, type="exclude")
    issue(t, at(11), at(11, 15), kind="slow")
    minutes = []
    down = {(8, m) for m in range(10)} | {(10, m) for m in range(20)} | {(12, m) for m in range(30)}
    ones = 0
    for i in range(480):
        hour, minute = 6 + i // 60, i % 60
        if (hour, minute) in down:
            minutes.append(Minute())
        elif ones < 168:
            # 168 minutes with one unit (42 of them bad), 252 with two.
            minutes.append(Minute(good=0 if ones < 42 else 1, bad=1 if ones < 42 else 0, cycle_time=60.0))
            ones += 1
        else:
            minutes.append(Minute(good=2, cycle_time=30.0))
    insert_windows(t, "S1", at(6), minutes)
    # Output out of shift is counted too (none here): an idle window before the shift changes nothing.
    insert_windows(t, "S1", at(5), [Minute(in_shift=False)] * 60)


SEED_EXAMPLE: dict[str, Any] = {
    # The /api/downtime example of the Issue seed page, verbatim: 1 stands for a number, "text" for a string.
    "isSuccess": True,
    "results": [
        {
            "stationCode": "text",
            "stationName": "text",
            "stationGroupCode": "text",
            "stationGroupName": "text",
            "reliabilityData": {
                "runningsCount": 1,
                "stopsCount": 1,
                "totalRunningTime": 1,
                "totalStoppedTime": 1,
            },
            "cycleTimeAnalysis": {
                "avg": 1,
                "min": 1,
                "max": 1,
                "quantity": 1,
                "default": 1,
                "stations": [
                    {
                        "stationCode": "text",
                        "stationName": "text",
                        "avg": 1,
                        "min": 1,
                        "max": 1,
                        "quantity": 1,
                    }
                ],
            },
            "oee": {
                "scheduleDuration": 1,
                "scheduleLossDuration": 1,
                "schedulePerc": 1,
                "productionScheduleDuration": 1,
                "productionScheduleLossDuration": 1,
                "productionSchedulePerc": 1,
                "availabilityDuration": 1,
                "availabilityLossDuration": 1,
                "availabilityPerc": 1,
                "performanceTargetCount": 1,
                "performanceTargetLossCount": 1,
                "performanceTargetPerc": 1,
                "goodQualityCount": 1,
                "goodQualityLossCount": 1,
                "goodQualityPerc": 1,
                "scheduledNonProduction": [
                    {"code": "text", "description": "text", "duration": 1, "cost": 1, "percent": 1}
                ],
                "stops": [{"code": "text", "description": "text", "duration": 1, "cost": 1, "percent": 1}],
                "oee": 1,
            },
            "downtimes": [
                {
                    "type": "stop",
                    "stationCode": "text",
                    "reasonCode": "text",
                    "startTimestamp": 1,
                    "endTimestamp": 1,
                    "range": {
                        "from": 1,
                        "to": 1,
                        "duration": 1,
                        "fromIso": "text",
                        "toIso": "text",
                        "durationFormatted": "text",
                    },
                }
            ],
        }
    ],
    "range": {
        "from": 1,
        "to": 1,
        "duration": 1,
        "fromIso": "text",
        "toIso": "text",
        "durationFormatted": "text",
    },
}
PERCENT_KEYS = {
    "schedulePerc",
    "productionSchedulePerc",
    "availabilityPerc",
    "performanceTargetPerc",
    "goodQualityPerc",
    "percent",
    "oee",
}


def walk(seed: Any, answer: Any, path: str = "") -> None:
    """Every key of the seed is in the answer with the seed's JSON type (lists: every item)."""
    if isinstance(seed, dict):
        assert isinstance(answer, dict), path
        for key, value in seed.items():
            assert key in answer, f"missing {path}.{key}"
            walk(value, answer[key], f"{path}.{key}")
    elif isinstance(seed, list):
        assert isinstance(answer, list) and answer, f"{path} is empty or not a list"
        for item in answer:
            walk(seed[0], item, f"{path}[]")
    elif isinstance(seed, bool):
        assert isinstance(answer, bool), path
    elif isinstance(seed, int | float):
        assert isinstance(answer, int | float) and not isinstance(answer, bool), (path, answer)
        leaf = path.rsplit(".", 1)[-1]
        if leaf in PERCENT_KEYS:
            assert 0 <= answer <= 100 and round(answer, 2) == answer, (path, answer)
    else:
        assert isinstance(answer, str), (path, answer)


def test_worked_example_numbers_come_back_exactly(tenant: Tenant) -> None:
    worked_example(tenant)
    body = analysis(tenant, rangecode=DAY_RANGE)
    [result] = body["results"]
    assert (result["stationCode"], result["stationGroupCode"], result["stationGroupName"]) == (
        "S1",
        "G",
        "Group G",
    )
    assert result["oee"] == {
        "scheduleDuration": 86_400_000,
        "scheduleLossDuration": 57_600_000,
        "schedulePerc": 33.33,
        "productionScheduleDuration": 28_800_000,
        "productionScheduleLossDuration": 1_800_000,
        "productionSchedulePerc": 93.75,
        "availabilityDuration": 27_000_000,
        "availabilityLossDuration": 1_800_000,
        "availabilityPerc": 93.33,
        "performanceTargetCount": 840,
        "performanceTargetLossCount": 168,
        "performanceTargetPerc": 80.0,
        "goodQualityCount": 630,
        "goodQualityLossCount": 42,
        "goodQualityPerc": 93.75,
        "scheduledNonProduction": [
            {
                "code": "MAINT",
                "description": "Planned maintenance",
                "duration": 1_800_000,
                "cost": 60.0,
                "percent": 6.25,
            }
        ],
        "stops": [
            {
                "code": "unreported",
                "description": "Unreported",
                "duration": 1_200_000,
                "cost": 40.0,
                "percent": 4.44,
            },
            {
                "code": "mechanical.conveyor.belt-jam",
                "description": "Belt jam",
                "duration": 600_000,
                "cost": 20.0,
                "percent": 2.22,
            },
        ],
        "oee": 70.0,
    }
    assert result["reliabilityData"] == {
        "runningsCount": 4,
        "stopsCount": 2,
        "totalRunningTime": 25_200_000,
        "totalStoppedTime": 1_800_000,
        "mtbf": 12_600_000,
        "mttr": 900_000,
    }
    cycle = result["cycleTimeAnalysis"]
    assert (cycle["avg"], cycle["min"], cycle["max"], cycle["quantity"], cycle["default"]) == (
        37.5,
        30,
        60,
        672,
        30,
    )
    assert cycle["stations"] == [
        {"stationCode": "S1", "stationName": "Station S1", "avg": 37.5, "min": 30, "max": 60, "quantity": 672}
    ]
    shown = [
        (d["type"], d["reasonCode"], d["range"]["fromIso"], d["range"]["toIso"]) for d in result["downtimes"]
    ]
    assert shown == [
        ("no-shift", "no-shift", "2025-05-05T00:00:00.000Z", "2025-05-05T06:00:00.000Z"),
        ("stop", "mechanical.conveyor.belt-jam", "2025-05-05T08:00:00.000Z", "2025-05-05T08:10:00.000Z"),
        ("stop", "unreported", "2025-05-05T10:00:00.000Z", "2025-05-05T10:20:00.000Z"),
        ("slow", "unreported", "2025-05-05T11:00:00.000Z", "2025-05-05T11:15:00.000Z"),
        ("scheduled-non-production", "MAINT", "2025-05-05T12:00:00.000Z", "2025-05-05T12:30:00.000Z"),
        ("no-shift", "no-shift", "2025-05-05T14:00:00.000Z", "2025-05-06T00:00:00.000Z"),
    ]
    assert body["range"]["fromIso"] == "2025-05-05T00:00:00.000Z" and body["range"]["duration"] == 86_400_000


def test_every_seed_key_has_the_seed_type_and_oee_is_the_product(tenant: Tenant) -> None:
    worked_example(tenant)
    body = analysis(tenant, rangecode=DAY_RANGE)
    walk(SEED_EXAMPLE, body)
    for result in body["results"]:
        oee = result["oee"]
        product = oee["availabilityPerc"] * oee["performanceTargetPerc"] * oee["goodQualityPerc"] / 10_000
        assert oee["oee"] == round(product, 2)


def test_percentages_are_null_when_their_base_is_zero(tenant: Tenant) -> None:
    # A station in a group without shifts and nothing recorded: all time is planned, no output.
    layout(tenant, shifts=[], idle_cost=None)
    [result] = analysis(tenant, rangecode=DAY_RANGE)["results"]
    oee = result["oee"]
    assert oee["availabilityPerc"] == 100.0 and oee["performanceTargetPerc"] == 0.0
    assert oee["goodQualityPerc"] is None and oee["oee"] == 0.0
    assert result["cycleTimeAnalysis"]["avg"] is None and result["reliabilityData"]["mtbf"] is None
    layout_without_cycle = tenant.ok(
        tenant.post("/api/station", {"code": "S9", "name": "No cycle", "plantCode": "P", "groupCode": "G"})
    )
    assert layout_without_cycle["cycleTime"] is None
    [s9] = analysis(tenant, rangecode=DAY_RANGE, stationcodes="S9")["results"]
    assert s9["oee"]["performanceTargetPerc"] is None and s9["oee"]["oee"] is None


def test_a_ten_minute_stop_is_unreported_until_a_cause_is_set(tenant: Tenant) -> None:
    layout(tenant, shifts=[])
    stop = issue(tenant, at(9), at(9, 10))
    [result] = analysis(tenant, rangecode=DAY_RANGE)["results"]
    assert result["oee"]["availabilityLossDuration"] == 600_000
    assert [(s["code"], s["duration"], s["cost"]) for s in result["oee"]["stops"]] == [
        ("unreported", 600_000, 20.0)
    ]
    event(tenant, stop, type="cause", causeCode="electrical.sensor")
    [result] = analysis(tenant, rangecode=DAY_RANGE)["results"]
    assert [(s["code"], s["description"], s["duration"]) for s in result["oee"]["stops"]] == [
        ("electrical.sensor", "Sensor fault", 600_000)
    ]
    assert [d["reasonCode"] for d in result["downtimes"] if d["type"] == "stop"] == ["electrical.sensor"]


def test_downtimes_are_clipped_to_the_range_not_to_shifts(tenant: Tenant) -> None:
    layout(tenant, shifts=EARLY_SHIFT)
    # 05:50-06:20 straddles the shift start; the range starts at 06:10.
    issue(tenant, at(5, 50), at(6, 20))
    body = analysis(tenant, rangecode="2025-05-05T06:10:00Z/2025-05-05T07:00:00Z")
    [stop] = [d for d in body["results"][0]["downtimes"] if d["type"] == "stop"]
    assert (stop["range"]["fromIso"], stop["range"]["toIso"]) == (
        "2025-05-05T06:10:00.000Z",
        "2025-05-05T06:20:00.000Z",
    )
    assert stop["startTimestamp"] == body["range"]["from"]
    whole = analysis(tenant, rangecode=DAY_RANGE)["results"][0]
    [stop] = [d for d in whole["downtimes"] if d["type"] == "stop"]
    # Listed from its real start (05:50, before the shift), but only the in-shift 20 minutes are loss.
    assert stop["range"]["fromIso"] == "2025-05-05T05:50:00.000Z"
    assert whole["oee"]["availabilityLossDuration"] == 1_200_000


def test_excluded_issues_leave_availability(tenant: Tenant) -> None:
    layout(tenant, shifts=[])
    stop = issue(tenant, at(9), at(9, 10))
    event(tenant, stop, type="exclude")
    [result] = analysis(tenant, rangecode=DAY_RANGE)["results"]
    assert result["oee"]["availabilityLossDuration"] == 0 and result["oee"]["stops"] == []
    assert result["oee"]["availabilityPerc"] == 100.0 and result["reliabilityData"]["stopsCount"] == 0
    assert [d for d in result["downtimes"] if d["type"] == "stop"] == []
    event(tenant, stop, type="include")
    [result] = analysis(tenant, rangecode=DAY_RANGE)["results"]
    assert result["oee"]["availabilityLossDuration"] == 600_000


def test_non_production_moves_time_from_availability_loss_to_scheduled_non_production(tenant: Tenant) -> None:
    layout(tenant, shifts=EARLY_SHIFT)
    issue(tenant, at(9), at(9, 30))
    before = analysis(tenant, rangecode=DAY_RANGE)["results"][0]["oee"]
    assert (before["availabilityLossDuration"], before["productionScheduleLossDuration"]) == (1_800_000, 0)
    tenant.ok(
        tenant.post(
            "/api/schedule",
            {
                "stationCode": "S1",
                "nonProductionReasonCode": "MAINT",
                "plannedStartAt": iso(at(9, 10)),
                "plannedEndAt": iso(at(9, 40)),
            },
        )
    )
    after = analysis(tenant, rangecode=DAY_RANGE)["results"][0]["oee"]
    assert after["availabilityLossDuration"] == 600_000
    assert after["productionScheduleLossDuration"] == 1_800_000
    assert after["availabilityDuration"] == before["availabilityDuration"] - 1_800_000
    assert [(r["code"], r["duration"]) for r in after["scheduledNonProduction"]] == [("MAINT", 1_800_000)]


def test_time_out_of_shift_is_schedule_loss_never_a_stop(tenant: Tenant) -> None:
    layout(tenant, shifts=EARLY_SHIFT)
    issue(tenant, at(16), at(17))
    [result] = analysis(tenant, rangecode=DAY_RANGE)["results"]
    oee = result["oee"]
    assert oee["availabilityLossDuration"] == 0 and oee["stops"] == []
    assert oee["scheduleLossDuration"] == 16 * 3_600_000 and oee["schedulePerc"] == 33.33
    assert result["reliabilityData"]["stopsCount"] == 0


def test_day_windows_are_plant_local_days(tenant: Tenant) -> None:
    layout(tenant, stations=("S1", "S2"), shifts=[], timezone="Europe/London")
    tenant.ok(
        tenant.post(
            "/api/plant", {"code": "P", "name": "Plant P", "timezone": "Europe/London", "dayStartHour": 6}
        )
    )
    insert_windows(tenant, "S1", at(4), [Minute(good=1, cycle_time=60.0)] * 120)
    body = analysis(tenant, rangecode="2025-05-05T06:00:00/2025-05-08T06:00:00", aggregatewindow="day")
    results = body["results"]
    assert [r["stationCode"] for r in results] == ["S1"] * 3 + ["S2"] * 3
    # 06:00 in London in May is 05:00 UTC.
    assert [r["range"]["fromIso"] for r in results[:3]] == [
        "2025-05-05T05:00:00.000Z",
        "2025-05-06T05:00:00.000Z",
        "2025-05-07T05:00:00.000Z",
    ]
    # The 04:00-06:00 UTC windows: 04:00-05:00 falls before the range, 05:00-06:00 on the first day.
    assert [r["oee"]["goodQualityCount"] for r in results[:3]] == [60, 0, 0]
    assert sum(r["oee"]["scheduleDuration"] for r in results[:3]) == body["range"]["duration"]


def test_hour_week_and_shift_windows(tenant: Tenant) -> None:
    layout(tenant, shifts=[*EARLY_SHIFT, {"weekDay": 1, "startHour": 6, "duration": 8}])
    hours = analysis(tenant, rangecode=DAY_RANGE, aggregatewindow="hour")["results"]
    assert len(hours) == 24 and hours[6]["oee"]["productionScheduleDuration"] == 3_600_000
    weeks = analysis(tenant, rangecode="2025-05-01T00:00:00Z/2025-05-15T00:00:00Z", aggregatewindow="week")[
        "results"
    ]
    assert [w["range"]["fromIso"] for w in weeks] == [
        "2025-05-01T00:00:00.000Z",
        "2025-05-05T00:00:00.000Z",
        "2025-05-12T00:00:00.000Z",
    ]
    shifts = analysis(tenant, rangecode="2025-05-05T00:00:00Z/2025-05-07T00:00:00Z", aggregatewindow="shift")[
        "results"
    ]
    assert [(s["range"]["fromIso"], s["oee"]["schedulePerc"]) for s in shifts] == [
        ("2025-05-05T06:00:00.000Z", 100.0),
        ("2025-05-06T06:00:00.000Z", 100.0),
    ]


def test_bad_parameters_answer_400_and_unknown_references_404(tenant: Tenant) -> None:
    layout(tenant, stations=("S1", "S2", "S3"))
    cases = [
        ({"rangecode": DAY_RANGE}, "plantcode"),
        ({"plantcode": "P"}, "rangecode"),
        ({"plantcode": "P", "rangecode": "next-year"}, "rangecode"),
        ({"plantcode": "P", "rangecode": "2025-05-06T00:00:00Z/2025-05-05T00:00:00Z"}, "rangecode"),
        ({"plantcode": "P", "rangecode": DAY_RANGE, "aggregatewindow": "month"}, "aggregatewindow"),
        # 3 stations x 396 days of hours is more than one answer holds.
        (
            {
                "plantcode": "P",
                "rangecode": "2024-05-01T00:00:00Z/2025-06-01T00:00:00Z",
                "aggregatewindow": "hour",
            },
            "aggregatewindow",
        ),
    ]
    for params, name in cases:
        response = tenant.get("/api/downtime", params=params)
        assert response.status_code == 400, (params, response.text)
        assert name in response.json()["error"]["message"]
    for params in (
        {"plantcode": "NOPE"},
        {"plantcode": "P", "stationcodes": "NOPE"},
        {"plantcode": "P", "skucodes": "NOPE"},
    ):
        assert tenant.get("/api/downtime", params={"rangecode": DAY_RANGE, **params}).status_code == 404


def test_includefuture_keeps_the_calendar_after_now(tenant: Tenant) -> None:
    layout(tenant, shifts=[])
    now = datetime.now(UTC).replace(microsecond=0)
    span = f"{iso(now - timedelta(hours=1))}/{iso(now + timedelta(hours=1))}"
    capped = analysis(tenant, rangecode=span)
    assert capped["range"]["duration"] < 3_700_000
    future = analysis(tenant, rangecode=span, includefuture="true")
    assert future["range"]["duration"] == 7_200_000
    assert future["results"][0]["oee"]["availabilityDuration"] == 7_200_000
    # An ongoing stop is loss until now, not until the end of a future range.
    issue(tenant, now - timedelta(minutes=20), None)
    future = analysis(tenant, rangecode=span, includefuture="true")
    loss = future["results"][0]["oee"]["availabilityLossDuration"]
    assert 1_200_000 <= loss < 1_200_000 + 60_000
    [stop] = [d for d in future["results"][0]["downtimes"] if d["type"] == "stop"]
    assert stop["endTimestamp"] - stop["startTimestamp"] == loss


def test_skucodes_and_inshiftaverages_filter_output(tenant: Tenant) -> None:
    layout(tenant, shifts=EARLY_SHIFT)
    tenant.ok(tenant.post("/api/sku", {"code": "SKU2", "name": "Gadget", "cycleTime": 60}))
    insert_windows(tenant, "S1", at(6), [Minute(good=2, cycle_time=30.0, sku="SKU1")] * 60)
    insert_windows(tenant, "S1", at(7), [Minute(good=1, cycle_time=60.0, sku="SKU2")] * 60)
    insert_windows(tenant, "S1", at(20), [Minute(good=1, cycle_time=90.0, sku="SKU1", in_shift=False)] * 30)
    everything = analysis(tenant, rangecode=DAY_RANGE)["results"][0]
    assert everything["oee"]["goodQualityCount"] == 120 + 60 + 30
    assert everything["cycleTimeAnalysis"]["max"] == 90
    sku1 = analysis(tenant, rangecode=DAY_RANGE, skucodes="SKU1")["results"][0]
    assert sku1["oee"]["goodQualityCount"] == 150
    in_shift = analysis(tenant, rangecode=DAY_RANGE, inshiftaverages="true")["results"][0][
        "cycleTimeAnalysis"
    ]
    assert (in_shift["max"], in_shift["quantity"]) == (60, 180)
    # The ideal rate is each SKU's (else the station's 30 s), weighted by the planned time its windows
    # recorded: 2 units/min for an hour of SKU1, 1 unit/min for an hour of SKU2, over 480 minutes of run time.
    assert everything["oee"]["performanceTargetCount"] == 480 * (2 + 1) / 2
    assert everything["cycleTimeAnalysis"]["default"] == 40


def test_other_accounts_data_never_counts(tenant: Tenant, other_tenant: Tenant) -> None:
    layout(tenant, shifts=[])
    layout(other_tenant, shifts=[])
    insert_windows(other_tenant, "S1", at(6), [Minute(good=5, cycle_time=12.0)] * 10)
    issue(other_tenant, at(9), at(9, 10))
    [result] = analysis(tenant, rangecode=DAY_RANGE)["results"]
    assert result["oee"]["goodQualityCount"] == 0 and result["oee"]["availabilityLossDuration"] == 0


def test_roles_read_only_may_analyse(tenant: Tenant) -> None:
    layout(tenant)
    assert (
        tenant.get(
            "/api/downtime",
            key=tenant.key_for("read-only"),
            params={"plantcode": "P", "rangecode": DAY_RANGE},
        ).status_code
        == 200
    )
    assert (
        tenant.client.get("/api/downtime", params={"plantcode": "P", "rangecode": DAY_RANGE}).status_code
        == 401
    )


GRAPHQL = """
query($plant: String!, $range: String!, $window: String!) {
  downtimeAnalysis(plantCode: $plant, rangeCode: $range, aggregateWindow: $window) {
    range { from to duration fromIso toIso durationFormatted }
    results {
      stationCode stationName stationGroupCode stationGroupName
      range { from to duration fromIso toIso durationFormatted }
      reliabilityData { runningsCount stopsCount totalRunningTime totalStoppedTime mtbf mttr }
      cycleTimeAnalysis { avg min max quantity default stations { stationCode stationName avg min max quantity } }
      oee {
        scheduleDuration scheduleLossDuration schedulePerc productionScheduleDuration
        productionScheduleLossDuration productionSchedulePerc availabilityDuration availabilityLossDuration
        availabilityPerc performanceTargetCount performanceTargetLossCount performanceTargetPerc
        goodQualityCount goodQualityLossCount goodQualityPerc
        scheduledNonProduction { code description duration cost percent }
        stops { code description duration cost percent }
        oee
      }
      downtimes { type stationCode reasonCode startTimestamp endTimestamp
        range { from to duration fromIso toIso durationFormatted } }
    }
  }
}
"""


def test_graphql_equals_rest(tenant: Tenant) -> None:
    worked_example(tenant)
    for window in ("none", "hour"):
        rest = analysis(tenant, rangecode=DAY_RANGE, aggregatewindow=window)
        variables = {"plant": "P", "range": DAY_RANGE, "window": window}
        graph = data_of(gql(tenant.client, GRAPHQL, variables, headers=tenant.headers()))["downtimeAnalysis"]
        assert graph == {"range": rest["range"], "results": rest["results"]}
    response = gql(
        tenant.client, GRAPHQL, {"plant": "P", "range": "nope", "window": "none"}, headers=tenant.headers()
    )
    assert "rangecode" in response.text and response.status_code == 200


def test_statement_count_does_not_grow_with_stations_or_windows(
    tenant: Tenant,
    statements: StatementCounter,
) -> None:
    layout(tenant, stations=("S1",), shifts=EARLY_SHIFT)
    issue(tenant, at(8), at(8, 10))
    insert_windows(tenant, "S1", at(6), [Minute(good=1, cycle_time=60.0)] * 30)
    params = f"/api/downtime?plantcode=P&rangecode={DAY_RANGE}"
    _, one = statements.get(tenant, params)
    _, one_daily = statements.get(tenant, params + "&aggregatewindow=hour")
    for code in ("S2", "S3", "S4", "S5"):
        tenant.ok(
            tenant.post("/api/station", {"code": code, "name": code, "plantCode": "P", "groupCode": "G"})
        )
        event(
            tenant, issue(tenant, at(9), at(9, 5), station=code), type="cause", causeCode="electrical.drive"
        )
        insert_windows(tenant, code, at(6), [Minute(good=2, cycle_time=30.0)] * 90)
    results, many = statements.get(tenant, params)
    _, many_daily = statements.get(tenant, params + "&aggregatewindow=hour")
    assert len(results) == 5
    assert len(many) == len(one), many
    assert len(many_daily) == len(one_daily), many_daily
