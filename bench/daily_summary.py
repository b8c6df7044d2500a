"""daily_summary: one plant day's summary to 1,000 recipients over 50 stations, end to end into aiosmtpd.

End to end means what the gateway does when the summary hour comes: find each recipient's groups and
write the 1,000 outbox rows in one transaction, then the sender claims them in batches, reads the plant
day's issues once per batch, renders each recipient's HTML, text and CSV from the templates, hands each
email to a local aiosmtpd server over one SMTP connection per batch, and records each as sent. The
clock stops when the server has accepted all 1,000. Database: SQLite (the embedded default).

The baseline, measured in the same run and alternating with it: aiosmtplib sending 1,000 prebuilt
messages (the bytes of one real summary) over one connection to the same server, i.e. the cost of SMTP
alone. The server runs in a thread of the same process, so its own parsing shares the interpreter with
both sides and is in both figures. The goal is absolute (≤ 60 s); the runner's ratio is baseline / gateway seconds, and the
goal is stated as the ratio that 60 s would give.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosmtplib
from aiosmtpd.controller import Controller
from tortoise import Tortoise

from bench.harness import (
    LOOPBACK,
    BenchmarkError,
    LoadSettings,
    Outcome,
    command_line,
    facts_lines,
    free_port,
    machine_facts,
    markdown_table,
    median,
    rewrite_section,
    utc_now,
)

NAME = "daily_summary"
GOAL_SECONDS = 60.0
RECIPIENTS = 1000
GROUPS = 10
STATIONS_PER_GROUP = 5
ISSUES_PER_STATION = 6
ROUNDS = 3
TIMEZONE = "Europe/Berlin"


class _Counter:
    def __init__(self) -> None:
        self.count = 0
        self.last: bytes = b""
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.count += len(envelope.rcpt_tos)
            self.last = envelope.content
        return "250 OK"


async def _seed(day: date) -> tuple[str, int]:
    """An account, a Berlin plant, 10 groups x 5 stations, 300 issues over `day`, 1,000 subscribers."""
    from models.identity import User
    from models.issues import Cause, Issue, IssueEvent
    from models.notifications import NotificationPreference
    from models.ranges import plant_day
    from models.tenancy import Account, Plant, Station, StationGroup

    account = await Account.create(id="bench", domain="bench.example.com", name="Bench")
    plant = await Plant.create(
        account=account, code="ber", name="Berlin", timezone=TIMEZONE, day_start_hour=6
    )
    span = plant_day(day, timezone=TIMEZONE, day_start_hour=6)
    causes = [await Cause.create(account=account, code=f"c{n}", description=f"Cause {n}") for n in range(8)]
    groups = []
    for g in range(GROUPS):
        group = await StationGroup.create(account=account, plant=plant, code=f"g{g}", name=f"Line {g}")
        groups.append(group)
        for s in range(STATIONS_PER_GROUP):
            station = await Station.create(
                account=account, plant=plant, group=group, code=f"g{g}s{s}", name=f"Station {g}.{s}"
            )
            for n in range(ISSUES_PER_STATION):
                start = span.start + timedelta(hours=3 * n + s / 10)
                issue = await Issue.create(
                    account=account,
                    station=station,
                    type="stop",
                    start_at=start,
                    end_at=start + timedelta(minutes=17),
                )
                if n % 2 == 0:
                    await IssueEvent.create(
                        account=account, issue=issue, type="cause", cause=causes[(g + n) % 8]
                    )
    users = [
        User(account=account, email=f"user{n}@bench.example.com", role="member") for n in range(RECIPIENTS)
    ]
    await User.bulk_create(users)
    created = await User.filter(account=account).order_by("id")
    preferences = [
        NotificationPreference(
            account=account, user=u, group=groups[(i + k) % GROUPS], kinds=["daily-summary"]
        )
        for i, u in enumerate(created)
        for k in (0, 3)  # each recipient follows two of the ten lines
    ]
    await NotificationPreference.bulk_create(preferences)
    return account.id, plant.id


async def _gateway_round(
    account_id: str, plant_id: int, day: date, suffix: str, sink: _Counter, port: int
) -> float:
    from notifications.mailer import SmtpMailer
    from notifications.sender import OutboxSender
    from resolvers.analysis.daily_summary import enqueue_plant_summary

    url = f"smtp://{LOOPBACK}:{port}"
    before = sink.count
    sender = OutboxSender(lambda: SmtpMailer(url))
    started = time.perf_counter()
    written = await enqueue_plant_summary(account_id=account_id, plant_id=plant_id, day=day, suffix=suffix)
    while await sender.deliver_due():
        pass
    elapsed = time.perf_counter() - started
    if written != RECIPIENTS or sink.count - before != RECIPIENTS:
        raise BenchmarkError(f"wrote {written} rows, server got {sink.count - before}; expected {RECIPIENTS}")
    return elapsed


async def _baseline_round(message: bytes, sink: _Counter, port: int) -> float:
    before = sink.count
    started = time.perf_counter()
    client = aiosmtplib.SMTP(hostname=LOOPBACK, port=port)
    await client.connect()
    for n in range(RECIPIENTS):
        await client.sendmail("andon@bench.example.com", [f"user{n}@bench.example.com"], message)
    await client.quit()
    elapsed = time.perf_counter() - started
    if sink.count - before != RECIPIENTS:
        raise BenchmarkError(f"baseline: server got {sink.count - before} of {RECIPIENTS}")
    return elapsed


async def _measure(folder: Path, port: int) -> tuple[list[float], list[float], int]:
    from gateway.database import migrate, tortoise_config

    url = f"sqlite://{folder / 'bench.db'}"
    await migrate(url)
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
    try:
        day = (datetime.now(UTC) - timedelta(days=2)).date()
        account_id, plant_id = await _seed(day)
        sink = _Counter()
        controller = Controller(sink, hostname=LOOPBACK, port=port)
        controller.start()
        try:
            gateway: list[float] = []
            baseline: list[float] = []
            # A warm-up round of each (imports, template compilation, SQLite page cache), not counted.
            await _gateway_round(account_id, plant_id, day, ":warm-up", sink, port)
            prebuilt = sink.last  # the bytes of one real summary, sent as they are
            await _baseline_round(prebuilt, sink, port)
            for n in range(ROUNDS):
                gateway.append(await _gateway_round(account_id, plant_id, day, f":round-{n}", sink, port))
                baseline.append(await _baseline_round(prebuilt, sink, port))
            return gateway, baseline, len(sink.last)
        finally:
            controller.stop()
    finally:
        await Tortoise.close_connections()


def run(load: LoadSettings, docs: Path | None) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="andon-bench-summary-") as folder:
        gateway, baseline, size = asyncio.run(_measure(Path(folder), free_port()))
    gateway_s, baseline_s = median(gateway), median(baseline)
    outcome = Outcome(NAME, ratio=baseline_s / gateway_s, goal=baseline_s / GOAL_SECONDS)
    print(
        f"{NAME}: gateway {gateway_s:.2f} s, baseline {baseline_s:.2f} s for {RECIPIENTS} emails", flush=True
    )
    if docs is not None:
        rewrite_section(NAME, _section(gateway, baseline, size, outcome), docs)
    return outcome


def _section(gateway: list[float], baseline: list[float], size: int, outcome: Outcome) -> str:
    gateway_s, baseline_s = median(gateway), median(baseline)
    rounds = [
        [str(n + 1), f"{g:.2f}", f"{RECIPIENTS / g:,.0f}", f"{b:.2f}", f"{RECIPIENTS / b:,.0f}"]
        for n, (g, b) in enumerate(zip(gateway, baseline, strict=True))
    ]
    verdict = "met" if gateway_s <= GOAL_SECONDS else "MISSED"
    return f"""
## daily_summary: one plant day's summary to {RECIPIENTS:,} recipients over {GROUPS * STATIONS_PER_GROUP} stations, end to end into aiosmtpd

Run {utc_now()} with `{command_line()}`. Each recipient follows 2 of {GROUPS} lines
({STATIONS_PER_GROUP} stations each, {ISSUES_PER_STATION} issues per station over the plant day); a summary is
{size:,} bytes (multipart HTML + text + CSV). Gateway: outbox rows written, claimed, rendered, sent over
SMTP and recorded as sent (SQLite). Baseline: aiosmtplib sending the bytes of one real summary as many
times over one connection to the same server (SMTP alone). aiosmtpd runs in a thread of the benchmark
process, so its parsing is in both figures. {ROUNDS} alternating rounds after one warm-up each.

**Median: {gateway_s:.2f} s end to end ({RECIPIENTS / gateway_s:,.0f} emails/s), baseline {baseline_s:.2f} s;
goal ≤ {GOAL_SECONDS:.0f} s: {verdict}.** Ratio baseline/gateway {outcome.ratio:.3f} (the goal as a ratio:
≥ {outcome.goal:.3f}).

{markdown_table(["round", "gateway s", "emails/s", "baseline s", "emails/s"], rounds, ["r", "r", "r", "r", "r"])}

{facts_lines(machine_facts(("aiosmtplib", "aiosmtpd", "tortoise-orm", "jinja2")))}
"""
