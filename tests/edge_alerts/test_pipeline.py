"""Two drones, one item, one alert: tracker -> alert -> outbox -> MQTT -> the other drone's tracker."""

from __future__ import annotations

import queue
import time
from datetime import UTC, datetime

import cv2
import numpy as np

from contract import topics
from contract.geo import offset
from contract.messages import Alert, AlertEvent
from edge.alerts import MAX_ALERT_BYTES, SnapshotConfig, alert_payload, build_alert, snapshotter
from edge.mqtt_link import LinkConfig, MqttLink
from edge.outbox import Outbox
from edge.tracker import Sighting, Tracker, TrackerConfig
from tests.edge_alerts.mqtt_helpers import Collector

LAT, LON = 22.5205, 114.0632


def _frame(rng: np.random.Generator) -> np.ndarray:
    """Rippled water (coarse noise, cheap to make) with a white bottle in the middle."""
    small = rng.normal((90, 70, 40), 12, (270, 480, 3)).clip(0, 255).astype(np.uint8)
    water = cv2.resize(small, (1920, 1080), interpolation=cv2.INTER_LINEAR)
    cv2.circle(water, (960, 540), 14, (235, 235, 235), -1)
    return water


def _sighting(score: float) -> Sighting:
    lat, lon = offset(LAT, LON, 0.4, -0.3)
    return Sighting((944, 524, 976, 556), score, "bottle", lat, lon, 3.5, 2.0)


def _fly_over(tracker: Tracker, link: MqttLink, t0: float, rng: np.random.Generator, drone: str) -> list:
    events = []
    for k in range(12):
        events += tracker.update(t0 + k * 0.2, [_sighting(0.7 + 0.01 * k)], frame=_frame(rng))
    events += tracker.tick(t0 + 30)
    for ev in events:
        alert = build_alert(ev, drone, "mission-1", datetime.now(UTC))
        link.enqueue(alert_payload(alert))
    return events


def test_the_second_drone_updates_the_first_drones_alert(mosquitto, tmp_path):
    rng = np.random.default_rng(1)
    cloud = Collector(mosquitto.port, topics.fleet_filter(topics.ALERTS))
    inbox: queue.SimpleQueue[Alert] = queue.SimpleQueue()
    snap = snapshotter(SnapshotConfig())
    t1, t2 = Tracker(TrackerConfig(drone_id="d1"), snap), Tracker(TrackerConfig(drone_id="d2"), snap)

    def link(drone: str, on_remote=None) -> MqttLink:
        cfg = LinkConfig(drone_id=drone, port=mosquitto.port, reconnect_min_s=0.1, reconnect_max_s=0.5)
        return MqttLink(cfg, Outbox(tmp_path / f"{drone}.db"), on_remote_alert=on_remote)

    l1, l2 = link("d1"), link("d2", inbox.put)  # remote alerts go through a queue to the loop
    l1.start()
    l2.start()
    assert l2.fleet_subscribed.wait(5)
    t0 = time.time() - 120
    first = _fly_over(t1, l1, t0, rng, "d1")
    assert [e.event for e in first] == [AlertEvent.NEW, AlertEvent.END]
    assert l1.wait_idle(5)
    learned = [inbox.get(timeout=5) for _ in first]
    for a in learned:
        t2.learn_remote(a)
    second = _fly_over(t2, l2, t0 + 60, rng, "d2")
    assert [(e.event, e.alert_id, e.revision, e.passes) for e in second] == [
        (AlertEvent.UPDATE, first[0].alert_id, 2, 2),
        (AlertEvent.END, first[0].alert_id, 3, 2),
    ]
    assert l2.wait_idle(5)
    assert cloud.wait_for(lambda p: len(p) >= 4, 5)
    alerts = [Alert.model_validate_json(p) for p in cloud.payloads()]
    assert [(a.drone_id, a.event, a.revision) for a in alerts] == [
        ("d1", AlertEvent.NEW, 0),
        ("d1", AlertEvent.END, 1),
        ("d2", AlertEvent.UPDATE, 2),
        ("d2", AlertEvent.END, 3),
    ]
    assert {a.alert_id for a in alerts} == {first[0].alert_id}
    assert all(a.thumbnail_jpeg and a.context_jpeg for a in alerts)
    assert max(len(p) for p in cloud.payloads()) <= MAX_ALERT_BYTES
    for lk in (l1, l2):
        lk.stop()
    cloud.close()
