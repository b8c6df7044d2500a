"""`andon simulate`: a plant's stations producing, with jitter, micro-stops, long stops with error codes
and SKU changeovers, sent as signals over HTTP (POST /api/signal) or MQTT."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomqtt
import httpx

log = logging.getLogger(__name__)

ERROR_CODES = (
    "mechanical.conveyor.belt-jam",
    "mechanical.tooling.wear",
    "electrical.sensor",
    "material.shortage",
    "operator.absent",
)
Send = Callable[[list[dict[str, Any]]], Awaitable[None]]


@dataclass
class Behaviour:
    """Probabilities per cycle and durations, in seconds (scaled by the station's cycle time)."""

    jitter: float = 0.1  # ± share of the cycle time
    bad_share: float = 0.03
    micro_stop: float = 0.05  # a pause of 1.1 to 1.4 cycles: below the stop threshold
    long_stop: float = 0.01
    long_stop_seconds: tuple[float, float] = (60.0, 240.0)
    changeover_every: tuple[int, int] = (80, 200)  # cycles between SKU changeovers


@dataclass
class StationSim:
    code: str
    cycle_time: float
    skus: list[str]
    rng: random.Random
    behaviour: Behaviour
    next_at: float = 0.0
    total_good: int = 0
    total_bad: int = 0
    kwh: float = 0.0
    sku_index: int = 0
    cycles_to_changeover: int = 0
    stopped_until: float = 0.0
    pending: list[dict[str, Any]] = field(default_factory=list)

    def start(self, now: float, stopped_for: float = 0.0) -> None:
        self.cycles_to_changeover = self.rng.randint(*self.behaviour.changeover_every)
        if stopped_for:
            self._stop(now, stopped_for)
        else:
            self.next_at = now + self.rng.uniform(0, self.cycle_time)
        if self.skus:
            self.pending.append({"sku": self.skus[0]})

    def _stop(self, now: float, seconds: float) -> None:
        self.stopped_until = now + seconds
        self.next_at = self.stopped_until
        self.pending.append({"productive": 0, "error_code": self.rng.choice(ERROR_CODES)})

    def step(self, now: float) -> list[dict[str, Any]]:
        """The signals due by `now`."""
        out, self.pending = self.pending, []
        while self.next_at <= now:
            out.append(self._cycle())
            self._plan_next(self.next_at)
        return out

    def _cycle(self) -> dict[str, Any]:
        bad = self.rng.random() < self.behaviour.bad_share
        if bad:
            self.total_bad += 1
        else:
            self.total_good += 1
        self.kwh += self.cycle_time * self.rng.uniform(0.002, 0.003)
        signal: dict[str, Any] = {
            "production_count_good": self.total_good,
            "production_count_bad": self.total_bad,
            "productive": 1,
            "line_speed": round(3600 / self.cycle_time * self.rng.uniform(0.9, 1.1), 1),
            "electrical_kwh": round(self.kwh, 4),
            "rssi": self.rng.randint(-75, -45),
        }
        self.cycles_to_changeover -= 1
        if self.cycles_to_changeover <= 0 and len(self.skus) > 1:
            self.sku_index = (self.sku_index + 1) % len(self.skus)
            signal["sku"] = self.skus[self.sku_index]
            self.cycles_to_changeover = self.rng.randint(*self.behaviour.changeover_every)
        return signal

    def _plan_next(self, last: float) -> None:
        b = self.behaviour
        roll = self.rng.random()
        if roll < b.long_stop:
            self._stop(last, self.rng.uniform(*b.long_stop_seconds))
            return
        factor = self.rng.uniform(1.1, 1.4) if roll < b.long_stop + b.micro_stop else 1.0
        self.next_at = last + self.cycle_time * factor * self.rng.uniform(1 - b.jitter, 1 + b.jitter)


@dataclass
class Plan:
    stations: list[StationSim]
    account_id: str


async def load_plan(
    http: httpx.AsyncClient,
    *,
    plant_code: str | None,
    seed: int | None,
    first_stopped: float,
    behaviour: Behaviour,
) -> Plan:
    """The plant's stations (with a cycle time) and SKUs from the API. Stations with an ongoing stop stay
    stopped for `first_stopped` seconds (the stop goes on, as it would on the floor); when none has
    one, the first station starts stopped, so a stop shows up either way."""
    query = {"plantcode": plant_code} if plant_code else {}
    stations = _results(await http.get("/api/station", params=query))
    skus = [s["code"] for s in _results(await http.get("/api/sku"))]
    me = (await http.post("/graphql", json={"query": "{ me { accountId } }"})).json()["data"]["me"]
    rng = random.Random(seed)
    sims = [
        StationSim(s["code"], float(s["cycleTime"]), skus, random.Random(rng.random()), behaviour)
        for s in stations
        if s.get("cycleTime") and not s.get("archivedAt")
    ]
    stopped = await _stopped(http, [sim.code for sim in sims]) if sims else set()
    if sims and not stopped:
        stopped = {sims[0].code}
    now = time.monotonic()
    for sim in sims:
        sim.start(now, first_stopped if sim.code in stopped else 0.0)
    return Plan(sims, str(me["accountId"]))


async def _stopped(http: httpx.AsyncClient, codes: list[str]) -> set[str]:
    """The stations with an ongoing stop (none when the key may not read issues, e.g. a device key)."""
    response = await http.get("/api/issue/ongoing", params={"stationcodes": ",".join(codes)})
    if response.status_code != 200:
        return set()
    return {i["stationCode"] for i in response.json()["results"] if i["type"] == "stop"}


def _results(response: httpx.Response) -> list[dict[str, Any]]:
    if response.status_code != 200:
        raise SystemExit(
            f"andon simulate: {response.request.url.path} answered {response.status_code}: {response.text}"
        )
    return list(response.json()["results"])


def http_sender(http: httpx.AsyncClient) -> Send:
    async def send(signals: list[dict[str, Any]]) -> None:
        response = await http.post("/api/signal", json=signals)
        if response.status_code != 200:
            log.warning("POST /api/signal answered %s: %s", response.status_code, response.text[:200])

    return send


def mqtt_sender(client: aiomqtt.Client, account_id: str) -> Send:
    async def send(signals: list[dict[str, Any]]) -> None:
        for signal in signals:
            code = signal.pop("stationCode")
            topic = f"busroot/v2/{account_id}/signals/{code}"
            await client.publish(topic, json.dumps(signal).encode(), qos=1)

    return send


def mqtt_client(url: str) -> aiomqtt.Client:
    parts = urlsplit(url)
    return aiomqtt.Client(
        hostname=parts.hostname or "127.0.0.1",
        port=parts.port or (8883 if parts.scheme == "mqtts" else 1883),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls_params=aiomqtt.TLSParameters() if parts.scheme == "mqtts" else None,
    )


async def run(plan: Plan, send: Send, *, duration: float | None, tick: float = 0.5) -> int:
    """Send every due signal each tick until `duration` passes (forever when None); how many were sent."""
    started = time.monotonic()
    sent = 0
    while duration is None or time.monotonic() - started < duration:
        now = time.monotonic()
        batch = [{"stationCode": sim.code, **signal} for sim in plan.stations for signal in sim.step(now)]
        if batch:
            try:
                await send(batch)
                sent += len(batch)
            except (httpx.HTTPError, aiomqtt.MqttError) as exc:
                log.warning("sending %d signals failed: %s", len(batch), exc)
        await asyncio.sleep(tick)
    return sent


async def simulate(
    *,
    base_url: str,
    api_key: str,
    plant_code: str | None = None,
    mqtt_url: str | None = None,
    duration: float | None = None,
    seed: int | None = None,
    first_stopped: float = 240.0,
) -> int:
    # One line per request would drown the gateway's own log.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
    headers = {"X-API-KEY": api_key}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=10.0, trust_env=False) as http:
        plan = await load_plan(
            http, plant_code=plant_code, seed=seed, first_stopped=first_stopped, behaviour=Behaviour()
        )
        if not plan.stations:
            raise SystemExit("andon simulate: no station with a cycle time in this plant")
        log.info("simulating %d stations over %s", len(plan.stations), "MQTT" if mqtt_url else "HTTP")
        if mqtt_url:
            async with mqtt_client(mqtt_url) as client:
                return await run(plan, mqtt_sender(client, plan.account_id), duration=duration)
        return await run(plan, http_sender(http), duration=duration)


async def wait_until_serving(base_url: str, timeout: float = 30.0) -> None:
    async with httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=2.0) as http:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/api/health")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise SystemExit(f"andon simulate: {base_url} did not answer within {timeout:.0f} s")
