"""A drone's MQTT side as the edge agent behaves on the wire, run as its own process so it can be killed.

Usage: python fake_drone.py PORT DRONE_ID KEEPALIVE_S TELEMETRY_PERIOD_S (<= 0: one telemetry message).
Sets the retained last will DroneStatus(online=False), publishes DroneStatus(online=True) retained,
then Telemetry; prints ``ready`` once the broker acknowledged the first telemetry.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

import paho.mqtt.client as mqtt

from contract import topics
from contract.messages import DroneStatus, Telemetry


def telemetry(drone_id: str, n: int) -> str:
    return Telemetry(
        drone_id=drone_id,
        time=datetime.now(UTC),
        lat=22.5205 + n * 1e-5,
        lon=114.0632,
        alt_rel_m=30.0,
        heading_deg=90.0,
        groundspeed_mps=8.0,
        battery_pct=76.0,
        gps_fix=3,
        satellites=14,
        mode="AUTO",
        armed=True,
        mission_item=4,
        mission_count=10,
        outbox_backlog=2,
        alerts_this_flight=5,
    ).model_dump_json()


def main() -> None:
    port, drone_id, keepalive, period = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"edge-{drone_id}")
    status_topic = topics.drone_topic(drone_id, topics.STATUS)
    c.will_set(
        status_topic, DroneStatus(drone_id=drone_id, online=False).model_dump_json(), qos=1, retain=True
    )
    c.connect("127.0.0.1", port, keepalive=keepalive)
    c.loop_start()
    online = DroneStatus(drone_id=drone_id, online=True, time=datetime.now(UTC)).model_dump_json()
    c.publish(status_topic, online, qos=1, retain=True).wait_for_publish(5)
    tele = topics.drone_topic(drone_id, topics.TELEMETRY)
    c.publish(tele, telemetry(drone_id, 0), qos=1).wait_for_publish(5)
    print("ready", flush=True)
    n = 1
    while True:
        time.sleep(period if period > 0 else 3600)
        if period > 0:
            c.publish(tele, telemetry(drone_id, n), qos=0)
            n += 1


if __name__ == "__main__":
    main()
