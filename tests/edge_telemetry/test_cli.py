"""``riverpatrol edge telemetry`` against the fake autopilot: JSON snapshot and failure exit codes."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from edge.cli import app
from edge.settings import EdgeSettings
from edge.telemetry.link import TelemetryLink


def test_once_json_snapshot(make_peer) -> None:
    peer = make_peer(transport="tcp")
    result = CliRunner().invoke(app, ["telemetry", "--mavlink", peer.url, "--once", "--json"])
    assert result.exit_code == 0, result.output
    state = json.loads(result.stdout)
    assert state["system_id"] == 1 and state["mode"] == "STABILIZE"
    assert abs(state["lat"] - 22.5205) < 1e-6 and state["gps_fix_type"] == 3
    assert state["counters"]["accepted"] > 10 and state["last_heard_s"] < 1.0


def test_duration_without_vehicle_exits_nonzero(make_peer) -> None:
    peer = make_peer(transport="tcp", others_heartbeats=True)
    peer.silent = True  # the GCS/gimbal heartbeats are silenced too: nothing ever arrives
    result = CliRunner().invoke(app, ["telemetry", "--mavlink", peer.url, "--duration", "0.5"])
    assert result.exit_code == 1
    assert "no autopilot heartbeat" in result.output


def test_missing_serial_device_is_reported_and_retried() -> None:
    """A USB radio may be plugged in late: a missing device is counted and retried, never fatal."""
    link = TelemetryLink(EdgeSettings(mavlink="/dev/ttyRIVERPATROL0", reconnect_delay=0.2)).start()
    try:
        assert not link.wait_for_vehicle(2.0)
        assert link.fatal is None and link.connect_errors >= 2
        assert not link.health()["ok"]
    finally:
        link.stop()
