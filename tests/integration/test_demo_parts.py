"""The demo's hosting parts on their own: the embedded broker and the simulator process."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from prometheus_client import CollectorRegistry
from typer.testing import CliRunner

from contract import topics
from contract.messages import Alert
from edge.mqtt_link import LinkConfig, MqttLink
from edge.outbox import Outbox
from riverpatrol.cli import app
from riverpatrol.demo.broker import EmbeddedBroker
from riverpatrol.demo.radio import RadioLink
from riverpatrol.demo.simulator import SimProcess, SimSpec
from tests.edge_alerts.mqtt_helpers import Collector, alert_json, index_of, wait_until


def test_embedded_broker_carries_qos1_messages_and_stops() -> None:
    got: list[bytes] = []
    arrived = threading.Event()
    with EmbeddedBroker() as broker:
        sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="sub", protocol=mqtt.MQTTv311)
        sub.on_message = lambda c, u, m: (got.append(m.payload), arrived.set())
        sub.connect(broker.host, broker.port)
        sub.subscribe("riverpatrol/#", qos=1)
        sub.loop_start()
        pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="pub", protocol=mqtt.MQTTv311)
        pub.connect(broker.host, broker.port)
        pub.loop_start()
        try:
            for _ in range(50):  # until the subscription is in place
                pub.publish("riverpatrol/d1/alerts", b"hello", qos=1).wait_for_publish(5)
                if arrived.wait(0.2):
                    break
        finally:
            pub.loop_stop()
            sub.loop_stop()
        assert got and got[0] == b"hello"
    with pytest.raises(OSError):  # stopped: nothing listens any more
        mqtt.Client(mqtt.CallbackAPIVersion.VERSION2).connect(broker.host, broker.port)


def test_simulator_process_names_what_stopped_it(tmp_path: Path) -> None:
    spec = SimSpec(
        segment="nowhere-1", seed=1, debris=5, distractors=2, look="heldout", speedup=1.0, fps=1.0,
        feed_size=(320, 180), tcp_port=0, speed_mps=8.0,
        truth_path=tmp_path / "truth.jsonl", log_path=tmp_path / "sim.log",
    )  # fmt: skip
    sim = SimProcess(spec)
    try:
        with pytest.raises(RuntimeError, match=r"simulator failed to start: .*nowhere"):
            sim.start(timeout_s=60)
    finally:
        sim.stop()


def test_a_cut_radio_link_holds_the_drones_alerts_and_delivers_every_one_when_restored(
    mosquitto, tmp_path: Path
) -> None:
    """The demo's --link-outage: the edge's MQTT link through the cuttable forwarder loses its session
    when the link is cut, keeps what it makes meanwhile in its outbox, and delivers all of it, once
    each and in order, when the link is back; the broker stayed up throughout."""
    sub = Collector(mosquitto.port, topics.fleet_filter(topics.ALERTS))
    radio = RadioLink("127.0.0.1", mosquitto.port).start()
    cfg = LinkConfig(drone_id="d1", port=radio.port, reconnect_min_s=0.1, reconnect_max_s=0.5)
    link = MqttLink(cfg, Outbox(tmp_path / "o.db"), registry=CollectorRegistry())
    link.start()
    try:
        assert wait_until(lambda: link.connected, 5)
        for i in range(5):
            link.enqueue(alert_json("d1", i))
        assert link.wait_idle(5)
        radio.cut()
        assert wait_until(lambda: not link.connected, 5)
        for i in range(5, 25):
            link.enqueue(alert_json("d1", i))
        time.sleep(1.0)  # reconnect attempts meanwhile are refused
        assert not link.connected and link.outbox.depth() == 20
        radio.restore()
        assert wait_until(lambda: link.connected, 5) and link.wait_idle(10)
        assert sub.wait_for(lambda p: len(p) >= 25, 5)
        time.sleep(0.2)
        assert [index_of("d1", Alert.model_validate_json(p)) for p in sub.payloads()] == list(range(25))
        assert radio.cuts == 1
    finally:
        link.stop()
        radio.stop()


def test_demo_options_it_cannot_fly_are_named_before_anything_starts(tmp_path: Path) -> None:
    work = tmp_path / "work"
    for args, needle in (
        (["--speedup", "0"], "--speedup"),
        (["--fps", "-1"], "--fps"),
        (["--alt", "0"], "--alt"),
        (["--debris", "-1"], "--debris"),
        (["--port", "70000"], "--port"),
        (["--alt", "500"], "cannot plan the patrol: altitude 500.0 m is outside"),
        (["--segment", "shenzhen-99"], "cannot plan the patrol: unknown segment 'shenzhen-99'"),
    ):
        res = CliRunner().invoke(app, ["demo", "--workdir", str(work), "--no-serve", *args])
        assert res.exit_code == 2, (args, res.output)
        assert needle in " ".join(res.output.split()), (args, res.output)
        assert not work.exists(), args  # refused before the work folder, broker or simulator


def test_help_shows_no_value_for_an_on_off_flag() -> None:
    res = CliRunner().invoke(app, ["gcs", "mission", "upload", "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    line = next(ln for ln in res.output.splitlines() if "--no-fence" in ln)
    assert "<bool>" not in line and "Leave the vehicle's geofence" in line
    assert "<float" in next(ln for ln in res.output.splitlines() if "│ --fence-margin" in ln)  # a value does
    demo = CliRunner().invoke(app, ["demo", "--help"], env={"COLUMNS": "200"}).output
    assert "--serve" in demo and "<bool>" not in demo


def test_the_demo_s_flight_line_says_the_vehicle_s_time_and_the_time_it_took_here(tmp_path: Path) -> None:
    """The logbook times a flight by the vehicle's clock; a simulator flying 2x shows it as twice
    the time a person watched, so the line says both."""
    import json

    from riverpatrol.demo.run import flight_line

    logged = tmp_path / "river-1-20261207T111211Z.geojson"
    props = {"duration_s": 678.0, "distance_m": 4820.0, "battery_used_pct": 49.0,
             "waypoints_reached": list(range(1, 27)), "mission_count": 28}  # fmt: skip
    logged.write_text(json.dumps({"properties": props}))
    line = flight_line(logged, None, 2.0)
    assert "11.3 min (simulated at 2x: 5.7 min here), 4.82 km, 26 of 28 waypoints, battery 49% used" in line
    assert "min here" not in flight_line(logged, None)  # a real vehicle: its time is the time
