"""Baseline of the mqtt_ingest benchmark: a bare aiomqtt subscriber that only decodes each JSON payload.

``python -m bench.mqtt_baseline HOST PORT EXPECTED TIMEOUT``: subscribes to ``busroot/v2/+/signals/+``
at QoS 1 (paho acknowledges on receipt), decodes every payload, and takes the lag from its
``timestamp`` to the receipt. Prints "ready" once subscribed, then one JSON line when EXPECTED
messages arrived or TIMEOUT seconds passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time

import aiomqtt


async def main(host: str, port: int, expected: int, timeout: float) -> None:
    lags: list[float] = []
    span = [0.0, 0.0]

    async def consume(client: aiomqtt.Client) -> None:
        async for message in client.messages:
            now = time.time()
            body = json.loads(message.payload)  # type: ignore[arg-type]
            lags.append(now - body["timestamp"] / 1000)
            span[0] = span[0] or now
            span[1] = now
            if len(lags) >= expected:
                return

    async with aiomqtt.Client(host, port) as client:
        await client.subscribe("busroot/v2/+/signals/+", qos=1)
        print("ready", flush=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(consume(client), timeout)
    lags.sort()
    summary = {
        "received": len(lags),
        "seconds": span[1] - span[0],
        "p50": lags[len(lags) // 2] if lags else None,
        "p99": lags[int(len(lags) * 0.99)] if lags else None,
    }
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    h, p, e, t = sys.argv[1:]
    asyncio.run(main(h, int(p), int(e), float(t)))
