"""The fan-out benchmark's client: N graphql-transport-ws subscribers in one process.

Run by ``bench/fanout.py`` as its own process, so client and server never share
an event loop: ``python -m bench.fanout_client PLAN.json RESULT.json``.

The plan (JSON) names the websocket URL, the ``connection_init`` and
``subscribe`` messages, the number of subscribers, the server's process id and
the HTTP POSTs ("triggers") that make a change: one for a warm-up, one probe,
then the measured changes. The client

1. warms the server up: a few subscribers, one change, then they leave;
2. reads the server's VmRSS, opens N sockets (handshakes ``batch`` at a time:
   connect, ``connection_init``, wait for ``connection_ack``, ``subscribe``),
   waits ``settle_s`` and until the server's CPU is quiet, reads VmRSS again;
3. posts the probe change and waits until every subscriber has it (this is how
   it knows every subscription is live; the probe is not measured);
4. reads the server's CPU time, posts the measured changes one every
   ``interval_s`` (a POST is sent only after the previous one answered), waits
   until every subscriber has every change, reads the CPU time again;
5. checks that every subscriber received every change exactly once, in order,
   as the same bytes, and writes latencies and counters to RESULT.json.

Latency of a message = the client's clock when the subscriber's ``recv`` returned
minus the client's clock just before it sent the POST that made the change
(``time.perf_counter_ns``, one process, one clock). It includes the REST call,
the server's fan-out, the kernel's loopback and the client's own queueing.
Every wait is bounded; any failure is written to RESULT.json as ``error``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# A server is "quiet" when it used less than this share of one core over a sampling window.
QUIET_SHARE = 0.10
QUIET_WINDOW_S = 0.25


class ClientError(RuntimeError):
    """The run cannot produce trustworthy figures; the message says why."""


# --------------------------------------------------------------------------- the server's /proc


def server_cpu_s(pid: int) -> float:
    """utime + stime of the whole process (every thread), in seconds."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text.rsplit(")", 1)[1].split()
    # Fields 14 and 15 of proc(5); the split starts at field 3 (state).
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def server_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ClientError(f"no VmRSS in /proc/{pid}/status")


async def wait_quiet(pid: int, *, timeout_s: float) -> float:
    """Wait until the server has stopped working through a backlog; returns the seconds waited."""
    started = time.monotonic()
    before = server_cpu_s(pid)
    while time.monotonic() - started < timeout_s:
        await asyncio.sleep(QUIET_WINDOW_S)
        after = server_cpu_s(pid)
        if after - before < QUIET_SHARE * QUIET_WINDOW_S:
            return time.monotonic() - started
        before = after
    raise ClientError(f"server still busy {timeout_s:.0f}s after the last subscribe was sent")


# --------------------------------------------------------------------------- subscribers


@dataclass
class Tally:
    """Data messages received by every subscriber together, and a way to wait for a total."""

    total: int = 0
    target: int = 0
    reached: asyncio.Event = field(default_factory=asyncio.Event)
    failed: asyncio.Event = field(default_factory=asyncio.Event)
    failures: list[str] = field(default_factory=list)

    def add(self) -> None:
        self.total += 1
        if self.total >= self.target:
            self.reached.set()

    def fail(self, why: str) -> None:
        self.failures.append(why)
        self.failed.set()

    async def wait_for(self, target: int, *, timeout_s: float, what: str) -> None:
        self.target = target
        self.reached.clear()
        if self.total >= target:
            return
        waiters = [asyncio.ensure_future(self.reached.wait()), asyncio.ensure_future(self.failed.wait())]
        try:
            await asyncio.wait(waiters, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        if self.failures:
            shown = "; ".join(self.failures[:5])
            raise ClientError(f"{what}: {len(self.failures)} subscriber(s) failed: {shown}")
        if self.total < target:
            raise ClientError(f"{what}: {self.total:,} of {target:,} messages after {timeout_s:.0f}s")


class Subscriber:
    def __init__(self, index: int, tally: Tally) -> None:
        self.index = index
        self.tally = tally
        self.ws: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None
        # (receipt clock in ns, frame text) of every `next` message, in order.
        self.received: list[tuple[int, str]] = []
        self.other: list[str] = []
        self.closing = False

    async def open(self, plan: dict[str, Any]) -> None:
        self.ws = await connect(
            plan["ws_url"],
            subprotocols=[Subprotocol(plan["subprotocol"])],
            compression=None,  # permessage-deflate off, in the gateway and the baseline runs alike
            ping_interval=None,  # the servers ping; the client only answers
            open_timeout=plan["handshake_timeout_s"],
            close_timeout=2,
            max_size=2**20,
            proxy=None,
        )
        await self.ws.send(plan["connection_init"])
        ack = await asyncio.wait_for(self.ws.recv(), plan["handshake_timeout_s"])
        if not isinstance(ack, str) or '"connection_ack"' not in ack:
            raise ClientError(f"subscriber {self.index}: expected connection_ack, got {ack!r}")
        await self.ws.send(plan["subscribe"])
        self.reader = asyncio.create_task(self.read())

    async def read(self) -> None:
        ws = self.ws
        assert ws is not None
        received, tally = self.received, self.tally
        try:
            async for message in ws:
                now = time.perf_counter_ns()
                text = message if isinstance(message, str) else message.decode()
                if '"next"' in text:
                    received.append((now, text))
                    tally.add()
                elif '"ping"' in text:
                    await ws.send('{"type":"pong"}')
                elif '"pong"' not in text:
                    self.other.append(text)
                    tally.fail(f"subscriber {self.index} got {text[:300]}")
        except Exception as exc:  # a dropped socket is a failure of the run, reported with its cause
            if not self.closing:
                tally.fail(f"subscriber {self.index}: {type(exc).__name__}: {exc}")
            return
        if not self.closing:
            code = ws.close_code
            tally.fail(f"subscriber {self.index}: socket closed by the server (code {code})")

    async def close(self) -> None:
        self.closing = True
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()


async def open_all(subscribers: list[Subscriber], plan: dict[str, Any]) -> None:
    batch = int(plan["batch"])
    for start in range(0, len(subscribers), batch):
        group = subscribers[start : start + batch]
        results = await asyncio.gather(*(s.open(plan) for s in group), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise ClientError(
                f"{len(errors)} of {len(group)} handshakes failed in the batch from {start}: "
                f"{type(errors[0]).__name__}: {errors[0]}"
            )


async def close_all(subscribers: list[Subscriber], *, timeout_s: float) -> None:
    closing = asyncio.gather(*(s.close() for s in subscribers), return_exceptions=True)
    # The process exits next; the kernel closes whatever is left after the bound.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(closing, timeout_s)


# --------------------------------------------------------------------------- triggers


async def post(http: httpx.AsyncClient, trigger: dict[str, Any], what: str) -> tuple[int, int]:
    """Send one change; return the clock just before sending and when the answer came.

    Any non-2xx answer fails the run.
    """
    sent = time.perf_counter_ns()
    response = await http.post(trigger["url"], headers=trigger["headers"], content=trigger["body"].encode())
    if not 200 <= response.status_code < 300:
        raise ClientError(f"{what}: HTTP {response.status_code} {response.text[:500]}")
    return sent, time.perf_counter_ns()


# --------------------------------------------------------------------------- checking and reducing


def revision_of(text: str, where: str) -> int:
    message = json.loads(text)
    try:
        assert message["type"] == "next"
        return int(message["payload"]["data"]["issueChanged"]["revision"])
    except (AssertionError, KeyError, TypeError, ValueError) as exc:
        raise ClientError(f"{where}: not an issueChanged `next` frame: {text[:300]}") from exc


def reduce(subscribers: list[Subscriber], sent_ns: list[int], changes: int) -> dict[str, Any]:
    """Check every subscriber got the probe and every change once, in order, as the same bytes."""
    first = subscribers[0]
    expected = 1 + changes
    if len(first.received) != expected:
        raise ClientError(f"subscriber 0 received {len(first.received)} messages, expected {expected}")
    frames = [text for _, text in first.received]
    revisions = [revision_of(text, "subscriber 0") for text in frames]
    if revisions != sorted(set(revisions)):
        raise ClientError(f"subscriber 0 received revisions out of order or twice: {revisions}")
    problems: list[str] = []
    for sub in subscribers[1:]:
        texts = [text for _, text in sub.received]
        if texts != frames:
            got = [revision_of(t, f"subscriber {sub.index}") for t in texts]
            problems.append(f"subscriber {sub.index}: revisions {got}, expected {revisions}")
    if problems:
        raise ClientError(f"{len(problems)} subscriber(s) did not receive every change once: {problems[0]}")
    latencies_ms: list[float] = []
    first_ms: list[float] = []
    spread_ms: list[float] = []
    for k, sent in enumerate(sent_ns, start=1):
        per_change = [(sub.received[k][0] - sent) / 1e6 for sub in subscribers]
        if min(per_change) <= 0:
            raise ClientError(f"change {k} arrived before its POST was sent: another change interfered")
        latencies_ms.extend(per_change)
        first_ms.append(min(per_change))
        spread_ms.append(max(per_change) - min(per_change))
    return {
        "frames": frames,
        "revisions": revisions,
        "latencies_ms": [round(v, 3) for v in latencies_ms],
        "first_ms": [round(v, 3) for v in first_ms],
        "spread_ms": [round(v, 3) for v in spread_ms],
    }


# --------------------------------------------------------------------------- the run


def raise_open_files(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise ClientError(f"{needed} open files needed, the hard limit is {hard}")
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed if hard == resource.RLIM_INFINITY else hard, hard))


async def run(plan: dict[str, Any]) -> dict[str, Any]:
    n, pid = int(plan["subscribers"]), int(plan["server_pid"])
    changes: list[dict[str, Any]] = plan["changes"]
    raise_open_files(n + plan["warmup_subscribers"] + 64)
    result: dict[str, Any] = {"subscribers": n, "changes": len(changes)}
    async with httpx.AsyncClient(timeout=plan["post_timeout_s"], trust_env=False) as http:
        # 1. Warm-up: the first subscriptions and the first change pay for imports and caches.
        tally = Tally()
        warm = [Subscriber(i, tally) for i in range(plan["warmup_subscribers"])]
        try:
            await open_all(warm, plan)
            await asyncio.sleep(plan["settle_s"])
            await wait_quiet(pid, timeout_s=plan["quiet_timeout_s"])
            await post(http, plan["warmup"], "warm-up change")
            await tally.wait_for(len(warm), timeout_s=plan["probe_timeout_s"], what="warm-up change")
        finally:
            await close_all(warm, timeout_s=10)
        await asyncio.sleep(1.0)
        await wait_quiet(pid, timeout_s=plan["quiet_timeout_s"])

        # 2. N idle subscribers.
        tally = Tally()
        subscribers = [Subscriber(i, tally) for i in range(n)]
        try:
            result["rss_before_kb"] = server_rss_kb(pid)
            started = time.monotonic()
            await open_all(subscribers, plan)
            result["connect_s"] = round(time.monotonic() - started, 3)
            await asyncio.sleep(plan["settle_s"])
            result["settle_s"] = round(
                plan["settle_s"] + await wait_quiet(pid, timeout_s=plan["quiet_timeout_s"]), 3
            )
            result["rss_idle_kb"] = server_rss_kb(pid)

            # 3. The probe: proof that every subscription is live.
            await post(http, plan["probe"], "probe change")
            await tally.wait_for(n, timeout_s=plan["probe_timeout_s"], what="probe change")
            missing = [s.index for s in subscribers if len(s.received) != 1]
            if missing:
                raise ClientError(f"{len(missing)} subscriber(s) did not get exactly one probe message")
            await wait_quiet(pid, timeout_s=plan["quiet_timeout_s"])

            # 4. The measured changes.
            cpu_before = server_cpu_s(pid)
            client_before = time.process_time()
            phase_started = time.monotonic()
            sent_ns: list[int] = []
            post_ms: list[float] = []
            for k, trigger in enumerate(changes):
                delay = phase_started + k * plan["interval_s"] - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                if tally.failures:
                    break
                sent, answered = await post(http, trigger, f"change {k + 1}")
                sent_ns.append(sent)
                post_ms.append(round((answered - sent) / 1e6, 3))
            posted_s = time.monotonic() - phase_started
            await tally.wait_for(
                n * (1 + len(changes)), timeout_s=plan["drain_timeout_s"], what="measured changes"
            )
            result["phase_s"] = round(time.monotonic() - phase_started, 3)
            result["posting_s"] = round(posted_s, 3)
            result["post_ms"] = post_ms
            result["server_cpu_s"] = round(server_cpu_s(pid) - cpu_before, 3)
            result["client_cpu_s"] = round(time.process_time() - client_before, 3)
            result["rss_after_kb"] = server_rss_kb(pid)
            await asyncio.sleep(0.5)  # anything sent twice would arrive now
            result["delivered"] = sum(len(s.received) - 1 for s in subscribers)
            result.update(reduce(subscribers, sent_ns, len(changes)))
        finally:
            await close_all(subscribers, timeout_s=30)
    return result


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m bench.fanout_client PLAN.json RESULT.json", file=sys.stderr)
        return 2
    plan = json.loads(Path(argv[0]).read_text())
    try:
        import uvloop
    except ImportError:
        runner = asyncio.run
    else:
        runner = uvloop.run
    try:
        result = runner(asyncio.wait_for(run(plan), plan["overall_timeout_s"]))
    except Exception as exc:  # any failure becomes the run's error, read by bench/fanout.py
        result = {"error": f"{type(exc).__name__}: {exc}"}
    Path(argv[1]).write_text(json.dumps(result))
    return 0 if "error" not in result else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
