"""A broker that turns anonymous clients away, configured by ``gcs broker-config --password-file``:
the drone's link, the relay and the fleet dashboard log in with their settings' users."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from contract.broker import BrokerAuth
from edge.agent import link_config
from edge.mqtt_link import MqttLink
from edge.outbox import Outbox
from edge.settings import EdgeSettings
from ground_station.fleet.mqtt import FleetListener
from ground_station.relay.broker_config import mosquitto_conf
from ground_station.relay.service import Relay, RelayConfig, wait_until
from ground_station.settings import GcsSettings
from tests.conftest import Mosquitto, free_port
from tests.gcs_relay.conftest import make_alert


@pytest.fixture
def locked_broker(tmp_path: Path):
    """Mosquitto running the config ``gcs broker-config`` writes, with two users."""
    users = tmp_path / "passwd"
    for i, (user, password) in enumerate((("drone-1", "d-pass"), ("gs1", "g-pass"))):
        flags = ["-b", "-c"] if i == 0 else ["-b"]
        subprocess.run(
            ["mosquitto_passwd", *flags, str(users), user, password], check=True, capture_output=True
        )
    users.chmod(0o644)
    broker = Mosquitto(tmp_path, free_port())
    conf = mosquitto_conf(broker.port, tmp_path, bind="127.0.0.1", password_file=users)
    assert "allow_anonymous false" in conf
    broker.conf.write_text("user root\n" + conf)
    broker.start()
    yield broker
    broker.stop()


def test_each_client_logs_in_with_its_settings_and_strangers_are_refused(locked_broker, tmp_path: Path):
    port = locked_broker.port
    gcs = GcsSettings.load(mqtt_port=port, mqtt_username="gs1", mqtt_password="g-pass")
    relay = Relay(RelayConfig(db_path=tmp_path / "relay.db", cloud_url="http://127.0.0.1:1", mqtt_port=port,
                              auth=gcs.mqtt_auth()))  # fmt: skip
    edge = EdgeSettings.load(broker_port=port, broker_username="drone-1", broker_password="d-pass")
    link = MqttLink(link_config(edge), Outbox(tmp_path / "edge.db"))
    fleet = FleetListener("127.0.0.1", port, 5.0, auth=gcs.mqtt_auth()).start()
    stranger = FleetListener("127.0.0.1", port, 5.0, auth=BrokerAuth("gs1", "wrong")).start()
    locked_out = Relay(RelayConfig(db_path=tmp_path / "r2.db", cloud_url="http://127.0.0.1:1", mqtt_port=port,
                                   client_id="relay-2"))  # fmt: skip
    try:
        relay.start()
        locked_out.start()
        assert relay.connected.wait(10)
        link.start()
        alert = make_alert(1, drone="drone-1")
        link.enqueue(alert.model_dump_json().encode())
        assert link.wait_idle(10), link.health().last_error
        assert wait_until(lambda: relay.m_received._value.get() == 1, 10)  # the drone's alert, relayed
        assert fleet.connected.wait(10) and not fleet.refused
        assert stranger.attempted.wait(10) and not stranger.connected.is_set()
        assert "not authorized" in stranger.refused.lower() or "bad user" in stranger.refused.lower()
        assert "g-pass" not in repr(gcs.mqtt_auth())
        assert wait_until(lambda: "not authorized" in locked_out.refused.lower(), 10), locked_out.refused
        assert not locked_out.connected.is_set() and relay.refused == ""
    finally:
        for stop in (link.stop, relay.stop, locked_out.stop, fleet.stop, stranger.stop):
            stop()


def test_a_broker_config_needs_both_halves_of_a_tls_pair(tmp_path: Path):
    with pytest.raises(ValueError, match="both its certificate and its key"):
        mosquitto_conf(8883, tmp_path, tls_cert=tmp_path / "srv.crt")
    conf = mosquitto_conf(8883, tmp_path, tls_cert=tmp_path / "srv.crt", tls_key=tmp_path / "srv.key")
    assert f"certfile {tmp_path / 'srv.crt'}" in conf and f"keyfile {tmp_path / 'srv.key'}" in conf
