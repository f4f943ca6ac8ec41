"""A synthetic patrol for tracker tests: items on the water, a drone flying passes over them,
a noisy detector (misses, glints, wakes) and noisy sensors, all seeded.

Uses the shared camera model to decide where each item appears, and the real geolocation to
turn boxes back into positions, so the tracker sees what it would see in flight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from contract.camera import (
    CameraModel,
    CameraMount,
    CameraPose,
    camera_position_ned,
    pose_rotation,
    project_world_to_pixel,
)
from contract.geo import offset
from edge.geolocate import GeoConfig, GeoFix, geolocate_box
from edge.tracker import Sighting

REF_LAT, REF_LON = 22.5205, 114.0632
CAM = CameraModel.default()
MOUNT = CameraMount()


@dataclass(frozen=True)
class Item:
    north: float
    east: float
    cls: str
    score: float = 0.75  # mean detector score: wakes are low
    drift_east_mps: float = 0.0


@dataclass(frozen=True)
class Frame:
    t: float
    pose: CameraPose
    sightings: list[Sighting]
    truth: list[int]  # index of the item behind each sighting, -1 for a glint


def fly(
    items: list[Item],
    legs: list[tuple[float, float, float]],  # (start north, end north, yaw) per pass along east=0
    seed: int,
    speed: float = 5.0,
    fps: float = 5.0,
    gap_s: float = 15.0,
    alt: float = 30.0,
    p_detect: float = 0.9,
    p_glint: float = 0.3,
) -> list[Frame]:
    rng = np.random.default_rng(seed)
    geo = GeoConfig(camera=CAM, mount=MOUNT, tilt_sigma_deg=1.0, yaw_sigma_deg=1.5, gps_sigma_m=1.5)
    frames: list[Frame] = []
    t = 1_700_000_000.0
    for n0, n1, yaw in legs:
        bias = rng.normal(0, 1.2, 2)  # GNSS error is a slow bias over a pass plus jitter
        steps = int(abs(n1 - n0) / speed * fps)
        for k in range(steps + 1):
            north = n0 + (n1 - n0) * k / steps
            lat, lon = offset(REF_LAT, REF_LON, north, 0.0)
            true = CameraPose(lat=lat, lon=lon, alt_m=alt, yaw_deg=yaw)
            r = pose_rotation(true, MOUNT)
            c = camera_position_ned(true, REF_LAT, REF_LON, MOUNT)
            e_n, e_e = bias + rng.normal(0, 0.3, 2)
            slat, slon = offset(lat, lon, e_n, e_e)
            seen = CameraPose(
                lat=slat,
                lon=slon,
                alt_m=alt + rng.normal(0, 0.3),
                yaw_deg=yaw + rng.normal(0, 1.0),
                gimbal_pitch_deg=MOUNT.pitch_deg + rng.normal(0, 0.7),
            )
            sightings: list[Sighting] = []
            truth: list[int] = []
            for idx, it in enumerate(items):
                east = it.east + it.drift_east_mps * (t - 1_700_000_000.0)
                uv, front = project_world_to_pixel(np.array([[it.north, east, 0.0]]), c, r, CAM)
                u, v = uv[0]
                if not front[0] or not (15 < u < CAM.width - 15 and 15 < v < CAM.height - 15):
                    continue
                if rng.random() > p_detect:
                    continue
                u, v = u + rng.normal(0, 2), v + rng.normal(0, 2)
                score = it.score + rng.normal(0, 0.06)
                s = _sight((u - 14, v - 14, u + 14, v + 14), score, it.cls, seen, geo)
                if s:
                    sightings.append(s)
                    truth.append(idx)
            if rng.random() < p_glint:
                u, v = rng.uniform(50, CAM.width - 50), rng.uniform(50, CAM.height - 50)
                s = _sight((u - 10, v - 10, u + 10, v + 10), 0.9, "bottle", seen, geo)
                if s:
                    sightings.append(s)
                    truth.append(-1)
            frames.append(Frame(t, seen, sightings, truth))
            t += 1.0 / fps
        t += gap_s
    return frames


def _sight(box, score, cls, pose, geo) -> Sighting | None:
    fix = geolocate_box(box, pose, geo)
    if not isinstance(fix, GeoFix):
        return None
    return Sighting(
        box=box,
        score=float(np.clip(score, 0.0, 1.0)),
        class_name=cls,
        lat=fix.lat,
        lon=fix.lon,
        uncertainty_m=fix.uncertainty_m,
        off_nadir_deg=fix.off_nadir_deg,
    )


def item_latlon(it: Item) -> tuple[float, float]:
    return offset(REF_LAT, REF_LON, it.north, it.east)
