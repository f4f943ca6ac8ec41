"""The demo's hosting parts on their own: the embedded broker and the simulator process."""

from __future__ import annotations

import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from riverpatrol.demo.broker import EmbeddedBroker
from riverpatrol.demo.simulator import SimProcess, SimSpec


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
