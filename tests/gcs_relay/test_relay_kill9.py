"""``kill -9`` of the relay process mid-batch: no alert lost, none stored twice in the cloud."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from contract import topics
from ground_station.relay.outbox import RelayOutbox
from ground_station.relay.service import wait_until
from tests.gcs_relay.conftest import STATION_TOKEN, CloudProcess, make_alert

N = 3000


def _start_relay(tmp_path: Path, broker_port: int, cloud: CloudProcess) -> subprocess.Popen:
    log = (tmp_path / "relay.log").open("ab")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "riverpatrol",
            "gcs",
            "relay",
            "--broker",
            f"127.0.0.1:{broker_port}",
            "--cloud",
            cloud.url,
            "--token",
            STATION_TOKEN,
            "--db",
            str(tmp_path / "relay.db"),
            "--client-id",
            "relay-kill9",
        ],
        stdout=log,
        stderr=log,
    )


def test_kill9_mid_batch_loses_and_duplicates_nothing(mosquitto, cloud: CloudProcess, tmp_path: Path) -> None:
    relay = _start_relay(tmp_path, mosquitto.port, cloud)
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="drone-k9", protocol=mqtt.MQTTv5)
    pub.connect("127.0.0.1", mosquitto.port)
    pub.loop_start()
    try:
        # Wait until the relay's persistent session exists on the broker, then flood it.
        assert wait_until(lambda: (tmp_path / "relay.db").exists(), 30)
        time.sleep(1.5)
        infos = []
        for i in range(N):
            a = make_alert(i, drone="k9")
            infos.append(pub.publish(topics.drone_topic("k9", topics.ALERTS), a.model_dump_json(), qos=1))
        # Kill it while the cloud has some but not all of them.
        assert wait_until(lambda: cloud.count() > 0, 30, poll=0.01)
        relay.send_signal(signal.SIGKILL)
        relay.wait(10)
        mid = cloud.count()
        for info in infos:
            info.wait_for_publish(10)
        box = RelayOutbox(tmp_path / "relay.db")
        queued = box.backlog().count
        box.close()

        relay = _start_relay(tmp_path, mosquitto.port, cloud)
        assert wait_until(lambda: cloud.count() >= N, 120), f"cloud has {cloud.count()} of {N}"
        time.sleep(1.0)
        stored = cloud.alerts()
        ids = [a["id"] for a in stored]
        assert len(ids) == N and len(set(ids)) == N
        assert mid < N, "the kill landed after everything was delivered: the test proved nothing"
        print(f"killed with {mid}/{N} in the cloud and {queued} in the relay outbox")
    finally:
        pub.loop_stop()
        relay.send_signal(signal.SIGTERM)
        try:
            relay.wait(10)
        except subprocess.TimeoutExpired:
            relay.kill()
    # run as a service (not a terminal) the relay logs its state as structured lines, last as it stops
    lines = [json.loads(x) for x in (tmp_path / "relay.log").read_text().splitlines() if x.startswith("{")]
    states = [x for x in lines if x["msg"] in ("relay status", "relay stopping")]
    assert states and states[-1]["msg"] == "relay stopping", lines[-5:]
    assert states[-1]["backlog"] == 0 and states[-1]["broker_connected"] is True
    assert states[-1]["received"] >= 1 and states[-1]["dead_letters"] == 0
