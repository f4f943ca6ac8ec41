"""Pixel -> point on the water, with an honest ~95% uncertainty radius.

The projection itself is ``contract.camera`` (the simulator renders with the same functions),
so this module only adds what the edge agent needs on top: a typed result instead of NaN for
rays that never reach the water, and an error budget.

Uncertainty is propagated with a *sampled Jacobian*: the ground point is recomputed with each
error source nudged by a small step (camera tilt about north and east, heading, altitude above
the water, pixel u and v), giving a 2x6 matrix J of metres per unit error. With the 1-sigma
errors in a diagonal matrix S, the horizontal covariance is ``J S^2 J^T + gps_sigma^2 I``.
The reported radius is the circle holding ``confidence`` of a 2-D Gaussian whose both axes had
the larger eigenvalue: ``sqrt(-2 ln(1 - confidence) * lambda_max)``: conservative for
elongated ellipses (oblique views), exact for round ones (nadir views).
Linearisation understates the far tail of very oblique rays, which is why hits farther than
``max_range_m`` are refused rather than reported with a radius nobody should trust.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from contract.camera import (
    CameraModel,
    CameraMount,
    CameraPose,
    camera_position_ned,
    intersect_water,
    pixel_ray,
    pose_rotation,
    rotation_zyx,
)
from contract.geo import offset

#: Finite-difference steps: small enough to stay linear, large enough to dodge rounding.
_ANGLE_STEP_DEG = 0.05
_ALT_STEP_M = 0.05
_PIXEL_STEP_PX = 0.5
_EYE = np.eye(3)


@dataclass(frozen=True, slots=True)
class GeoConfig:
    """Camera calibration plus the 1-sigma error of every input the ground point depends on.

    ``camera`` must describe the frames the detector saw (use ``CameraModel.scaled`` when the
    detector runs on a resized stream).
    """

    camera: CameraModel = field(default_factory=CameraModel.default)
    mount: CameraMount = field(default_factory=CameraMount)
    tilt_sigma_deg: float = 1.0  # camera pointing error about north and east (attitude or gimbal)
    yaw_sigma_deg: float = 2.0  # heading error: compasses are worse than tilt sensors
    altitude_sigma_m: float = 1.0  # height above the water: baro drift plus unknown water level
    gps_sigma_m: float = 1.5  # horizontal GNSS error, per axis
    pixel_sigma_px: float = 3.0  # box-centre error of the detector, per axis
    max_range_m: float = 300.0  # water hits farther than this (horizontally) are too grazing to use
    confidence: float = 0.95

    def __post_init__(self) -> None:
        for name in ("tilt_sigma_deg", "yaw_sigma_deg", "altitude_sigma_m", "gps_sigma_m", "pixel_sigma_px"):
            if getattr(self, name) < 0:
                raise ValueError(f"GeoConfig.{name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 < self.confidence < 1.0:
            raise ValueError(f"GeoConfig.confidence must be in (0, 1), got {self.confidence}")
        if self.max_range_m <= 0:
            raise ValueError(f"GeoConfig.max_range_m must be > 0, got {self.max_range_m}")


@dataclass(frozen=True, slots=True)
class GeoFix:
    """Where a pixel lands on the water."""

    lat: float
    lon: float
    uncertainty_m: float  # radius holding the item with ``GeoConfig.confidence``
    north_m: float  # offset from the vehicle's reported position
    east_m: float
    range_m: float  # horizontal distance from the camera
    slant_m: float  # straight-line distance from the camera: how close the look was
    off_nadir_deg: float  # 0 = straight down: the tracker prefers views close to nadir


@dataclass(frozen=True, slots=True)
class NoGroundIntersection:
    """The pixel's ray does not give a usable water point; ``reason`` says why."""

    reason: str


def _water_hit(cam_pos: np.ndarray, ray: np.ndarray) -> np.ndarray:
    """Where one world ray from ``cam_pos`` meets the water; NaNs when it misses."""
    return intersect_water(cam_pos, ray[None, :])[0]


def radius_from_covariance(cov: np.ndarray, confidence: float) -> float:
    """Circle radius holding ``confidence`` of N(0, cov) (2x2), using the larger eigenvalue."""
    lam = float(np.max(np.linalg.eigvalsh(cov)))
    return math.sqrt(-2.0 * math.log(1.0 - confidence) * max(lam, 0.0))


def geolocate_pixel(u: float, v: float, pose: CameraPose, cfg: GeoConfig) -> GeoFix | NoGroundIntersection:
    """The water point seen at distorted pixel (u, v) from ``pose``, or why there is none."""
    if not (math.isfinite(u) and math.isfinite(v)):
        return NoGroundIntersection(f"pixel ({u}, {v}) is not finite")
    cam = cfg.camera
    r0 = pose_rotation(pose, cfg.mount)
    c0 = camera_position_ned(pose, pose.lat, pose.lon, cfg.mount)
    ray = pixel_ray(u, v, r0, cam)[0]
    if ray[2] <= 1e-9:
        return NoGroundIntersection(
            f"pixel ({u:.1f}, {v:.1f}) looks {math.degrees(math.asin(min(1.0, -ray[2]))):.1f} deg "
            "above the horizon: no ground intersection"
        )
    if c0[2] >= 0:
        return NoGroundIntersection(f"camera is not above the water (alt {pose.alt_m} m)")

    a = math.radians(_ANGLE_STEP_DEG)
    # Undistort the three pixels once, in the camera frame; rotate the base ray for the angles.
    us, vs = np.array([u, u + _PIXEL_STEP_PX, u]), np.array([v, v, v + _PIXEL_STEP_PX])
    cam_rays = pixel_ray(us, vs, _EYE, cam)
    base, du_ray, dv_ray = (r0 @ d for d in cam_rays)
    c_up = c0 + np.array([0.0, 0.0, -_ALT_STEP_M])
    hits = np.stack(
        [
            _water_hit(c0, base),
            _water_hit(c0, du_ray),
            _water_hit(c0, dv_ray),
            _water_hit(c0, rotation_zyx(_ANGLE_STEP_DEG, 0, 0) @ base),
            _water_hit(c0, rotation_zyx(0, _ANGLE_STEP_DEG, 0) @ base),
            _water_hit(c0, rotation_zyx(0, 0, _ANGLE_STEP_DEG) @ base),
            _water_hit(c_up, base),
        ]
    )
    if not np.isfinite(hits).all():
        return NoGroundIntersection(f"pixel ({u:.1f}, {v:.1f}) is within a hair of the horizon")
    p = hits[0]
    rng = math.hypot(p[0] - c0[0], p[1] - c0[1])
    if rng > cfg.max_range_m:
        return NoGroundIntersection(
            f"pixel ({u:.1f}, {v:.1f}) meets the water {rng:.0f} m away, "
            f"beyond max_range_m={cfg.max_range_m:g}"
        )

    d = hits[:, :2] - p[:2]  # metres moved per step of each error source
    jac = np.stack(
        [
            d[3] / a,  # tilt about north, per rad
            d[4] / a,  # tilt about east, per rad
            d[5] / a,  # heading, per rad
            d[6] / _ALT_STEP_M,  # altitude, per m
            d[1] / _PIXEL_STEP_PX,  # pixel u, per px
            d[2] / _PIXEL_STEP_PX,  # pixel v, per px
        ],
        axis=1,
    )
    sig = np.array(
        [
            math.radians(cfg.tilt_sigma_deg),
            math.radians(cfg.tilt_sigma_deg),
            math.radians(cfg.yaw_sigma_deg),
            cfg.altitude_sigma_m,
            cfg.pixel_sigma_px,
            cfg.pixel_sigma_px,
        ]
    )
    cov = (jac * sig**2) @ jac.T + np.eye(2) * cfg.gps_sigma_m**2
    lat, lon = offset(pose.lat, pose.lon, float(p[0]), float(p[1]))
    return GeoFix(
        lat=lat,
        lon=lon,
        uncertainty_m=radius_from_covariance(cov, cfg.confidence),
        north_m=float(p[0]),
        east_m=float(p[1]),
        range_m=rng,
        slant_m=float(np.linalg.norm(p - c0)),
        off_nadir_deg=math.degrees(math.acos(min(1.0, float(ray[2])))),
    )


def geolocate_box(
    box: tuple[float, float, float, float], pose: CameraPose, cfg: GeoConfig
) -> GeoFix | NoGroundIntersection:
    """Geolocate a detection box by its centre: floating debris lies flat, so the centre is on the water."""
    x1, y1, x2, y2 = box
    return geolocate_pixel((x1 + x2) / 2.0, (y1 + y2) / 2.0, pose, cfg)


def ground_sample_distance(pose: CameraPose, cfg: GeoConfig) -> float | None:
    """Metres of water per pixel at the image centre (the geometric mean of its two axes), or None
    when the centre does not see the water. What the detector needs to run a frame at the ground
    scale its model was trained at, whatever the altitude and camera (``Detector.detect(gsd_m=)``)."""
    cam = cfg.camera
    r0 = pose_rotation(pose, cfg.mount)
    c0 = camera_position_ned(pose, pose.lat, pose.lon, cfg.mount)
    rays = pixel_ray(np.array([cam.cx, cam.cx + 1, cam.cx]), np.array([cam.cy, cam.cy, cam.cy + 1]), r0, cam)
    hits = intersect_water(c0, rays)
    if not np.isfinite(hits).all():
        return None
    du, dv = hits[1, :2] - hits[0, :2], hits[2, :2] - hits[0, :2]
    area = abs(float(du[0] * dv[1] - du[1] * dv[0]))
    return math.sqrt(area) if area > 0 else None
