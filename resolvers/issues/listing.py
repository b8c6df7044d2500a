"""Reading issues: the listing (REST filters) and its CSV rows, the ongoing board, unreported downtime."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tortoise.expressions import Q, Subquery
from tortoise.functions import Count
from tortoise.queryset import QuerySet

from models.issues import Issue, IssueEvent
from models.ranges import TimeRange
from models.roles import Role
from models.tenancy import Plant
from models.timefmt import utc_now
from resolvers.common.actor import Actor
from resolvers.common.errors import invalid, not_found
from resolvers.common.read_cache import cached
from resolvers.common.scope import plant_for, stations_by_codes, time_range
from resolvers.issues.views import (
    IssueSnapshot,
    LiveIssues,
    View,
    issue_views,
    issues_query_relations,
    snapshots,
    zone,
)

MAX_LIMIT = 1000
DEFAULT_SPAN = timedelta(hours=24)
# What an issue view shows besides the issue and its events.
ISSUE_DEPENDS = frozenset({"issue", "cause", "station", "sku", "plant"})


def overlapping(query: QuerySet[Issue], span: TimeRange) -> QuerySet[Issue]:
    """Issues that were open at any moment of the range."""
    return query.filter(Q(start_at__lt=span.end) & (Q(end_at__isnull=True) | Q(end_at__gt=span.start)))


async def _issue_query(
    actor: Actor,
    *,
    station_codes: Sequence[str],
    range_code: str | None,
    plant_code: str | None,
    issue_id: int | None,
    now: datetime,
) -> tuple[QuerySet[Issue], Plant]:
    """The filtered query of GET /api/issue and its CSV, with the plant whose clock the range uses."""
    query = Issue.filter(account_id=actor.account_id)
    stations = await stations_by_codes(actor.account_id, station_codes) if station_codes else []
    plant = await plant_for(actor.account_id, plant_code, stations)
    if stations:
        query = query.filter(station_id__in=[s.id for s in stations])
    elif plant_code is not None:
        query = query.filter(station__plant_id=plant.id)
    if issue_id is not None:
        query = query.filter(id=issue_id)
    if issue_id is None or range_code is not None:
        span = await time_range(
            range_code=range_code, plant=plant, stations=stations, now=now, default=DEFAULT_SPAN
        )
        query = overlapping(query, span)
    return query.order_by("-start_at", "-id"), plant


async def list_issues(
    *,
    actor: Actor,
    station_codes: Sequence[str] = (),
    range_code: str | None = None,
    plant_code: str | None = None,
    issue_id: int | None = None,
    limit: int = 100,
    before: tuple[datetime, int] | None = None,
    now: datetime | None = None,
) -> list[View]:
    """Newest first; without `rangecode` the last 24 hours (or all time when asking for one `id`).

    `before` (startAt, id) continues a listing after its last issue (keyset pagination)."""
    actor.require(Role.READ_ONLY)
    now = now or utc_now()
    # One more than a full page is allowed: a paging client asks for it to learn whether more follow.
    if not 1 <= limit <= MAX_LIMIT + 1:
        raise invalid("limit", f"must be between 1 and {MAX_LIMIT}")
    query, _ = await _issue_query(
        actor,
        station_codes=station_codes,
        range_code=range_code,
        plant_code=plant_code,
        issue_id=issue_id,
        now=now,
    )
    if before is not None:
        query = query.filter(Q(start_at__lt=before[0]) | (Q(start_at=before[0]) & Q(id__lt=before[1])))
    rows = await query.limit(limit).select_related(*issues_query_relations())
    if issue_id is not None and not rows:
        raise not_found("issue", issue_id)
    return issue_views(await snapshots(actor.account_id, rows), now)


CSV_COLUMNS = (
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
)
CSV_MAX_ROWS = 100_000


async def issue_csv_rows(
    *,
    actor: Actor,
    plant_code: str,
    range_code: str,
    station_codes: Sequence[str] = (),
    now: datetime | None = None,
) -> list[list[object]]:
    """The issues of a plant over a range as CSV rows (times in the plant's local time with offset)."""
    actor.require(Role.READ_ONLY)
    now = now or utc_now()
    query, plant = await _issue_query(
        actor,
        station_codes=station_codes,
        range_code=range_code,
        plant_code=plant_code,
        issue_id=None,
        now=now,
    )
    if not station_codes:
        query = query.filter(station__plant_id=plant.id)
    rows = await query.limit(CSV_MAX_ROWS).select_related(*issues_query_relations())
    tz = zone(plant.timezone)
    return [_csv_row(v, tz) for v in issue_views(await snapshots(actor.account_id, rows), now)]


def _csv_row(view: View, tz: ZoneInfo) -> list[object]:
    def local(iso: str | None) -> str | None:
        if iso is None:
            return None
        return datetime.fromisoformat(iso).astimezone(tz).isoformat(timespec="milliseconds")

    crumb = view["causeBreadcrumb"]
    row = {
        **view,
        "startAt": local(view["startAt"]),
        "endAt": local(view["endAt"]),
        "excludedAt": local(view["excludedAt"]),
        "causeDescription": crumb[-1]["description"] if crumb else None,
    }
    return [row[c] for c in CSV_COLUMNS]


async def list_ongoing_issues(
    *, actor: Actor, station_codes: Sequence[str], now: datetime | None = None
) -> LiveIssues:
    """Open issues of the stations, newest first. Snapshots are cached per account until an issue changes;
    the clock-dependent fields (duration, RAG status) are computed on every call."""
    actor.require(Role.READ_ONLY)
    if not station_codes:
        raise invalid("stationcodes", "at least one station code is required")
    now = now or utc_now()
    account = actor.account_id

    async def load() -> list[IssueSnapshot]:
        # Station look-up inside the load: a warm board costs no query at all. An unknown code raises
        # 404 here, and a failed load is not cached.
        stations = await stations_by_codes(account, station_codes)
        rows = await (
            Issue.filter(account_id=account, station_id__in=[s.id for s in stations], end_at__isnull=True)
            .order_by("-start_at", "-id")
            .select_related(*issues_query_relations())
        )
        return await snapshots(account, rows)

    snaps = await cached(account, ("ongoing", tuple(sorted(station_codes))), ISSUE_DEPENDS, load)
    return LiveIssues(snaps, now)


async def count_unreported_downtime(
    *, actor: Actor, station_codes: Sequence[str], range_code: str | None, now: datetime | None = None
) -> list[dict[str, object]]:
    """Per requested station: issues in the range that are not excluded and have no cause (zeros included)."""
    actor.require(Role.READ_ONLY)
    if not station_codes:
        raise invalid("stationcodes", "at least one station code is required")
    if not range_code:
        raise invalid("rangecode", "is required")
    now = now or utc_now()
    stations = await stations_by_codes(actor.account_id, station_codes)
    plant = await plant_for(actor.account_id, None, stations)
    span = await time_range(
        range_code=range_code, plant=plant, stations=stations, now=now, default=DEFAULT_SPAN
    )
    with_cause = Subquery(IssueEvent.filter(account_id=actor.account_id, type="cause").values("issue_id"))
    query = overlapping(
        Issue.filter(
            account_id=actor.account_id, station_id__in=[s.id for s in stations], excluded_at__isnull=True
        ),
        span,
    ).exclude(id__in=with_cause)
    grouped = await query.annotate(n=Count("id")).group_by("station_id").values("station_id", "n")
    counts = {row["station_id"]: row["n"] for row in grouped}
    return [{"stationCode": s.code, "count": counts.get(s.id, 0)} for s in stations]
