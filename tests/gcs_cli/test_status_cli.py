"""``gcs status --once --json`` against a real Mosquitto and drones that are real MQTT clients."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest

from contract.messages import Alert, TrackStats
from ground_station.fleet.mqtt import FleetListener
from ground_station.relay.outbox import RelayOutbox

KEEPALIVE_S = 5


@pytest.fixture
def drones(tmp_path: Path):
    """``start(port, drone_id, period)`` runs a fake drone process; all are killed after the test."""
    procs: list[subprocess.Popen[str]] = []

    def start(port: int, drone_id: str, period: float) -> subprocess.Popen[str]:
        p = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("fake_drone.py")), str(port), drone_id,
             str(KEEPALIVE_S), str(period)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).parents[2],
        )  # fmt: skip
        procs.append(p)
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()


def _status(gcs, port: int, *extra: str) -> dict:
    r = gcs(
        "status",
        "--once",
        "--json",
        "--broker",
        f"127.0.0.1:{port}",
        *extra,
        RIVERPATROL_GCS_STATUS_SETTLE_S="1.5",
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _one_alert(drone_id: str) -> Alert:
    now = datetime.now(UTC)
    return Alert(
        alert_id=uuid4(), revision=0, event="new", drone_id=drone_id, mission_id="m1",
        captured_at=now, published_at=now, lat=22.52, lon=114.06, uncertainty_m=3.0,
        debris_class="bottle", confidence=0.9,
        track=TrackStats(sightings=3, first_seen=now, last_seen=now, top_score=0.9, median_score=0.8),
    )  # fmt: skip


def test_killed_drone_shows_offline_within_keepalive(mosquitto, gcs, drones, tmp_path: Path) -> None:
    box = RelayOutbox(tmp_path / "gcs" / "relay.db")
    alert = _one_alert("river-1")
    box.put(alert.model_dump(mode="json"), alert.model_dump_json())
    box.close()

    flying = drones(mosquitto.port, "river-1", 0.25)
    drones(mosquitto.port, "river-2", 0)  # connected, but sends telemetry once only
    snap = _status(gcs, mosquitto.port, "--stale-after", "1")
    by_id = {d["drone_id"]: d for d in snap["drones"]}
    one = by_id["river-1"]
    assert one["link"] == "online" and one["last_heard_s"] < 1.0
    assert (one["mode"], one["armed"], one["battery_pct"], one["satellites"]) == ("AUTO", True, 76.0, 14)
    assert (one["mission_item"], one["mission_count"], one["mission_pct"]) == (4, 10, 30.0)
    assert (one["alerts_this_flight"], one["outbox_backlog"]) == (5, 2)
    assert by_id["river-2"]["link"] == "stale"  # silent for longer than the keep-alive window
    assert snap["relay"]["backlog"] == 1 and snap["broker_connected"]
    # the table, printed to a log (not a terminal), is whole: no header or cell cut to "…"
    where = f"127.0.0.1:{mosquitto.port}"
    table = gcs("status", "--once", "--broker", where, RIVERPATROL_GCS_STATUS_SETTLE_S="1.5")
    assert table.returncode == 0, table.stderr
    header = next(line for line in table.stdout.splitlines() if "drone" in line and "outbox" in line)
    assert [c.strip() for c in header.strip("┃ ").split("┃")][:4] == ["drone", "link", "heard", "mode"]
    assert "…" not in table.stdout and "river-1" in table.stdout and "AUTO" in table.stdout
    assert "broker_disconnected" not in table.stderr  # its own disconnect on the way out is no warning

    live = FleetListener("127.0.0.1", mosquitto.port, stale_after_s=KEEPALIVE_S).start()
    try:
        assert live.connected.wait(5) and live.subscribed.wait(5)
        _wait_link(live, "river-1", "online", 3.0, with_telemetry=True)
        killed_at = time.monotonic()
        flying.send_signal(signal.SIGKILL)  # vanishes without DISCONNECT: the broker sends its last will
        flying.wait()
        row = _wait_link(live, "river-1", "offline", KEEPALIVE_S * 1.5)
        live_s = time.monotonic() - killed_at
        assert row.mode == "AUTO" and row.battery_pct == 76.0  # the last known state stays on the dashboard
    finally:
        live.stop()
    print(f"live dashboard: offline {live_s:.2f} s after kill -9 (keep-alive {KEEPALIVE_S} s)")
    snap = _status(gcs, mosquitto.port)  # a fresh one-shot sees the retained last will
    one = next(d for d in snap["drones"] if d["drone_id"] == "river-1")
    assert one["link"] == "offline"
    assert time.monotonic() - killed_at < KEEPALIVE_S * 1.5


def _wait_link(
    listener: FleetListener, drone_id: str, link: str, timeout: float, with_telemetry: bool = False
):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows, _, _ = listener.rows()
        row = next((r for r in rows if r.drone_id == drone_id), None)
        if row is not None and row.link.value == link and (row.mode is not None or not with_telemetry):
            return row
        time.sleep(0.02)
    raise AssertionError(f"{drone_id} not {link} within {timeout}s: {row}")


def test_bad_payload_is_counted_and_named(mosquitto, gcs) -> None:
    import paho.mqtt.publish as publish

    publish.single("riverpatrol/v1/river-9/status", "not json", qos=1, retain=True, hostname="127.0.0.1",
                   port=mosquitto.port)  # fmt: skip
    snap = _status(gcs, mosquitto.port)
    assert snap["rejected_messages"] == 1
    assert "riverpatrol/v1/river-9/status" in snap["last_error"]
    assert snap["drones"] == []


def test_unreachable_broker_exits_4(gcs) -> None:
    from tests.conftest import free_port

    port = free_port()
    r = gcs("status", "--once", "--broker", f"127.0.0.1:{port}", RIVERPATROL_GCS_STATUS_SETTLE_S="0.5")
    assert r.returncode == 4
    assert f"127.0.0.1:{port}" in r.stderr


def test_live_dashboard_redraws_until_interrupted(mosquitto, gcs_bg, drones) -> None:
    drones(mosquitto.port, "river-7", 0.5)
    import httpx

    from tests.conftest import free_port, wait_port

    metrics = free_port()
    p = gcs_bg(
        "status",
        "--broker",
        f"127.0.0.1:{mosquitto.port}",
        "--metrics-port",
        str(metrics),
        RIVERPATROL_GCS_STATUS_REFRESH_S="0.2",
    )
    wait_port(metrics)
    time.sleep(1.5)
    text = httpx.get(f"http://127.0.0.1:{metrics}/metrics").text
    assert 'riverpatrol_gcs_fleet_drones{link="online"} 1.0' in text
    assert "riverpatrol_gcs_fleet_broker_up 1.0" in text
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=10)
    assert p.returncode == 0, err
    assert "river-7" in out and "online" in out and "item 4 of 10 (30%)" in out
