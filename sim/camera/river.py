"""River geometry in the scene's local tangent plane: a centerline polyline plus a width.

Everything is in (north, east) metres around the scene origin. Positions along the river are
``(s, lateral)``: arc length from the first centerline point (the flow runs towards the last
point) and signed distance, positive to the right of the flow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from contract.geo import offset, to_local


class River:
    """A centerline (N,2 north/east metres) and a nominal width; queries are vectorized."""

    def __init__(self, centerline_ne: np.ndarray, width_m: float) -> None:
        pts = np.asarray(centerline_ne, dtype=float)
        if pts.ndim != 2 or pts.shape[0] < 2 or pts.shape[1] != 2:
            raise ValueError(f"river centerline needs at least 2 (north, east) points, got shape {pts.shape}")
        if width_m <= 0:
            raise ValueError(f"river width must be positive, got {width_m}")
        seg = np.diff(pts, axis=0)
        lengths = np.hypot(seg[:, 0], seg[:, 1])
        keep = np.concatenate([[True], lengths > 1e-6])
        self.pts = pts[keep]
        seg = np.diff(self.pts, axis=0)
        self.seg_len = np.hypot(seg[:, 0], seg[:, 1])
        self.seg_dir = seg / self.seg_len[:, None]
        self.cum = np.concatenate([[0.0], np.cumsum(self.seg_len)])
        self.length_m = float(self.cum[-1])
        self.width_m = float(width_m)
        ends = self.pts[:-1] + self.seg_dir * self.seg_len[:, None]
        self._seg_lo = np.minimum(self.pts[:-1], ends)
        self._seg_hi = np.maximum(self.pts[:-1], ends)

    @classmethod
    def from_lat_lon(
        cls, ref_lat: float, ref_lon: float, centerline: Sequence[tuple[float, float]], width_m: float
    ) -> River:
        return cls(np.array([to_local(ref_lat, ref_lon, la, lo) for la, lo in centerline]), width_m)

    def point_at(self, s: np.ndarray | float, lateral: np.ndarray | float = 0.0) -> np.ndarray:
        """(north, east) of arc length ``s`` and lateral offset (arrays broadcast); (..., 2)."""
        s = np.clip(np.asarray(s, dtype=float), 0.0, self.length_m)
        i = np.clip(np.searchsorted(self.cum, s, side="right") - 1, 0, len(self.seg_len) - 1)
        d = self.seg_dir[i]
        base = self.pts[i] + d * (s - self.cum[i])[..., None]
        normal = np.stack([-d[..., 1], d[..., 0]], axis=-1)
        return base + normal * np.asarray(lateral, dtype=float)[..., None]

    def direction_at(self, s: np.ndarray | float) -> np.ndarray:
        """Unit flow direction (north, east) at arc length ``s``."""
        s = np.clip(np.asarray(s, dtype=float), 0.0, self.length_m)
        i = np.clip(np.searchsorted(self.cum, s, side="right") - 1, 0, len(self.seg_len) - 1)
        return self.seg_dir[i]

    def locate(self, north: np.ndarray, east: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Arc length and signed lateral offset of points; distances beyond the ends grow past them."""
        p = np.stack([np.asarray(north, float).ravel(), np.asarray(east, float).ravel()], axis=1)
        best_d = np.full(len(p), np.inf)
        best_s = np.zeros(len(p))
        best_lat = np.full(len(p), 1e6)
        lo = p.min(axis=0) if len(p) else np.zeros(2)
        hi = p.max(axis=0) if len(p) else np.zeros(2)
        # only the banks need exact geometry; farther land just needs "not water"
        reach = self.width_m / 2 + 60.0
        # only segments whose bounding box comes within ``reach`` of the points' box (one test for all)
        far = np.any(self._seg_lo > hi + reach, axis=1) | np.any(self._seg_hi < lo - reach, axis=1)
        for k in np.flatnonzero(~far):
            a, d, length = self.pts[k], self.seg_dir[k], self.seg_len[k]
            rel = p - a
            along = rel @ d
            t = along
            if k > 0:
                t = np.maximum(t, 0.0)
            if k < len(self.seg_len) - 1:
                t = np.minimum(t, length)
            foot = a + t[:, None] * d
            dist = np.hypot(*(p - foot).T)
            lat = rel[:, 1] * d[0] - rel[:, 0] * d[1]
            better = dist < best_d
            best_d = np.where(better, dist, best_d)
            best_s = np.where(better, self.cum[k] + t, best_s)
            # signed by the side of this segment; exact lateral distance on the inside of bends
            best_lat = np.where(better, np.sign(lat) * dist + (lat == 0) * 0.0, best_lat)
        shape = np.shape(north)
        return best_s.reshape(shape), best_lat.reshape(shape)


def default_centerline(
    home_lat: float, home_lon: float, length_m: float = 1600.0, bend_m: float = 40.0, flow_deg: float = 250.0
) -> list[tuple[float, float]]:
    """A gently curving river through the home point, flowing towards ``flow_deg`` (WSW like the
    Shenzhen River), as lat/lon points every 20 m."""
    n = max(int(length_m / 20.0), 2)
    s = np.linspace(-length_m / 2, length_m / 2, n + 1)
    wiggle = bend_m * np.sin(2 * math.pi * s / (length_m * 0.8))
    wiggle -= bend_m * math.sin(0.0)
    fd = math.radians(flow_deg)
    d = np.array([math.cos(fd), math.sin(fd)])
    normal = np.array([-d[1], d[0]])
    pts = s[:, None] * d + wiggle[:, None] * normal
    return [offset(home_lat, home_lon, float(nn), float(ee)) for nn, ee in pts]
