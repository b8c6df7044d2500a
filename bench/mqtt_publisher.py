"""Load generator for the mqtt_ingest benchmark: N stations x R messages/s for S seconds, QoS 1.

``python -m bench.mqtt_publisher HOST PORT ACCOUNT STATIONS RATE SECONDS``. Every 100 ms it publishes
one tick's worth of messages (stations x rate / 10, spread round-robin over the stations), each
``{"production_complete_good": 1, "timestamp": <epoch ms>}``, through paho's network thread without
waiting for each PUBACK. Prints one JSON line: the messages published, and (time, cumulative count)
per tick, from which the benchmark derives the publish-to-window lag.
"""

from __future__ import annotations

import json
import sys
import time

import paho.mqtt.client as mqtt

TICK = 0.1


def main(argv: list[str]) -> None:
    host, port, account, stations, rate, seconds = argv
    n, per_second, duration = int(stations), float(rate), float(seconds)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="", clean_session=True)
    client.max_inflight_messages_set(0)  # no cap: the broker acknowledges at its own pace
    client.max_queued_messages_set(0)
    client.connect(host, int(port))
    client.loop_start()
    topics = [f"busroot/v2/{account}/signals/B{i:04d}" for i in range(n)]
    per_tick = n * per_second * TICK
    schedule: list[tuple[float, int]] = []
    sent, owed, index = 0, 0.0, 0
    start = time.time()
    last_info = None
    while (now := time.time()) - start < duration:
        owed += per_tick
        stamp = int(now * 1000)
        payload = json.dumps({"production_complete_good": 1, "timestamp": stamp}).encode()
        while owed >= 1:
            last_info = client.publish(topics[index % n], payload, qos=1)
            index += 1
            owed -= 1
            sent += 1
        schedule.append((time.time(), sent))
        time.sleep(max(0.0, start + len(schedule) * TICK - time.time()))
    if last_info is not None:
        last_info.wait_for_publish(60)
    client.loop_stop()
    client.disconnect()
    print(json.dumps({"published": sent, "schedule": schedule}))


if __name__ == "__main__":
    main(sys.argv[1:])
