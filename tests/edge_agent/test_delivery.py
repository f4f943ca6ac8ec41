"""Delivery through the whole agent: a broker outage mid-patrol, and ``kill -9`` with a restart.

These check delivery, not detection: the detector runs at a low threshold on a scene where the
shipped model raises many boxes, so the patrol makes plenty of alert traffic. The broker outage
lasts ``RIVERPATROL_TEST_OUTAGE_S`` seconds (default 15 to keep the suite short; the issue's
60 s outage: ``RIVERPATROL_TEST_OUTAGE_S=60``, ~1.5 min).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from contract import topics
from contract.messages import Alert, Flight
from edge.agent import EdgeAgent
from edge.mqtt_link import LinkConfig
from edge.settings import EdgeSettings
from ground_station.mavlink import VehicleClient
from tests.edge_alerts.mqtt_helpers import Collector, wait_until

OUTAGE_S = float(os.environ.get("RIVERPATROL_TEST_OUTAGE_S", "15"))
#: Delivery tests need alert traffic, not accuracy: a low threshold makes the shipped model talk.
TRAFFIC_THRESHOLD = 0.3
REPO = Path(__file__).resolve().parents[2]


def _keys(sub: Collector) -> list[tuple[tuple[str, int], bool]]:
    with sub._lock:
        msgs = list(sub.messages)
    out = []
    for m in msgs:
        a = Alert.model_validate_json(m.payload)
        out.append(((str(a.alert_id), a.revision), bool(m.dup)))
    return out


def _assert_no_silent_duplicates(
    keys: list[tuple[tuple[str, int], bool]], delivered_before_outage: int = 0, in_flight: int = 0
) -> None:
    """Every second copy carries the DUP flag, except (QoS 1 cannot avoid it, see ``edge.mqtt_link``)
    up to ``in_flight`` alerts whose first copy arrived before the outage: the broker forwarded
    them, and their PUBACKs were lost with the connection, so the outbox sent them again."""
    first: dict[tuple[str, int], int] = {}
    silent = []
    for i, (k, dup) in enumerate(keys):
        if k in first and not dup:
            assert first[k] < delivered_before_outage, f"alert {k} delivered twice without the DUP flag"
            silent.append(k)
        first.setdefault(k, i)
    assert len(set(silent)) <= in_flight, f"{len(set(silent))} alerts resent after the outage: {silent}"


def test_broker_outage_mid_patrol_loses_and_duplicates_nothing(mosquitto, tmp_path, patrol_factory):
    patrol = patrol_factory(seed=5, length_m=150.0, speedup=3.0)
    sub = Collector(mosquitto.port, topics.fleet_filter(topics.ALERTS), client_id="cloud-outage")
    settings = EdgeSettings(
        mavlink=patrol.mavlink,
        camera=patrol.camera,
        broker_port=mosquitto.port,
        outbox_path=tmp_path / "outbox.db",
        drone_id="d1",
        score_threshold=TRAFFIC_THRESHOLD,
    )
    agent = EdgeAgent(settings).start()
    down_at: list[float] = []

    delivered_before: list[int] = []

    def outage(mark: int) -> None:
        if mark == 25:
            mosquitto.stop()
            down_at.append(time.monotonic())
            delivered_before.append(len(sub.payloads()))

    try:
        patrol.fly(on_progress=outage)
        assert down_at, "the outage never started"
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at[0])))
        queued = agent.outbox.depth()
        status = agent.status()
        assert not status.broker_connected
        assert queued > 0, "nothing was queued during the outage: the test would prove nothing"
        mosquitto.start()
        assert agent.link.wait_idle(20), "outbox did not drain after the broker came back"
    finally:
        agent.stop()
    built = agent.alerts_this_flight
    assert sub.wait_for(lambda p: len({x for x in p}) >= built, 10)
    time.sleep(0.3)
    keys = _keys(sub)
    assert len({k for k, _ in keys}) == built, "alerts lost (or invented) across the outage"
    _assert_no_silent_duplicates(keys, delivered_before[0], agent.link.cfg.max_inflight)
    print(f"outage {OUTAGE_S:.0f} s: {queued} queued while down, {built} alerts, {len(keys)} deliveries")
    sub.close()


def _agent_cmd(patrol, port: int, outbox: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "riverpatrol",
        "edge",
        "run",
        "--mavlink",
        patrol.mavlink,
        "--camera",
        patrol.camera,
        "--broker",
        f"127.0.0.1:{port}",
        "--drone-id",
        "d1",
        "--outbox",
        str(outbox),
        "--plain",
    ]


def _pending(db: Path) -> set[tuple[str, int]]:
    """The outbox's rows; none before the agent has made its file and table."""
    if not db.exists():
        return set()
    with sqlite3.connect(db) as c:
        try:
            return {(a, r) for a, r in c.execute("SELECT alert_id, revision FROM outbox")}
        except sqlite3.OperationalError:  # no table yet
            return set()


def test_kill_9_and_restart_resends_exactly_what_was_not_acknowledged(mosquitto, tmp_path, patrol_factory):
    patrol = patrol_factory(seed=5, length_m=150.0, speedup=3.0)
    sub = Collector(mosquitto.port, topics.fleet_filter(topics.ALERTS), client_id="cloud-kill")
    flights = Collector(mosquitto.port, topics.fleet_filter(topics.FLIGHTS), client_id="cloud-flights")
    db = tmp_path / "outbox.db"
    env = {**os.environ, "RIVERPATROL_EDGE_SCORE_THRESHOLD": str(TRAFFIC_THRESHOLD)}
    log1 = (tmp_path / "agent1.log").open("w")
    first = subprocess.Popen(
        _agent_cmd(patrol, mosquitto.port, db), cwd=REPO, env=env, stdout=log1, stderr=log1
    )
    log1_path = tmp_path / "agent1.log"
    try:
        # A loaded machine can start the agent late; fly only once it has the vehicle.
        assert wait_until(lambda: "event=vehicle_locked" in log1_path.read_text(), 60), (
            f"the agent never locked on the vehicle: {log1_path.read_text()[-2000:]}"
        )
        patrol.fly(on_progress=lambda mark: mark == 25 and mosquitto.stop())  # 3/4 of the patrol offline
        before_outage = _keys(sub)
        delivered_before = {k for k, _ in before_outage}
        # ...and its detector may lag the feed: give it time to queue what it saw while offline.
        assert wait_until(lambda: bool(_pending(db)), 30), (
            f"nothing pending at the kill, the test would prove nothing: {log1_path.read_text()[-2000:]}"
        )
        os.kill(first.pid, signal.SIGKILL)
        killed_at = patrol.vehicle.snapshot().unix_time  # the vehicle's clock: the record's
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
        log1.close()
    pending = _pending(db)  # what the killed agent left unacknowledged
    mosquitto.start()
    log2 = (tmp_path / "agent2.log").open("w")
    second = subprocess.Popen(
        _agent_cmd(patrol, mosquitto.port, db), cwd=REPO, env=env, stdout=log2, stderr=log2
    )
    try:
        assert sub.wait_for(lambda p: {k for k, _ in _keys(sub)} >= delivered_before | pending, 30), (
            "the restarted agent did not resend the unacknowledged alerts"
        )
        # the flight goes on under the new agent, and lands: its record is the whole flight's
        client = VehicleClient.connect(patrol.mavlink, heartbeat_timeout=10.0, timeout=2.0)
        try:
            client.set_mode("LAND")
        finally:
            client.close()
        patrol.vehicle.wait_for(lambda s: not s.armed, timeout=60.0)
        assert flights.wait_for(lambda p: len(p) == 1, 20), "the landed flight was not sent"
    finally:
        second.send_signal(signal.SIGTERM)
        rc = second.wait(30)
        log2.close()
    out = (tmp_path / "agent2.log").read_text()
    assert rc == 0, out[-2000:]
    assert "stopped;" in out
    keys = _keys(sub)
    # Nothing acknowledged was sent again. What the broker forwarded while its PUBACK was lost with
    # the outage (at-least-once, ``edge.mqtt_link``) stayed in the outbox: at most the in-flight
    # window, and only those go out twice without the DUP flag.
    in_flight = LinkConfig(drone_id="d1").max_inflight  # the agent's, by default
    assert len(delivered_before & pending) <= in_flight, "an acknowledged alert was still in the outbox"
    _assert_no_silent_duplicates(keys, len(before_outage), in_flight)
    assert _pending(db) == set() or "NOT drained" in out
    print(f"kill -9: {len(delivered_before)} delivered before, {len(pending)} unacknowledged resent")
    sub.close()
    (flight,) = [Flight.model_validate_json(p) for p in flights.payloads()]
    flights.close()
    assert flight.armed_at.timestamp() < killed_at  # from the take-off the killed agent heard ...
    assert flight.distance_m > patrol.cfg.length_m - 10  # ... the whole patrol, not its end alone
    assert [m.mode for m in flight.modes][-2:] == ["AUTO", "LAND"]
