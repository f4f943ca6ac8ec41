"""A short simulated patrol for the edge agent's tests: real SITL, real camera feed, seeded scene.

A straight 60 m-wide river runs north from the simulator's home; the vehicle takes off from
home (water level), climbs to ``alt`` and flies a mission up the centreline. The camera feed
renders its view from the true pose; the truth of every frame is kept for scoring.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from pymavlink.dialects.v20 import ardupilotmega as mav

import contract.mavlink  # noqa: F401
from contract.camera import CameraModel
from contract.defaults import HOME_LAT, HOME_LON
from contract.geo import distance_m, offset
from contract.messages import Alert
from ground_station.mavlink import MissionItem, VehicleClient, waypoint
from sim.camera import RiverScene
from sim.camera.serve import FrameServer
from sim.settings import VehicleSettings
from sim.vehicle import SimVehicle

#: 960x540 is what the detector sees of a 1920x1080 frame (it letterboxes to 544x960), at a
#: quarter of the render cost.
FEED_CAMERA = CameraModel.default().scaled(960, 540)


@dataclass
class PatrolConfig:
    seed: int = 3
    n_debris: int = 16
    n_distractors: int = 10
    length_m: float = 260.0
    alt: float = 30.0
    speed_mps: float = 8.0
    speedup: float = 2.0
    fps: float = 3.0
    gps_noise_m: float = 0.0


class Patrol:
    """Vehicle + camera feed; ``fly()`` runs the mission and returns when it is done."""

    def __init__(self, cfg: PatrolConfig) -> None:
        self.cfg = cfg
        line = [offset(HOME_LAT, HOME_LON, n, 0.0) for n in (-60.0, cfg.length_m + 100.0)]
        self.scene = RiverScene(
            seed=cfg.seed,
            centerline=line,
            width_m=40.0,
            n_debris=cfg.n_debris,
            n_distractors=cfg.n_distractors,
            n_bridges=0,
        )
        self.vehicle = SimVehicle(
            VehicleSettings(
                tcp_port=0,
                udp_out=[],
                speedup=cfg.speedup,
                ekf_ready_s=1.0,
                gps_noise_m=cfg.gps_noise_m,
                seed=cfg.seed,
                # a quick landing where a test lands it: the slow last metres are nothing under test
                params={
                    "DISARM_DELAY": 0,
                    "WPNAV_SPEED": cfg.speed_mps * 100,
                    "WPNAV_SPEED_UP": 500,
                    "WPNAV_SPEED_DN": 300,
                    "LAND_SPEED": 150,
                    "LAND_ALT_LOW": 300,
                },
            )
        )
        self.feed: FrameServer | None = None

    def start(self) -> Patrol:
        self.vehicle.start()
        self.feed = FrameServer(self.scene, self.vehicle.snapshot, FEED_CAMERA, fps=self.cfg.fps).start()
        return self

    @property
    def mavlink(self) -> str:
        return f"tcp:127.0.0.1:{self.vehicle.tcp_port}"

    @property
    def camera(self) -> str:
        assert self.feed is not None
        return f"sim://127.0.0.1:{self.feed.port}"

    def fly(self, on_progress=None, timeout: float = 120.0) -> None:
        """Take off to ``alt`` and fly north ``length_m``; ``on_progress(fraction)`` now and then."""
        cfg = self.cfg
        end = offset(HOME_LAT, HOME_LON, cfg.length_m, 0.0)
        client = VehicleClient.connect(self.mavlink, heartbeat_timeout=10.0, timeout=1.0)
        try:
            client.upload_mission(
                [MissionItem(1, mav.MAV_CMD_NAV_TAKEOFF, alt=cfg.alt), waypoint(2, *end, cfg.alt)]
            )
            client.wait_armable(20.0)
            client.set_mode("GUIDED")
            assert client.arm().accepted
            client.takeoff(cfg.alt)
            self.vehicle.wait_for(lambda s: s.alt_rel > cfg.alt - 1.0, timeout=30.0)
            client.start_mission()
            deadline = time.monotonic() + timeout
            fired: set[int] = set()
            while time.monotonic() < deadline:
                s = self.vehicle.snapshot()
                done = distance_m(s.lat, s.lon, *end)
                frac = 1.0 - done / cfg.length_m
                for mark in (25, 50, 75):
                    if frac * 100 >= mark and mark not in fired and on_progress:
                        fired.add(mark)
                        on_progress(mark)
                if done < 3.0:
                    break
                time.sleep(0.05)
            else:
                raise TimeoutError("patrol did not reach its end")
            time.sleep(2.0 / cfg.speedup * 2)  # let the last frames reach the edge
        finally:
            client.close()

    def stop(self) -> None:
        if self.feed:
            self.feed.stop()
        self.vehicle.stop()

    # -- scoring --------------------------------------------------------------------------------

    def seen_items(self, min_visible: float = 0.8) -> dict[int, list[tuple[float, float]]]:
        """Debris items fully in view in some frame: id -> their truth positions in those frames."""
        assert self.feed is not None
        out: dict[int, list[tuple[float, float]]] = {}
        for fr in self.feed.truth:
            for b in fr["truth"]:
                if b["visible_fraction"] >= min_visible:
                    out.setdefault(b["item_id"], []).append((b["lat"], b["lon"]))
        return out

    def kind_of(self, item_id: int | None) -> str:
        return next((i.kind for i in self.scene.items if i.item_id == item_id), "?")

    def distractor_positions(self) -> dict[int, list[tuple[float, float]]]:
        assert self.feed is not None
        out: dict[int, list[tuple[float, float]]] = {}
        for fr in self.feed.truth:
            for b in fr["distractors"]:
                out.setdefault(b["item_id"], []).append((b["lat"], b["lon"]))
        return out


def nearest(alert: Alert, positions: dict[int, list[tuple[float, float]]]) -> tuple[int | None, float]:
    """The item whose truth came closest to the alert's position, and that distance (m)."""
    best, best_d = None, math.inf
    for item_id, pts in positions.items():
        d = min(distance_m(alert.lat, alert.lon, la, lo) for la, lo in pts)
        if d < best_d:
            best, best_d = item_id, d
    return best, best_d
