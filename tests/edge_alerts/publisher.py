"""A stand-in edge agent for crash tests: queues K alerts through the real outbox and MQTT link.

Prints ``PUT <i>`` once alert i is durably queued and ``IDLE`` once the outbox is drained;
``--count 0`` only drains what a previous (killed) run left behind.
"""

from __future__ import annotations

import argparse
import sys
import time

from edge.mqtt_link import LinkConfig, MqttLink
from edge.outbox import Outbox
from tests.edge_alerts.mqtt_helpers import alert_json


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--drone", default="d1")
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--max-inflight", type=int, default=10)
    ap.add_argument("--queue-first", action="store_true", help="queue all alerts before connecting")
    a = ap.parse_args()
    link = MqttLink(
        LinkConfig(drone_id=a.drone, port=a.port, reconnect_min_s=0.1, reconnect_max_s=0.5,
                   max_inflight=a.max_inflight),
        Outbox(a.db),
    )  # fmt: skip
    if not a.queue_first:
        link.start()
    for i in range(a.count):
        link.enqueue(alert_json(a.drone, i))
        print(f"PUT {i}", flush=True)
        if not a.queue_first:
            time.sleep(1.0 / a.rate)
    if a.queue_first:
        print("STARTING", flush=True)
        link.start()
    ok = link.wait_idle(30)
    print("IDLE" if ok else "NOT-IDLE", flush=True)
    link.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
