"""The one camera model the simulator renders with and the edge agent geolocates with.

Both sides call the same pure functions here, so a pixel the simulator draws an item at is
exactly the pixel the edge agent turns back into the item's lat/lon.

Frame conventions (all angles in the API are degrees, all distances metres):

* **World NED**: north, east, down metres in the local tangent plane of a reference point
  (``contract.geo.offset`` / ``contract.geo.to_local``). The water surface is the plane
  ``down = 0``; a camera ``alt_m`` above the water sits at ``down = -alt_m``.
* **Vehicle body FRD**: forward, right, down. Attitude is ArduPilot's roll/pitch/yaw, applied
  as ZYX Euler angles: ``R_world_from_body = Rz(yaw) @ Ry(pitch) @ Rx(roll)``; yaw is clockwise
  from true north, positive pitch is nose up, positive roll is right wing down.
* **Gimbal**: a frame rotated from the body by the mount's yaw offset, pitch and roll (same
  ZYX order). Gimbal pitch ``-90`` looks straight down, ``0`` looks at the horizon. A
  *stabilized* mount (a 3-axis gimbal, the default) holds pitch and roll against the horizon,
  so only the vehicle's yaw reaches the camera; a hard mount inherits the full attitude.
* **Camera optical frame** (OpenCV): x right, y down, z forward along the optical axis.
* **Pixels** (OpenCV): ``(u, v)`` with the centre of the top-left pixel at ``(0, 0)``;
  the image spans ``[-0.5, width - 0.5] x [-0.5, height - 0.5]``. Distortion is OpenCV's
  ``k1, k2, p1, p2, k3`` model applied to normalized coordinates.

With a nadir camera and yaw 0, image right is east and image up is north.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from contract.geo import offset, to_local

#: Default profile: a common 1/2.3"-1" drone camera recording 1920x1080 (16:9 crop of a
#: ~84 deg diagonal 4:3 lens), 73 deg horizontal / ~45 deg vertical / ~81 deg diagonal,
#: with the small residual barrel distortion left after in-camera correction.
DEFAULT_WIDTH = 1920
DEFAULT_HEIGHT = 1080
DEFAULT_HFOV_DEG = 73.0
DEFAULT_DISTORTION = (-0.02, 0.008, 0.0, 0.0, 0.0)
#: The diagonal of a 36 x 24 mm frame: a lens's "35 mm-equivalent" focal length (EXIF
#: ``FocalLengthIn35mmFilm``) gives the field of view it would have there, diagonal to diagonal.
FULL_FRAME_DIAGONAL_MM = math.hypot(36.0, 24.0)


def focal_px_from_35mm(focal_35mm_mm: float, width: int, height: int) -> float:
    """The focal length in pixels of a ``width`` x ``height`` image whose lens is quoted at
    ``focal_35mm_mm`` 35 mm-equivalent (the same diagonal field of view)."""
    return focal_35mm_mm / FULL_FRAME_DIAGONAL_MM * math.hypot(width, height)


def focal_35mm_from_px(focal_px: float, width: int, height: int) -> float:
    """The inverse of ``focal_px_from_35mm``."""
    return focal_px / math.hypot(width, height) * FULL_FRAME_DIAGONAL_MM


class CameraModel(BaseModel):
    """Pinhole intrinsics plus OpenCV distortion; a calibration file is this model as JSON."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    width: int = Field(gt=0)
    height: int = Field(gt=0)
    fx: float = Field(gt=0)
    fy: float = Field(gt=0)
    cx: float
    cy: float
    k1: float = 0.0
    k2: float = 0.0
    p1: float = 0.0
    p2: float = 0.0
    k3: float = 0.0
    name: str = ""

    @classmethod
    def from_hfov(
        cls,
        width: int,
        height: int,
        hfov_deg: float,
        distortion: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0),
        name: str = "",
    ) -> Self:
        """Square pixels, centred principal point, focal length from the horizontal field of view."""
        if not 1.0 < hfov_deg < 179.0:
            raise ValueError(f"hfov_deg must be in (1, 179), got {hfov_deg}")
        f = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
        k1, k2, p1, p2, k3 = distortion
        return cls(
            width=width,
            height=height,
            fx=f,
            fy=f,
            cx=(width - 1) / 2.0,
            cy=(height - 1) / 2.0,
            k1=k1,
            k2=k2,
            p1=p1,
            p2=p2,
            k3=k3,
            name=name,
        )

    @classmethod
    def default(cls) -> Self:
        """The default drone camera profile (see ``DEFAULT_*`` above)."""
        return cls.from_hfov(
            DEFAULT_WIDTH, DEFAULT_HEIGHT, DEFAULT_HFOV_DEG, DEFAULT_DISTORTION, name="drone-1080p-73h"
        )

    @classmethod
    def load(cls, path: Path | str) -> Self:
        """Read a JSON calibration file; errors name the file."""
        p = Path(path)
        try:
            return cls.model_validate(json.loads(p.read_text()))
        except (OSError, ValueError) as e:
            raise ValueError(f"camera calibration {p}: {e}") from e

    def save(self, path: Path | str) -> None:
        Path(path).write_text(self.model_dump_json(indent=2) + "\n")

    def scaled(self, width: int, height: int) -> CameraModel:
        """The same lens at another resolution (e.g. a detector's input size)."""
        sx, sy = width / self.width, height / self.height
        return self.model_copy(
            update={
                "width": width,
                "height": height,
                "fx": self.fx * sx,
                "fy": self.fy * sy,
                "cx": (self.cx + 0.5) * sx - 0.5,
                "cy": (self.cy + 0.5) * sy - 0.5,
            }
        )

    @property
    def K(self) -> np.ndarray:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def dist_coeffs(self) -> np.ndarray:
        """In OpenCV's order, for ``cv2.undistortPoints`` and friends."""
        return np.array([self.k1, self.k2, self.p1, self.p2, self.k3])

    @property
    def has_distortion(self) -> bool:
        return any(c != 0.0 for c in (self.k1, self.k2, self.p1, self.p2, self.k3))

    @property
    def hfov_deg(self) -> float:
        return math.degrees(2 * math.atan(self.width / 2.0 / self.fx))

    @property
    def vfov_deg(self) -> float:
        return math.degrees(2 * math.atan(self.height / 2.0 / self.fy))

    @property
    def dfov_deg(self) -> float:
        return math.degrees(
            2 * math.atan(math.hypot(self.width / 2.0 / self.fx, self.height / 2.0 / self.fy))
        )

    def distort(self, xn: np.ndarray, yn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ideal normalized coordinates -> distorted normalized coordinates (OpenCV model)."""
        r2 = xn * xn + yn * yn
        radial = 1 + r2 * (self.k1 + r2 * (self.k2 + r2 * self.k3))
        xd = xn * radial + 2 * self.p1 * xn * yn + self.p2 * (r2 + 2 * xn * xn)
        yd = yn * radial + self.p1 * (r2 + 2 * yn * yn) + 2 * self.p2 * xn * yn
        return xd, yd

    def undistort(
        self, xd: np.ndarray, yd: np.ndarray, iterations: int = 20
    ) -> tuple[np.ndarray, np.ndarray]:
        """Inverse of ``distort`` by fixed-point iteration (as OpenCV does); exact to ~1e-9 here."""
        xn, yn = np.array(xd, dtype=float), np.array(yd, dtype=float)
        if not self.has_distortion:
            return xn, yn
        for _ in range(iterations):
            r2 = xn * xn + yn * yn
            radial = 1 + r2 * (self.k1 + r2 * (self.k2 + r2 * self.k3))
            dx = 2 * self.p1 * xn * yn + self.p2 * (r2 + 2 * xn * xn)
            dy = self.p1 * (r2 + 2 * yn * yn) + 2 * self.p2 * xn * yn
            xn = (xd - dx) / radial
            yn = (yd - dy) / radial
        return xn, yn


class CameraMount(BaseModel):
    """How the camera sits on the vehicle."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pitch_deg: float = Field(-90.0, ge=-180.0, le=180.0, description="-90 straight down, 0 horizon")
    roll_deg: float = 0.0
    yaw_deg: float = Field(0.0, description="yaw offset from the vehicle's heading, clockwise")
    offset_frd_m: tuple[float, float, float] = (0.0, 0.0, 0.0)
    stabilized: bool = Field(True, description="3-axis gimbal: ignores vehicle roll/pitch")


class CameraPose(BaseModel):
    """Where the vehicle is and how it is oriented when a frame is taken."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    alt_m: float = Field(gt=0, description="height of the vehicle above the water surface")
    roll_deg: float = 0.0
    pitch_deg: float = 0.0
    yaw_deg: float = 0.0
    gimbal_pitch_deg: float | None = Field(None, description="overrides the mount's pitch when set")


def _rx(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _ry(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _rz(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rotation_zyx(roll_deg: float, pitch_deg: float, yaw_deg: float) -> np.ndarray:
    """``Rz(yaw) @ Ry(pitch) @ Rx(roll)``: parent-from-child for ArduPilot-style Euler angles."""
    return _rz(math.radians(yaw_deg)) @ _ry(math.radians(pitch_deg)) @ _rx(math.radians(roll_deg))


#: Gimbal FRD -> camera optical axes: optical x = gimbal right, y = gimbal down, z = gimbal forward.
R_GIMBAL_FROM_OPTICAL = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])


def rotation_world_from_camera(
    roll_deg: float,
    pitch_deg: float,
    yaw_deg: float,
    mount: CameraMount,
    gimbal_pitch_deg: float | None = None,
) -> np.ndarray:
    """3x3 matrix taking camera optical-frame vectors to world NED, for a vehicle attitude."""
    g_pitch = mount.pitch_deg if gimbal_pitch_deg is None else gimbal_pitch_deg
    if mount.stabilized:
        r = rotation_zyx(mount.roll_deg, g_pitch, yaw_deg + mount.yaw_deg)
    else:
        r = rotation_zyx(roll_deg, pitch_deg, yaw_deg) @ rotation_zyx(mount.roll_deg, g_pitch, mount.yaw_deg)
    return r @ R_GIMBAL_FROM_OPTICAL


def pose_rotation(pose: CameraPose, mount: CameraMount) -> np.ndarray:
    """``rotation_world_from_camera`` for a ``CameraPose``."""
    return rotation_world_from_camera(
        pose.roll_deg, pose.pitch_deg, pose.yaw_deg, mount, pose.gimbal_pitch_deg
    )


def camera_position_ned(pose: CameraPose, ref_lat: float, ref_lon: float, mount: CameraMount) -> np.ndarray:
    """The camera centre in world NED around (ref_lat, ref_lon), including the mount offset."""
    n, e = to_local(ref_lat, ref_lon, pose.lat, pose.lon)
    p = np.array([n, e, -pose.alt_m])
    if any(mount.offset_frd_m):
        p = p + rotation_zyx(pose.roll_deg, pose.pitch_deg, pose.yaw_deg) @ np.asarray(mount.offset_frd_m)
    return p


def project_world_to_pixel(
    points_ned: np.ndarray, cam_pos_ned: np.ndarray, r_world_from_cam: np.ndarray, camera: CameraModel
) -> tuple[np.ndarray, np.ndarray]:
    """World NED points (N,3) -> distorted pixels (N,2) and a mask of points in front of the lens."""
    pts = np.atleast_2d(np.asarray(points_ned, dtype=float))
    pc = (pts - np.asarray(cam_pos_ned, dtype=float)) @ r_world_from_cam  # rows: R^T (p - c)
    z = pc[:, 2]
    front = z > 1e-6
    zs = np.where(front, z, np.nan)
    xd, yd = camera.distort(pc[:, 0] / zs, pc[:, 1] / zs)
    uv = np.stack([camera.fx * xd + camera.cx, camera.fy * yd + camera.cy], axis=1)
    return uv, front


def pixel_ray(u: np.ndarray, v: np.ndarray, r_world_from_cam: np.ndarray, camera: CameraModel) -> np.ndarray:
    """Unit world-NED directions (N,3) of the rays through distorted pixels ``(u, v)``."""
    u = np.atleast_1d(np.asarray(u, dtype=float))
    v = np.atleast_1d(np.asarray(v, dtype=float))
    xn, yn = camera.undistort((u - camera.cx) / camera.fx, (v - camera.cy) / camera.fy)
    d = np.stack([xn, yn, np.ones_like(xn)], axis=1) @ r_world_from_cam.T
    return d / np.linalg.norm(d, axis=1, keepdims=True)


def intersect_water(cam_pos_ned: np.ndarray, rays_ned: np.ndarray, water_down_m: float = 0.0) -> np.ndarray:
    """Where rays (N,3) from the camera meet the water plane, (N,3); NaN rows for rays that miss."""
    rays = np.atleast_2d(rays_ned)
    dz = rays[:, 2]
    t = (water_down_m - cam_pos_ned[2]) / np.where(dz > 1e-9, dz, np.nan)
    return cam_pos_ned[None, :] + t[:, None] * rays


def pixel_to_lat_lon(
    u: float, v: float, pose: CameraPose, camera: CameraModel, mount: CameraMount
) -> tuple[float, float] | None:
    """The water-surface lat/lon seen at pixel (u, v), or None if that pixel sees sky."""
    r = pose_rotation(pose, mount)
    c = camera_position_ned(pose, pose.lat, pose.lon, mount)
    p = intersect_water(c, pixel_ray(u, v, r, camera))[0]
    if not np.isfinite(p).all():
        return None
    return offset(pose.lat, pose.lon, float(p[0]), float(p[1]))


def lat_lon_to_pixel(
    lat: float, lon: float, pose: CameraPose, camera: CameraModel, mount: CameraMount, height_m: float = 0.0
) -> tuple[float, float] | None:
    """Pixel (u, v) where a point ``height_m`` above the water at (lat, lon) appears; None if behind
    the camera. The inverse of ``pixel_to_lat_lon`` (the point may fall outside the image)."""
    n, e = to_local(pose.lat, pose.lon, lat, lon)
    c = camera_position_ned(pose, pose.lat, pose.lon, mount)
    uv, front = project_world_to_pixel(np.array([[n, e, -height_m]]), c, pose_rotation(pose, mount), camera)
    return (float(uv[0, 0]), float(uv[0, 1])) if front[0] else None


def ground_footprint(
    pose: CameraPose, camera: CameraModel, mount: CameraMount, max_range_m: float = 1000.0
) -> list[tuple[float, float]]:
    """Lat/lon of the image's four corners on the water (TL, TR, BR, BL).

    A corner that sees sky, or water farther than ``max_range_m`` horizontally, is clipped to
    ``max_range_m`` along its ray's bearing, so the polygon is always finite.
    """
    r = pose_rotation(pose, mount)
    c = camera_position_ned(pose, pose.lat, pose.lon, mount)
    w, h = camera.width - 0.5, camera.height - 0.5
    us = np.array([-0.5, w, w, -0.5])
    vs = np.array([-0.5, -0.5, h, h])
    rays = pixel_ray(us, vs, r, camera)
    hits = intersect_water(c, rays)
    out: list[tuple[float, float]] = []
    for ray, hit in zip(rays, hits, strict=True):
        horiz = math.hypot(ray[0], ray[1])
        if np.isfinite(hit).all() and math.hypot(hit[0] - c[0], hit[1] - c[1]) <= max_range_m:
            n, e = float(hit[0]), float(hit[1])
        elif horiz > 1e-9:
            n = float(c[0] + ray[0] / horiz * max_range_m)
            e = float(c[1] + ray[1] / horiz * max_range_m)
        else:  # pragma: no cover - a ray straight up cannot be a corner of a real camera
            n, e = float(c[0]), float(c[1])
        out.append(offset(pose.lat, pose.lon, n, e))
    return out
