"""MQTT link against a real Mosquitto: order, outages, kill -9, status/will, fleet alerts, telemetry."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from prometheus_client import CollectorRegistry

from contract import topics
from contract.messages import Alert, DroneStatus, Telemetry
from edge.mqtt_link import LinkConfig, MqttLink, ShortSessions
from edge.outbox import Outbox
from tests.edge_alerts.mqtt_helpers import Collector, alert_json, index_of, wait_until

REPO = Path(__file__).resolve().parents[2]
MARKER = b"marker"  # a payload on another drone's topic, to sequence the collector's stream


def _link(port: int, tmp_path: Path, drone: str = "d1", **kw) -> tuple[MqttLink, CollectorRegistry]:
    reg = CollectorRegistry()
    cfg = LinkConfig(drone_id=drone, port=port, reconnect_min_s=0.1, reconnect_max_s=0.5, **kw)
    return MqttLink(cfg, Outbox(tmp_path / f"{drone}.db"), registry=reg), reg


def _indices(drone: str, payloads: list[bytes]) -> list[int]:
    return [index_of(drone, Alert.model_validate_json(p)) for p in payloads]


def _retained_status(port: int, drone: str) -> DroneStatus:
    got: list[bytes] = []
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"status-{uuid.uuid4().hex[:6]}")
    c.on_message = lambda cl, u, m: got.append(m.payload)
    c.connect("127.0.0.1", port, 5)
    c.subscribe(topics.drone_topic(drone, topics.STATUS), qos=1)
    deadline = time.monotonic() + 5
    while not got and time.monotonic() < deadline:
        c.loop(0.05)
    c.disconnect()
    assert got, "no retained status"
    return DroneStatus.model_validate_json(got[-1])


def _settled_status(port: int, drone: str, online: bool, timeout: float = 10) -> DroneStatus:
    """The retained status once it says ``online`` (a will lands when the broker sees the drop)."""
    deadline = time.monotonic() + timeout
    status = _retained_status(port, drone)
    while status.online is not online and time.monotonic() < deadline:
        time.sleep(0.1)
        status = _retained_status(port, drone)
    return status


def _durable(broker) -> None:
    """Make the broker's persistence work when tests run as root.

    Mosquitto started as root drops to the ``mosquitto`` user, which cannot write the fixture's
    root-owned tmp dir, so sessions silently vanish on restart ("Error saving in-memory
    database"). ``user root`` keeps it root (the option is ignored when not started as root).
    """
    conf = broker.conf.read_text()
    if "user root" not in conf:  # the shared fixture already says it
        broker.stop()
        broker.conf.write_text(conf + "user root\n")
        broker.start()


def test_alerts_arrive_once_in_order_and_status_is_retained(mosquitto, tmp_path):
    sub = Collector(mosquitto.port, topics.fleet_filter(topics.ALERTS))
    link, reg = _link(mosquitto.port, tmp_path)
    link.start()
    assert wait_until(lambda: link.connected, 5)
    assert _retained_status(mosquitto.port, "d1").online is True
    for i in range(30):
        link.enqueue(alert_json("d1", i))
    assert link.wait_idle(10)
    assert sub.wait_for(lambda p: len(p) >= 30, 5)
    time.sleep(0.2)
    assert _indices("d1", sub.payloads()) == list(range(30))
    assert link.outbox.depth() == 0 and link.health().ok
    assert reg.get_sample_value("riverpatrol_edge_alerts_sent_total") == 30
    assert reg.get_sample_value("riverpatrol_edge_alerts_published_total") == 30
    assert reg.get_sample_value("riverpatrol_edge_mqtt_link_up") == 1
    link.stop()
    off = _retained_status(mosquitto.port, "d1")
    assert off.online is False and off.reason == "shutdown"
    sub.close()


def test_broker_outage_mid_stream_loses_and_duplicates_nothing(mosquitto, tmp_path):
    _durable(mosquitto)  # the subscriber's session must survive the restart, as a cloud's would
    sub = Collector(mosquitto.port, topics.fleet_filter(topics.ALERTS), client_id="cloud-ingest")
    link, reg = _link(mosquitto.port, tmp_path)
    link.start()
    assert wait_until(lambda: link.connected, 5)
    n = 80
    done = threading.Event()

    def produce():
        for i in range(n):
            link.enqueue(alert_json("d1", i))
            time.sleep(0.03)  # ~2.4 s of alerts
        done.set()

    threading.Thread(target=produce, daemon=True).start()
    time.sleep(0.6)
    mosquitto.stop()
    assert wait_until(lambda: not link.connected, 5)
    time.sleep(2.0)
    assert link.outbox.depth() > 0  # alerts kept coming and stayed queued
    mosquitto.start()
    assert done.wait(10)
    assert link.wait_idle(15)
    assert sub.wait_for(lambda p: len(p) >= n, 10)
    time.sleep(0.3)
    msgs = list(sub.messages)
    got = _indices("d1", [m.payload for m in msgs])
    # Nothing acknowledged was published again. What was in flight when the broker went down
    # (its PUBACK lost with the connection: at-least-once) goes again, at most the in-flight
    # window; usually none (a busy machine widens the moment the stop can catch a publish).
    resent = int(reg.get_sample_value("riverpatrol_edge_alerts_published_total") or 0) - n
    assert 0 <= resent <= link.cfg.max_inflight, resent
    # The subscriber sees all, in order. A repeat is the broker redelivering (DUP flag) what it
    # had sent to the subscriber just before it went down (the broker->consumer leg of QoS 1), or
    # one of the drone's resends; the consumer's (alert_id, revision) dedup absorbs both.
    assert list(dict.fromkeys(got)) == list(range(n)), f"received {len(got)}: {got}"
    seen: set[int] = set()
    undup = 0
    for i, m in zip(got, msgs, strict=True):
        undup += i in seen and not m.dup
        seen.add(i)
    assert undup <= resent, f"{undup} repeats without the DUP flag, {resent} resent: {got}"
    assert len(got) - n <= 10 + resent
    assert reg.get_sample_value("riverpatrol_edge_mqtt_link_errors_total", {"kind": "lost"}) >= 1
    assert reg.get_sample_value("riverpatrol_edge_mqtt_connects_total") >= 2
    link.stop()
    sub.close()


def test_unreachable_broker_at_start_is_named_and_alerts_wait(mosquitto, tmp_path, caplog):
    mosquitto.stop()
    link, _ = _link(mosquitto.port, tmp_path)
    with caplog.at_level(logging.ERROR, logger="edge.mqtt_link"):
        link.start()
    assert f"127.0.0.1:{mosquitto.port} unreachable" in caplog.text
    assert f"127.0.0.1:{mosquitto.port}" in link.health().last_error and not link.health().ok
    for i in range(5):
        link.enqueue(alert_json("d1", i))
    time.sleep(0.5)
    assert link.outbox.depth() == 5
    mosquitto.start()
    sub = Collector(mosquitto.port, topics.fleet_filter(topics.ALERTS))
    assert link.wait_idle(10)
    assert sub.wait_for(lambda p: len(p) >= 5, 5)
    assert _indices("d1", sub.payloads()) == list(range(5))
    link.stop()
    sub.close()


def test_kill_9_mid_stream_then_restart_resends_exactly_the_unacknowledged(mosquitto, tmp_path):
    sub = Collector(mosquitto.port, topics.fleet_filter(topics.ALERTS), client_id="cloud-ingest")
    db = tmp_path / "edge.db"
    k, inflight = 1500, 10
    cmd = [sys.executable, "-m", "tests.edge_alerts.publisher", "--port", str(mosquitto.port)]
    cmd += ["--db", str(db), "--max-inflight", str(inflight)]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # A backlog (as after a long outage) drained by the real link, killed half way.
    first = subprocess.Popen(
        [*cmd, "--count", str(k), "--queue-first"], cwd=REPO, env=env, stdout=subprocess.PIPE
    )
    # Killed by its own progress (100 acknowledged), not by what the collector has received so
    # far: on a busy machine the collector lags, and the publisher could finish before the kill.
    assert first.stdout is not None
    assert any(line.strip() == b"STARTING" for line in first.stdout), "publisher never queued"
    assert wait_until(lambda: _outbox_rows(db) <= k - 100, 30, 0.005), "publisher never got going"
    first.send_signal(signal.SIGKILL)
    first.communicate(10)
    will = _settled_status(mosquitto.port, "d1", online=False)
    assert will.online is False and will.reason == "link lost"  # the broker's last will
    # Everything the killed run got to the broker was queued for the collector before its will;
    # a marker published now reaches the collector after all of it, however slow the machine.
    _publish_raw(mosquitto.port, topics.drone_topic("marker", topics.ALERTS), MARKER)
    assert sub.wait_for(lambda p: MARKER in p, 30), "the marker never arrived"
    before = sub.payloads().index(MARKER)
    left = Outbox(db)
    pending_after_kill = left.depth()
    left.close()
    assert pending_after_kill > 0 and before < k, "kill must land mid-stream"
    second = subprocess.run(
        [*cmd, "--count", "0"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert second.returncode == 0 and "IDLE" in second.stdout, second.stderr[-2000:]
    assert Outbox(db).depth() == 0
    # The resent tail comes first (outbox order), so once every alert is in, so are the repeats.
    assert sub.wait_for(lambda p: len(set(p)) >= k + 1, 30)
    payloads = sub.payloads()
    got = _indices("d1", [p for p in payloads if p != MARKER])
    unique = list(dict.fromkeys(got))
    assert unique == list(range(k))  # everything, in order
    # Only what was unacknowledged (in the outbox) at the kill is sent again. Alerts the broker
    # had acknowledged but whose PUBACK was not yet committed are the legitimate duplicates:
    # at most the in-flight window, only the tail delivered just before the kill.
    delivered_before = list(dict.fromkeys(got[:before]))
    resent = [i for i in got[before:] if i in set(delivered_before)]
    counts = f"{before=} {pending_after_kill=} {len(got)=} {len(unique)=} {resent=}"
    assert len(got) - len(unique) == len(resent) <= inflight, counts
    assert set(resent) <= set(delivered_before[-inflight:]), counts
    assert len(got) - before == pending_after_kill, counts
    print(f"kill -9 with {pending_after_kill} of {k} unacked: {len(resent)} sent twice")
    sub.close()


def _outbox_rows(db: Path) -> int:
    """Rows in an outbox another process is writing (read-only: the reader changes nothing)."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as c:
        return c.execute("SELECT count(*) FROM outbox").fetchone()[0]


def _publish_raw(port: int, topic: str, payload: bytes | str) -> None:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"raw-{uuid.uuid4().hex[:6]}")
    c.connect("127.0.0.1", port, 5)
    c.loop_start()
    c.publish(topic, payload, qos=1).wait_for_publish(5)
    c.disconnect()
    c.loop_stop()


def test_fleet_alerts_reach_the_callback_and_malformed_ones_are_counted(mosquitto, tmp_path):
    seen: list[Alert] = []
    link, reg = _link(mosquitto.port, tmp_path)
    link.on_remote_alert = seen.append
    link.start()
    assert wait_until(lambda: link.connected, 5)
    assert link.fleet_subscribed.wait(5)
    link.enqueue(alert_json("d1", 0))  # our own alert comes back on the fleet filter: ignored
    _publish_raw(mosquitto.port, topics.drone_topic("d2", topics.ALERTS), alert_json("d2", 7))
    _publish_raw(mosquitto.port, topics.drone_topic("d2", topics.ALERTS), b"{not json")
    _publish_raw(mosquitto.port, topics.drone_topic("d3", topics.ALERTS), alert_json("d2", 8))

    def rejected(reason: str) -> float | None:
        return reg.get_sample_value("riverpatrol_edge_remote_alerts_rejected_total", {"reason": reason})

    assert wait_until(lambda: rejected("drone_mismatch") == 1, 5)
    assert rejected("invalid") == 1
    assert [index_of("d2", a) for a in seen] == [7]
    assert reg.get_sample_value("riverpatrol_edge_remote_alerts_total") == 1
    link.stop()


def test_telemetry_is_published_with_the_backlog_and_rate_limited(mosquitto, tmp_path):
    sub = Collector(mosquitto.port, topics.fleet_filter(topics.TELEMETRY), clean=True)
    link, reg = _link(mosquitto.port, tmp_path, telemetry_min_interval_s=0.5)
    t = Telemetry(
        drone_id="d1",
        time=datetime.now(UTC),
        lat=22.52,
        lon=114.06,
        alt_rel_m=30.0,
        heading_deg=90.0,
        groundspeed_mps=5.0,
        battery_pct=80.0,
        gps_fix=3,
        satellites=14,
        mode="AUTO",
        armed=True,
    )
    assert link.publish_telemetry(t) is False  # not connected yet
    link.start()
    assert wait_until(lambda: link.connected, 5)
    assert link.publish_telemetry(t) is True
    assert link.publish_telemetry(t) is False  # due again only after the interval
    assert sub.wait_for(lambda p: len(p) == 1, 5)
    got = Telemetry.model_validate_json(sub.payloads()[0])
    assert got.link_ok is True and got.outbox_backlog == 0 and got.mode == "AUTO"
    assert b'"warning"' not in sub.payloads()[0]  # nothing to warn of: no field an older reader refuses
    assert reg.get_sample_value("riverpatrol_edge_telemetry_skipped_total") == 1
    time.sleep(0.6)
    assert link.publish_telemetry(t.model_copy(update={"warning": "Fence Breached: Polygon"})) is True
    assert sub.wait_for(lambda p: len(p) == 2, 5)
    assert Telemetry.model_validate_json(sub.payloads()[1]).warning == "Fence Breached: Polygon"
    link.stop()
    sub.close()


def test_bad_link_config_names_the_field():
    with pytest.raises(ValueError, match="drone id"):
        LinkConfig(drone_id="a/b")
    with pytest.raises(ValueError, match="max_inflight"):
        LinkConfig(drone_id="d1", max_inflight=0)


def test_a_refused_connection_keeps_alerts_until_the_broker_accepts(mosquitto, tmp_path, caplog):
    _durable(mosquitto)
    # A persistent subscriber session made now queues whatever arrives while it is away.
    Collector(mosquitto.port, topics.fleet_filter(topics.ALERTS), client_id="cloud-ingest").close()
    mosquitto.stop()
    conf = mosquitto.conf.read_text()
    mosquitto.conf.write_text(conf.replace("allow_anonymous true", "allow_anonymous false"))
    mosquitto.start()
    link, reg = _link(mosquitto.port, tmp_path)
    with caplog.at_level(logging.ERROR, logger="edge.mqtt_link"):
        link.start()
        for i in range(4):
            link.enqueue(alert_json("d1", i))
        assert wait_until(
            lambda: (
                (reg.get_sample_value("riverpatrol_edge_mqtt_link_errors_total", {"kind": "refused"}) or 0)
                >= 1
            ),
            5,
        )
    assert f"127.0.0.1:{mosquitto.port} refused the connection" in caplog.text
    assert link.outbox.depth() == 4 and not link.connected
    mosquitto.stop()
    mosquitto.conf.write_text(conf)
    mosquitto.start()
    assert link.wait_idle(10)
    sub = Collector(mosquitto.port, topics.fleet_filter(topics.ALERTS), client_id="cloud-ingest")
    assert sub.wait_for(lambda p: len(p) >= 4, 5)
    time.sleep(0.2)
    assert _indices("d1", sub.payloads()) == [0, 1, 2, 3]
    link.stop()
    sub.close()


def test_tls_link_verifies_the_broker_with_the_given_ca(mosquitto, tmp_path):
    d = tmp_path / "tls"
    d.mkdir()

    def ssl_cmd(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    ssl_cmd("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1", "-subj", "/CN=ca")
    ssl_cmd("req", *ec, "-keyout", "srv.key", "-out", "srv.csr", "-subj", "/CN=127.0.0.1")
    (d / "ext").write_text("subjectAltName=IP:127.0.0.1\n")
    sign = ["-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-extfile", "ext"]
    ssl_cmd("x509", "-req", "-in", "srv.csr", *sign, "-out", "srv.crt")
    for f in d.iterdir():
        f.chmod(0o644)  # mosquitto may drop to its own user
    mosquitto.stop()
    conf = mosquitto.conf.read_text()
    mosquitto.conf.write_text(conf + f"cafile {d}/ca.crt\ncertfile {d}/srv.crt\nkeyfile {d}/srv.key\n")
    mosquitto.start()
    link, _ = _link(mosquitto.port, tmp_path, tls=True, ca_file=str(d / "ca.crt"))
    link.start()
    assert wait_until(lambda: link.connected, 5), link.health().last_error
    link.enqueue(alert_json("d1", 0))
    assert link.wait_idle(5)
    link.stop()
    stranger, _ = _link(mosquitto.port, tmp_path, drone="d9", tls=True)  # system CAs: must refuse
    stranger.start()
    assert not wait_until(lambda: stranger.connected, 1.0)
    assert "certificate" in stranger.health().last_error.lower()
    stranger.stop()


def test_a_run_of_connections_closed_at_once_is_flapping_until_one_holds():
    w = ShortSessions(short_s=3.0, runs=3)
    for t in (0.0, 10.0):  # a radio dropout: the connection ended by the keep-alive, seconds in
        w.connected(t)
        assert not w.lost(t + 15.0)
    t = 100.0
    for k in range(1, 4):  # taken over 1 s after each connect
        w.connected(t)
        assert w.lost(t + 1.0) is (k == 3)
        t += 1.5
    assert w.flapping(t) and w.run == 3
    w.connected(t)
    assert w.flapping(t + 2.9)  # not yet held long enough to tell
    assert not w.flapping(t + 3.0) and w.run == 0  # the other client is gone: it holds


def test_two_drones_given_one_id_flap_and_say_so_and_lose_nothing(mosquitto, tmp_path, caplog):
    """Two agents set up alike (one drone_id, so one client id) take the broker session from each
    other every second. Each says what is wrong in its health and log; once one is given its own
    id the other holds, and every alert of both reaches the fleet, none lost."""
    caplog.set_level(logging.WARNING, logger="edge.mqtt_link")
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
    sub = Collector(mosquitto.port, topics.fleet_filter(topics.ALERTS))
    a, reg = _link(mosquitto.port, tmp_path / "a")
    b, _ = _link(mosquitto.port, tmp_path / "b")
    a.start()
    assert wait_until(lambda: a.connected, 5) and a.health().flapping == ""
    b.start()
    for i in range(20):
        a.enqueue(alert_json("d1", i))
        b.enqueue(alert_json("d1", 100 + i))
    assert wait_until(lambda: bool(a.health().flapping and b.health().flapping), 20)
    says = a.health().flapping
    assert "is another client connected as 'riverpatrol-edge-d1' (another drone given drone_id 'd1')" in says
    assert "mqtt link flapping" in caplog.text
    assert (reg.get_sample_value("riverpatrol_edge_mqtt_short_sessions_total") or 0) >= 3
    b.stop()
    left = b.outbox.depth()
    assert wait_until(lambda: a.health().flapping == "", 10)  # a holds its session again
    assert a.wait_idle(10)
    b2, _ = _link(mosquitto.port, tmp_path / "b", client_id="riverpatrol-edge-d1-spare")  # its own id
    b2.start()
    assert b2.wait_idle(10), f"{left} of b's alerts were left at its stop"
    assert sub.wait_for(lambda p: set(range(20)) | set(range(100, 120)) <= set(_indices("d1", p)), 10)
    b2.stop()
    a.stop()
    sub.close()
