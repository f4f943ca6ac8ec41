"""The agent loop without a vehicle: fleet alerts reach the tracker through the loop, health says why."""

from __future__ import annotations

import time

import cv2
import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from contract import topics
from edge.agent import EdgeAgent
from edge.settings import EdgeSettings
from tests.conftest import free_port
from tests.edge_agent.mjpeg import MjpegCamera
from tests.edge_alerts.mqtt_helpers import Collector, alert_json, wait_until


def _video(path, frames: int = 30):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (320, 180))
    for i in range(frames):
        w.write(np.full((180, 320, 3), 60 + i, np.uint8))
    w.release()
    return str(path)


def _no_vehicle(mosquitto, tmp_path) -> EdgeSettings:
    """Drone d1 with a short video for a camera, the test's broker, and no vehicle at its URL."""
    return EdgeSettings(
        mavlink=f"tcp:127.0.0.1:{free_port()}",
        camera=_video(tmp_path / "clip.avi"),
        broker_port=mosquitto.port,
        outbox_path=tmp_path / "o.db",
        drone_id="d1",
        detector_threads=1,
    )


def test_fleet_alerts_are_learned_in_the_loop_and_health_names_the_problems(mosquitto, tmp_path):
    settings = _no_vehicle(mosquitto, tmp_path)
    agent = EdgeAgent(settings).start()
    try:
        assert agent.link.fleet_subscribed.wait(5)
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="other-drone")
        c.connect("127.0.0.1", mosquitto.port, 5)
        c.loop_start()
        c.publish(topics.drone_topic("d2", topics.ALERTS), alert_json("d2", 0), qos=1).wait_for_publish(5)
        c.publish(topics.drone_topic("d2", topics.ALERTS), b"{not json", qos=1).wait_for_publish(5)
        c.disconnect()
        c.loop_stop()
        deadline = time.monotonic() + 5
        while agent.tracker.stats.remote_learned < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert agent.tracker.stats.remote_learned == 1
        while not agent.camera_ended.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        health = agent.health()
        assert not health["ok"]
        assert health["broker"] == "connected"
        assert health["vehicle"] != "ok" and health["camera"] == "ended"
        assert agent.status().frames >= 1 and agent.pipeline.stats.skipped["no_pose"] >= 1
        assert agent.pipeline.stats.detections == 0  # never detect without a pose to geotag with
    finally:
        agent.stop()


def test_a_camera_that_stops_sending_makes_health_say_so_until_frames_come_back(mosquitto, tmp_path):
    """An IP camera that hangs (connection open, nothing sent): health and the frame-age metric
    say how long there has been no frame; when it sends again, health says ok again."""
    camera = MjpegCamera(free_port()).start()
    settings = EdgeSettings(
        mavlink=f"tcp:127.0.0.1:{free_port()}",
        camera=camera.url,
        camera_stall_s=0.5,
        camera_reopen_s=30.0,  # health alone is under test: no reopen, and no read gives up meanwhile
        camera_timeout_s=30.0,
        broker_port=mosquitto.port,
        outbox_path=tmp_path / "o.db",
        detector_threads=1,
    )
    agent = EdgeAgent(settings).start()
    try:
        assert wait_until(lambda: agent.status().frames >= 3, 10)
        assert agent.status().camera == "ok" and agent.health()["camera"] == "ok"
        camera.hold.clear()
        assert wait_until(lambda: agent.health()["camera"].startswith("no frame for"), 10)
        assert not agent.health()["ok"] and not agent.status().camera_ok
        assert agent.registry.get_sample_value("riverpatrol_edge_camera_frame_age_seconds") >= 0.5
        frames = agent.status().frames
        camera.hold.set()
        assert wait_until(lambda: agent.status().frames > frames and agent.status().camera == "ok", 10)
        assert agent.registry.get_sample_value("riverpatrol_edge_camera_reconnects") == 0
    finally:
        camera.hold.set()
        agent.stop()
        camera.stop()


def test_alerts_the_outbox_cannot_write_are_held_said_in_health_and_sent_when_it_can(mosquitto, tmp_path):
    """A full disk on the drone: alerts wait in memory (health and a gauge say how many) and go
    out, in order, once the outbox can be written again; none is lost."""
    settings = _no_vehicle(mosquitto, tmp_path)
    collector = Collector(mosquitto.port, topics.drone_topic("d1", topics.ALERTS))
    agent = EdgeAgent(settings).start()
    try:
        assert wait_until(lambda: agent.link.connected, 5)
        mosquitto.stop()  # nothing leaves the outbox (and frees room in it) meanwhile
        (pages,) = agent.outbox._db.execute("PRAGMA page_count").fetchone()
        agent.outbox._db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own "disk is full"
        sent = [alert_json("d1", i) for i in range(30)]
        for p in sent:
            agent.held.put(p.encode())
        assert len(agent.held) > 0
        held = agent.registry.get_sample_value("riverpatrol_edge_alerts_held")
        assert held == len(agent.held) and agent.status().alerts_held == held
        health = agent.health()
        assert not health["ok"]
        assert health["outbox"].startswith("cannot be written (database or disk is full)")
        agent.outbox._db.execute("PRAGMA max_page_count = 1073741823")
        assert wait_until(lambda: len(agent.held) == 0, 5)  # the loop's retry
        assert agent.health()["outbox"] == "ok" and agent.outbox.depth() == len(sent)
        mosquitto.start()
        assert wait_until(lambda: len(collector.payloads()) == len(sent), 15)
        assert [bytes(x) for x in collector.payloads()] == [p.encode() for p in sent]
    finally:
        agent.stop()
        collector.client.loop_stop()
