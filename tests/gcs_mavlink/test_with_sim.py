"""The vehicle client and the edge telemetry link against the project's simulator (sim.vehicle).

The fake peer in ``tests/edge_telemetry/mavpeer.py`` pins protocol corners; this checks the
same calls against the full ArduPilot-like simulator: PreArm refusal while the EKF settles,
a mission round trip with MISSION_REQUEST, takeoff, AUTO, RTL, and the companion's view of it.
"""

from __future__ import annotations

import time

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mav

import contract.mavlink  # noqa: F401
from edge.settings import EdgeSettings
from edge.telemetry.link import TelemetryLink
from ground_station.mavlink import MissionItem, VehicleClient, waypoint
from sim.settings import VehicleSettings
from sim.vehicle import SimVehicle


def test_mission_flight_against_the_simulator() -> None:
    settings = VehicleSettings(tcp_port=0, udp_out=[], speedup=10, ekf_ready_s=15, params={"DISARM_DELAY": 0})
    with SimVehicle(settings) as sim:
        url = f"tcp:127.0.0.1:{sim.tcp_port}"
        edge = TelemetryLink(EdgeSettings(mavlink=url, link_timeout=2.0, stream_check_s=1.0)).start()
        client = VehicleClient.connect(url, heartbeat_timeout=10.0, timeout=1.0)
        try:
            refused = client.arm()
            assert not refused.accepted and refused.reason is not None and refused.reason.startswith("PreArm")
            home = sim.snapshot()
            items = [
                MissionItem(1, mav.MAV_CMD_NAV_TAKEOFF, alt=20.0),
                waypoint(2, home.lat + 0.0005, home.lon, 25.0),
                waypoint(3, home.lat + 0.0005, home.lon + 0.0005, 25.0),
            ]
            client.upload_mission(items)
            back = client.download_mission()
            assert [(b.seq, b.command) for b in back] == [(i.seq, i.command) for i in items]
            assert back[2].lat == pytest.approx(items[2].lat, abs=1e-6)
            client.wait_armable(20.0)
            client.set_mode("GUIDED")
            assert client.arm().accepted
            client.takeoff(15.0)
            truth = sim.wait_for(lambda s: s.alt_rel > 8.0, timeout=20.0)
            state = edge.snapshot()
            assert state.armed and state.mode == "GUIDED" and edge.health()["ok"]
            assert state.alt_rel_m == pytest.approx(truth.alt_rel, abs=3.0)
            t = state.position_time_boot_s - 0.05
            pose = edge.pose_at(t)
            assert pose.lat == pytest.approx(truth.lat, abs=1e-4) and pose.lon == pytest.approx(
                truth.lon, abs=1e-4
            )
            client.start_mission()
            deadline = time.monotonic() + 5
            while client.mode != "AUTO" and time.monotonic() < deadline:
                time.sleep(0.05)
            assert client.mode == "AUTO"
            client.rtl()
            assert edge.snapshot().counters.bad_data == 0
        finally:
            client.close()
            edge.stop()


def test_the_station_and_the_drone_hear_one_board_id_from_the_vehicle() -> None:
    """The flight controller's hardware id (AUTOPILOT_VERSION) is how a station tells which edge
    agent rides the vehicle it talks to: the agent asks for it and reports it, the station asks
    for it, and both read the same id; another board reads another. The agent also hears the
    autopilot's wind (WIND)."""
    board = 0xDEADBEEF12345678
    settings = VehicleSettings(
        tcp_port=0, udp_out=[], speedup=5, board_uid=board, wind_speed=6.0, wind_dir=90.0
    )
    with SimVehicle(settings) as sim, SimVehicle(VehicleSettings(tcp_port=0, udp_out=[], sysid=7)) as other:
        url = f"tcp:127.0.0.1:{sim.tcp_port}"
        edge = TelemetryLink(EdgeSettings(mavlink=url, link_timeout=2.0, stream_check_s=1.0)).start()
        try:
            with VehicleClient.connect(url, heartbeat_timeout=10.0, timeout=1.0) as client:
                assert client.board_id() == "deadbeef12345678" == client.board_id()  # asked once
                until = time.monotonic() + 10  # what a followed patrol's bar shows
                while (client.wind is None or client.battery_pct is None) and time.monotonic() < until:
                    time.sleep(0.05)
                assert client.battery_pct is not None and client.battery_pct >= 95 and client.wind is not None
                assert client.wind[0] == pytest.approx(6.0, abs=0.5) and client.wind[1] == pytest.approx(90.0)
            deadline = time.monotonic() + 10
            while edge.snapshot().board_id is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert edge.snapshot().board_id == "deadbeef12345678" == edge.health()["board_id"]
            while edge.snapshot().wind_mps is None and time.monotonic() < deadline:
                time.sleep(0.05)
            state = edge.snapshot()  # and the autopilot's wind, for the fleet dashboard
            assert state.wind_mps == pytest.approx(6.0, abs=0.5) and state.wind_from_deg == pytest.approx(
                90.0
            )
        finally:
            edge.stop()
        with VehicleClient.connect(f"tcp:127.0.0.1:{other.tcp_port}", heartbeat_timeout=10.0) as client:
            assert client.board_id() == f"{0x5250_0000 + 7:016x}"  # "RP" + its sysid, by default
