"""The geofence over real MAVLink: the ground station puts it on the simulator, which then will not
arm outside it (a breach in flight: tests/gcs_cli/test_mission_flight.py)."""

from __future__ import annotations

import math
import time

import contract.mavlink  # noqa: F401
from contract import geo
from contract.mavlink import fence_polygons
from ground_station.mavlink import VehicleClient
from ground_station.mavlink.mission import MAV_MISSION_TYPE_FENCE
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


def test_a_vehicle_outside_its_fence_will_not_arm_and_says_why() -> None:
    with _sim() as sim:
        client = VehicleClient.connect(f"tcp:127.0.0.1:{sim.tcp_port}", heartbeat_timeout=10.0, timeout=1.0)
        try:
            home = sim.snapshot()
            away = _square(home.lat, home.lon, 50.0, east_m=500.0)
            upload_fence(client, [(True, away)], 120.0, "rtl")
            (back,) = fence_polygons(client.download_mission(mission_type=MAV_MISSION_TYPE_FENCE))
            assert back[0] and all(math.dist(a, b) < 2e-7 for a, b in zip(back[1], away, strict=True))
            names = ("FENCE_ENABLE", "FENCE_TYPE", "FENCE_ACTION", "FENCE_ALT_MAX")
            assert [sim.call(lambda c, n=n: c.params[n]) for n in names] == [1, 5, 1, 120]
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
