"""The relay against a real Mosquitto and a real cloud process: outages lose and duplicate nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from contract import topics
from ground_station.relay.outbox import Pending, RelayOutbox
from ground_station.relay.service import Relay, RelayConfig, wait_until
from tests.conftest import free_port
from tests.gcs_relay.conftest import STATION_TOKEN, CloudProcess, make_alert

#: How long the cloud stays down in the outage test; the issue's figure is 60 s.
OUTAGE_S = float(os.environ.get("RIVERPATROL_TEST_CLOUD_OUTAGE_S", "60"))


def _publisher(port: int) -> mqtt.Client:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-drone", protocol=mqtt.MQTTv5)
    c.connect("127.0.0.1", port)
    c.loop_start()
    return c


def _publish(c: mqtt.Client, ids: range) -> None:
    for i in ids:
        a = make_alert(i)
        topic = topics.drone_topic(a.drone_id, topics.ALERTS)
        c.publish(topic, a.model_dump_json(), qos=1).wait_for_publish(10)


def test_cloud_outage_then_everything_exactly_once(mosquitto, cloud: CloudProcess, tmp_path: Path) -> None:
    relay = Relay(
        RelayConfig(
            db_path=tmp_path / "relay.db",
            cloud_url=cloud.url,
            token=STATION_TOKEN,
            mqtt_port=mosquitto.port,
            backoff_cap_s=2.0,
        )
    )
    relay.start()
    assert relay.connected.wait(10)
    pub = _publisher(mosquitto.port)
    try:
        _publish(pub, range(0, 20))
        assert wait_until(lambda: len(cloud.alerts()) == 20, 20)

        cloud.stop()
        t_down = time.monotonic()
        _publish(pub, range(20, 60))
        junk = pub.publish(topics.drone_topic("d1", topics.ALERTS), b'{"not": "an alert"}', qos=1)
        junk.wait_for_publish(5)
        _publish(pub, range(0, 5))  # drone resends after its own reconnect: absorbed by (id, revision)
        assert wait_until(lambda: relay.outbox.backlog().count == 40, 20)
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - t_down)))
        assert relay.outbox.backlog().count == 40 and relay.outbox.backlog().oldest_age_s > 0

        cloud.start()
        assert wait_until(lambda: relay.outbox.backlog().count == 0, 60), relay.forwarder.last_error
        stored = cloud.alerts()
        ids = sorted(a["id"] for a in stored)
        assert len(ids) == 60 and len(set(ids)) == 60
        assert relay.m_rejected._value.get() == 1
        (junk_kept,) = relay.outbox.rejected()  # refused, kept with why, not dropped
        assert junk_kept.payload == b'{"not": "an alert"}' and junk_kept.reason.startswith(
            "alert_id: Field required"
        )
        assert relay.outbox.backlog().dead_letters == 0
    finally:
        pub.loop_stop()
        relay.stop()


def test_two_relays_share_one_fleet(mosquitto, cloud: CloudProcess, tmp_path: Path) -> None:
    relays = [
        Relay(
            RelayConfig(
                db_path=tmp_path / f"relay{i}.db",
                cloud_url=cloud.url,
                token=STATION_TOKEN,
                mqtt_port=mosquitto.port,
                client_id=f"relay-{i}",
                share_group="relays",
            )
        )
        for i in range(2)
    ]
    for r in relays:
        r.start()
        assert r.connected.wait(10)
    time.sleep(0.5)  # both subscriptions in place
    pub = _publisher(mosquitto.port)
    try:
        _publish(pub, range(200))
        assert wait_until(lambda: len(cloud.alerts()) == 200, 30)
        got = [int(r.m_received._value.get()) for r in relays]
        assert sum(got) == 200 and min(got) > 0, got  # split between them, each alert to one relay
    finally:
        pub.loop_stop()
        for r in relays:
            r.stop()


def test_mqtt_311_relay_keeps_its_session_across_a_restart(
    mosquitto, cloud: CloudProcess, tmp_path: Path
) -> None:
    """A broker without MQTT 5 (the demo's amqtt): the relay speaks 3.1.1 with a persistent session,
    so alerts published while it is down are delivered when it comes back."""

    def relay() -> Relay:
        r = Relay(
            RelayConfig(
                db_path=tmp_path / "relay.db",
                cloud_url=cloud.url,
                token=STATION_TOKEN,
                mqtt_port=mosquitto.port,
                client_id="relay-311",
                mqtt_protocol="3.1.1",
            )
        )
        r.start()
        assert r.connected.wait(10)
        return r

    first = relay()
    pub = _publisher(mosquitto.port)
    try:
        _publish(pub, range(0, 5))
        assert wait_until(lambda: len(cloud.alerts()) == 5, 20)
        first.stop()
        _publish(pub, range(5, 15))  # queued by the broker for the relay's session
        second = relay()
        try:
            assert wait_until(lambda: len(cloud.alerts()) == 15, 20), second.forwarder.last_error
        finally:
            second.stop()
    finally:
        pub.loop_stop()


def test_relay_refuses_an_unknown_mqtt_protocol(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mqtt_protocol"):
        Relay(RelayConfig(db_path=tmp_path / "r.db", cloud_url="http://127.0.0.1:1", mqtt_protocol="3"))


def test_an_outbox_the_disk_will_not_take_leaves_alerts_with_the_broker_until_it_does(
    mosquitto, cloud: CloudProcess, tmp_path: Path
) -> None:
    """A full disk at the ground station: nothing is acknowledged to the broker, the relay says
    why, and every alert is stored and delivered once the disk takes writes again."""
    relay = Relay(
        RelayConfig(db_path=tmp_path / "relay.db", cloud_url=cloud.url, token=STATION_TOKEN,
                    mqtt_port=mosquitto.port, backoff_cap_s=1.0)
    )  # fmt: skip
    relay.start()
    assert relay.connected.wait(10)
    (pages,) = relay.outbox._db.execute("PRAGMA page_count").fetchone()
    relay.outbox._db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own "disk is full"
    pub = _publisher(mosquitto.port)
    try:
        _publish(pub, range(30))
        assert wait_until(lambda: relay.store_error is not None, 10)
        assert "full" in relay.store_error and relay.m_store_failing._value.get() == 1
        received = relay.m_received._value.get()
        assert received < 30
        time.sleep(1.5)  # retries meanwhile store nothing and lose nothing
        assert relay.m_received._value.get() == received
        relay.outbox._db.execute("PRAGMA max_page_count = 1073741823")
        assert wait_until(lambda: len(cloud.alerts()) == 30, 30), relay.store_error
        assert relay.store_error is None and relay.m_store_failing._value.get() == 0
        assert relay.m_received._value.get() == 30
    finally:
        pub.loop_stop()
        relay.stop()


def test_a_relay_outbox_that_cannot_be_opened_exits_3_with_one_line(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "riverpatrol", "gcs", "relay", "--db", str(tmp_path)]  # a folder
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 3, r.stderr
    assert f"cannot open the relay outbox {tmp_path}: unable to open database file" in r.stderr
    assert "Traceback" not in r.stderr


def test_a_relay_forgets_alerts_the_cloud_had_months_ago(tmp_path: Path) -> None:
    """``gcs alerts`` history is kept ``history_days``: a ground station's disk does not fill with
    a year of patrols. Checked as the relay starts, broker or not."""
    db = tmp_path / "relay.db"
    box = RelayOutbox(db)
    for i, days_ago in ((1, 120), (2, 10)):
        a = make_alert(i)
        a = a.model_copy(update={"captured_at": a.captured_at - timedelta(days=days_ago)})
        assert box.put(json.loads(a.model_dump_json()), a.model_dump_json())
    box.delivered([p.seq for p in box.pending(10)])
    box.close()
    relay = Relay(RelayConfig(db_path=db, cloud_url="http://127.0.0.1:1", mqtt_port=free_port(),
                              history_days=90))  # fmt: skip
    relay.start()
    try:
        kept = {str(make_alert(2).alert_id)}
        assert wait_until(lambda: {a["alert_id"] for a in relay.outbox.recent_alerts()} == kept, 10)
    finally:
        relay.stop()


def test_what_an_older_relay_refused_reaches_the_cloud_once_the_relay_takes_it(
    mosquitto, cloud: CloudProcess, tmp_path: Path
) -> None:
    """A drone upgraded before its station sent alerts the old relay refused: they were kept, not
    dropped, and the upgraded relay takes them at its start and delivers them; garbage stays kept.
    An event an older cloud refused (dead-lettered) is offered to the cloud again at the start."""
    db = tmp_path / "relay.db"
    box = RelayOutbox(db)  # as the older relay left it
    topic = topics.drone_topic("d1", topics.ALERTS)
    box.keep_rejected(
        [
            (topic, make_alert(7).model_dump_json().encode(), "sun_glare: Extra inputs are not permitted"),
            (topic, b"garbage", "payload: Invalid JSON"),
        ]
    )
    refused = json.loads(make_alert(8).model_dump_json())  # and one an older cloud refused
    assert box.put(refused, json.dumps(refused))
    (parked,) = box.pending(1)
    box.dead_letter(parked, "HTTP 422: unknown field")
    assert box.backlog().dead_letters == 1
    box.close()
    relay = Relay(RelayConfig(db_path=db, cloud_url=cloud.url, token=STATION_TOKEN, mqtt_port=mosquitto.port))
    relay.start()
    try:
        assert wait_until(lambda: len(cloud.alerts()) == 2, 20), relay.forwarder.last_error
        assert {a["id"] for a in cloud.alerts()} == {str(make_alert(i).alert_id) for i in (7, 8)}
        assert [r.payload for r in relay.outbox.rejected()] == [b"garbage"]
        assert relay.outbox.backlog().dead_letters == 0
    finally:
        relay.stop()


def test_the_events_the_cloud_refused_are_offered_again_while_the_relay_runs(
    mosquitto, cloud: CloudProcess, tmp_path: Path
) -> None:
    """A cloud upgraded while the relay runs gets the events an older one refused without a relay
    restart; one the cloud still refuses goes back to the dead letters each time, never lost."""
    relay = Relay(
        RelayConfig(
            db_path=tmp_path / "relay.db",
            cloud_url=cloud.url,
            token=STATION_TOKEN,
            mqtt_port=mosquitto.port,
            refused_retry_s=0.5,
        )
    )
    offered = lambda: relay.config.registry.get_sample_value("relay_refused_offered_again_total") or 0  # noqa: E731
    relay.start()
    try:
        bad = json.loads(make_alert(1).model_dump_json()) | {"sun_glare": True}  # this cloud refuses it
        assert relay.outbox.put(bad, json.dumps(bad))
        assert wait_until(lambda: relay.outbox.backlog().dead_letters == 1, 10)
        good = make_alert(2).model_dump_json()  # as an older cloud refused it
        relay.outbox.dead_letter(
            Pending(-1, str(make_alert(2).alert_id), 0, good, time.time(), 1), "HTTP 422: unknown field"
        )
        assert wait_until(lambda: [a["id"] for a in cloud.alerts()] == [str(make_alert(2).alert_id)], 10)
        before = offered()
        assert wait_until(lambda: offered() >= before + 2, 10)  # the refused one, offered twice more
        # it comes and goes between the queue and the dead letters: watched until seen parked
        parked = lambda: [(d.alert_id, "sun_glare" in d.reason) for d in relay.outbox.dead_letters()]  # noqa: E731
        assert wait_until(lambda: parked() == [(bad["alert_id"], True)], 10), parked()
        assert wait_until(lambda: relay.config.registry.get_sample_value("relay_dead_letters") == 1, 10)
        assert len(cloud.alerts()) == 1
    finally:
        relay.stop()
