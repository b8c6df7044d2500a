"""Daily summaries (SPEC section 9): who gets one for a plant day, and the issue rows it is made of."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from tortoise.transactions import in_transaction

from models.notifications import NotificationPreference
from models.ranges import RangeError, TimeRange, plant_day, summary_day
from models.roles import Role
from models.tenancy import Plant, Station, StationGroup
from models.timefmt import utc_now
from resolvers.analysis.downtime import downtime_analysis
from resolvers.common.actor import Actor
from resolvers.identity.account_config import config_values_for
from resolvers.issues.listing import issue_csv_rows
from resolvers.mail.outbox import enqueue_daily_summary
from resolvers.mail.recipients import summary_recipients


async def enqueue_plant_summary(
    *, account_id: str, plant_id: int, day: date, now: datetime | None = None, suffix: str = ""
) -> int:
    """Write one summary email per daily-summary subscriber of the plant's groups; returns how many were
    new. Idempotent: the outbox's unique key keeps one per (plant, day, recipient)."""
    group_ids = list(
        await StationGroup.filter(account_id=account_id, plant_id=plant_id).values_list("id", flat=True)
    )
    recipients = await summary_recipients(account_id=account_id, group_ids=group_ids)  # type: ignore[arg-type]
    async with in_transaction():
        return await enqueue_daily_summary(
            account_id=account_id, plant_id=plant_id, day=day, recipients=recipients, now=now, suffix=suffix
        )


@dataclass(frozen=True, slots=True)
class PlantDay:
    """What every summary of one plant day is cut from: the day, the stations by group, the issue rows."""

    plant: Plant
    day: date
    span: TimeRange
    stations_by_group: dict[int, list[Station]]
    # issue_csv_rows of the plant over the day, overlapping it (CSV_COLUMNS order).
    rows: list[list[object]]
    # station code → (availability %, OEE %) over the day from the downtime analysis; None where its base
    # is zero (no planned production that day).
    oee: dict[str, tuple[float | None, float | None]]


async def load_plant_day(
    *, account_id: str, plant_id: int, day: date, now: datetime | None = None
) -> PlantDay:
    plant = await Plant.get(account_id=account_id, id=plant_id)
    span = plant_day(day, timezone=plant.timezone, day_start_hour=plant.day_start_hour)
    # The summary is written by the system, not by a caller: it reads as the account.
    reader = Actor(account_id=account_id, role=Role.READ_ONLY, via="system")
    rows = await issue_csv_rows(
        actor=reader,
        plant_code=plant.code,
        range_code=f"{span.start.isoformat()}/{span.end.isoformat()}",
        now=now or utc_now(),
    )
    analysis = await downtime_analysis(
        actor=reader,
        plant_code=plant.code,
        range_code=f"{span.start.isoformat()}/{span.end.isoformat()}",
        now=now or utc_now(),
    )
    oee = {r["stationCode"]: (r["oee"]["availabilityPerc"], r["oee"]["oee"]) for r in analysis["results"]}
    stations: dict[int, list[Station]] = {}
    for station in await Station.filter(
        account_id=account_id, plant_id=plant_id, group_id__isnull=False
    ).order_by("code"):
        stations.setdefault(station.group_id, []).append(station)  # type: ignore[arg-type]  # filtered non-null
    return PlantDay(plant, day, span, stations, rows, oee)


async def due_summaries(*, now: datetime) -> list[tuple[str, int, date]]:
    """(account id, plant id, plant day) of every plant's due daily summary (see models.ranges.summary_day)."""
    # Only plants someone subscribed to: the check runs often, most plants have no summary reader.
    preferences = await NotificationPreference.all().values_list("group__plant_id", "kinds")
    subscribed = {plant for plant, kinds in preferences if "daily-summary" in (kinds or [])}  # type: ignore[operator]
    if not subscribed:
        return []
    plants = await Plant.filter(id__in=subscribed).values("id", "account_id", "timezone", "day_start_hour")
    if not plants:
        return []
    configs = await config_values_for({p["account_id"] for p in plants})
    due = []
    for p in plants:
        try:
            day = summary_day(
                now=now,
                timezone=p["timezone"],
                day_start_hour=p["day_start_hour"],
                summary_hour=int(configs[p["account_id"]]["DAILY_SUMMARY_HOUR"]),
            )
        except RangeError:
            continue  # a plant whose clock cannot be read has no plant day (its timezone is validated on input)
        due.append((p["account_id"], p["id"], day))
    return due
