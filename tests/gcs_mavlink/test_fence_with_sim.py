"""The geofence over real MAVLink: the ground station puts it on the simulator, which then will not
arm outside it and turns back (RTL) when a mission leads out of it."""

from __future__ import annotations

import time

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mav

import contract.mavlink  # noqa: F401
from contract import geo
from ground_station.mavlink import MissionItem, VehicleClient, waypoint
from ground_station.mavlink.mission import MAV_MISSION_TYPE_FENCE, fence_polygons
from ground_station.missions.geofence import upload_fence
from sim.settings import VehicleSettings
from sim.vehicle import SimVehicle


def _square(lat: float, lon: float, half_m: float, east_m: float = 0.0) -> tuple[tuple[float, float], ...]:
    return tuple(
        geo.offset(lat, lon, n, e + east_m)
        for n, e in ((-half_m, -half_m), (-half_m, half_m), (half_m, half_m), (half_m, -half_m))
    )


def _sim() -> SimVehicle:
    return SimVehicle(
        VehicleSettings(tcp_port=0, udp_out=[], speedup=10, ekf_ready_s=15, params={"DISARM_DELAY": 0})
    )


def test_a_mission_leading_out_of_the_fence_turns_home_at_the_fence() -> None:
    with _sim() as sim:
        client = VehicleClient.connect(f"tcp:127.0.0.1:{sim.tcp_port}", heartbeat_timeout=10.0, timeout=1.0)
        try:
            home = sim.snapshot()
            fence = _square(home.lat, home.lon, 100.0)
            beyond = geo.offset(home.lat, home.lon, 400.0, 0.0)
            client.upload_mission(
                [MissionItem(1, mav.MAV_CMD_NAV_TAKEOFF, alt=20.0), waypoint(2, *beyond, 20.0)]
            )
            upload_fence(client, [(True, fence)], alt_max_m=120.0, action="rtl")
            back = fence_polygons(client.download_mission(mission_type=MAV_MISSION_TYPE_FENCE))
            assert back[0][0] and len(back[0][1]) == 4
            names = ("FENCE_ENABLE", "FENCE_TYPE", "FENCE_ACTION", "FENCE_ALT_MAX")
            assert [sim.call(lambda c, n=n: c.params[n]) for n in names] == [1, 5, 1, 120]
            assert client.download_mission()[1].lat == pytest.approx(
                beyond[0], abs=1e-6
            )  # the plan is intact

            client.wait_armable(20.0)
            client.set_mode("GUIDED")
            assert client.arm().accepted
            client.takeoff(15.0)
            sim.wait_for(lambda s: s.alt_rel > 10.0, timeout=20.0)
            with client._subscription() as q:
                client.start_mission()
                breach = client._wait(q, {"STATUSTEXT"}, 30.0, lambda m: m.text.startswith("Fence Breached"))
            assert breach is not None and breach.text == "Fence Breached: Polygon"
            truth = sim.wait_for(lambda s: s.mode_name == "RTL", timeout=5.0)
            north, _ = geo.to_local(home.lat, home.lon, truth.lat, truth.lon)
            assert 90.0 < north < 140.0  # it turned at the fence, 100 m out, not at the waypoint 400 m out
            deadline = time.monotonic() + 10
            while geo.to_local(home.lat, home.lon, sim.snapshot().lat, sim.snapshot().lon)[0] > 60.0:
                assert time.monotonic() < deadline, "the vehicle did not come back inside the fence"
                time.sleep(0.1)
        finally:
            client.close()


def test_a_vehicle_outside_its_fence_will_not_arm_and_says_why() -> None:
    with _sim() as sim:
        client = VehicleClient.connect(f"tcp:127.0.0.1:{sim.tcp_port}", heartbeat_timeout=10.0, timeout=1.0)
        try:
            home = sim.snapshot()
            upload_fence(client, [(True, _square(home.lat, home.lon, 50.0, east_m=500.0))], 120.0, "rtl")
            client.set_mode("GUIDED")
            deadline = time.monotonic() + 20
            while True:
                refused = client.arm()
                assert not refused.accepted
                if refused.reason and "Fence" in refused.reason:
                    break
                assert time.monotonic() < deadline, refused.reason
                time.sleep(0.3)
            assert refused.reason == "PreArm: Fence: vehicle outside the Polygon fence"
            client.set_param("FENCE_ENABLE", 0)  # the operator's way out: turn it off, and it arms
            assert client.arm().accepted
        finally:
            client.close()
