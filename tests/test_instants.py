"""One rule for every instant a client gives (models.timefmt.bounded_instant): between 2000 and 2199 UTC,
else a 400 naming the field over REST and a validation error over GraphQL, never a 500. At the ends of
datetime's range (year 1 at +14:00, year 9999 at -14:00) the conversion to UTC itself overflowed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from models.timefmt import EARLIEST, LATEST, bounded_instant
from tests.conftest import Tenant
from tests.helpers.graphql import gql
from tests.helpers.issues import NO_AUTO_ESCALATION

OUT_OF_RANGE = [
    "9999-12-31T23:59:59-14:00",  # year 10000 in UTC: beyond datetime
    "0001-01-01T00:00:00+14:00",  # year 0 in UTC: before datetime
    "9999-12-31T23:59:59.999Z",
    "1999-12-31T23:59:59.999Z",
    "2200-01-01T00:00:00.000Z",
]
CREATE_ISSUE = """
mutation Create($startAt: String!) {
  createIssue(type: "stop", stationCode: "S1", startAt: $startAt) { id }
}
"""


@pytest.fixture
def station(tenant: Tenant) -> Tenant:
    tenant.ok(tenant.post("/api/admin/config", {"config": NO_AUTO_ESCALATION}))
    tenant.ok(tenant.post("/api/station", {"code": "S1", "name": "S1", "plantCode": tenant.plant_code}))
    return tenant


def _refused(response: Any, field: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["field"] == field, error
    assert "between 2000 and 2199" in error["message"], error


@pytest.mark.parametrize("instant", OUT_OF_RANGE)
def test_every_rest_instant_out_of_range_is_a_400_naming_its_field(station: Tenant, instant: str) -> None:
    signal = {"stationCode": "S1", "production_complete_good": 1, "timestamp": instant}
    _refused(station.post("/api/signal", signal), "timestamp")
    _refused(station.post("/api/issue", {"type": "stop", "stationCode": "S1", "startAt": instant}), "startAt")
    ended = {"type": "stop", "stationCode": "S1", "startAt": "2025-05-01T00:00:00Z", "endAt": instant}
    _refused(station.post("/api/issue", ended), "endAt")
    archived = {"code": "S1", "name": "S1", "plantCode": station.plant_code, "archivedAt": instant}
    _refused(station.post("/api/station", archived), "archivedAt")
    station.ok(station.post("/api/sku", {"code": "K", "name": "K"}))
    schedule = {"stationCode": "S1", "skuCode": "K", "plannedStartAt": instant, "plannedEndAt": instant}
    _refused(station.post("/api/schedule", schedule), "plannedStartAt")
    # Nothing was written by any of them.
    assert station.ok(station.get("/api/issue", params={"rangecode": "last-7-days"})) == []
    [s1] = station.ok(station.get("/api/station"))
    assert s1["archivedAt"] is None


@pytest.mark.parametrize("instant", OUT_OF_RANGE[:2])
def test_graphql_create_issue_out_of_range_is_a_validation_error(station: Tenant, instant: str) -> None:
    response = gql(station.client, CREATE_ISSUE, {"startAt": instant}, station.headers())
    assert response.status_code == 200, response.text
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "validation_error", "field": "startAt"}, error


@pytest.mark.backend_independent
def test_the_bounds_themselves_are_inside() -> None:
    assert bounded_instant(EARLIEST) == EARLIEST
    last = LATEST - timedelta(microseconds=1)
    assert bounded_instant(last) == last
    for outside in (EARLIEST - timedelta(microseconds=1), LATEST, datetime.min, datetime.max):
        with pytest.raises(ValueError, match="between 2000 and 2199"):
            bounded_instant(outside)
