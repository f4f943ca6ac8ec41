"""A geofence for a patrol: the corridor its route flies, and nothing of the city around it.

A river runs through a district of homes, roads and schools; the drone has no business over
them. The fence is one inclusion polygon around the whole route (take-off, the passes, the
legs between them and home) at ``margin_m`` on every side, simple (never self-intersecting, as
the autopilot requires) and of at most ``max_vertices`` corners (what an autopilot's fence
storage holds). The autopilot enforces it (``FENCE_TYPE`` polygon, ``FENCE_ACTION`` SmartRTL):
a vehicle pushed or sent outside returns home along the path it flew.

Built by rasterising the route's buffer (OpenCV draws thick round-capped lines), tracing its
outer boundary and simplifying that within a fraction of the margin, so every point of the
route stays at least ``margin_m * (1 - SIMPLIFY_SHARE)`` less two raster cells (``margin_m / 15``
each on a route up to ~260 margins across, coarser beyond) inside the polygon, meanders and
out-and-back legs included. Pure: local metres in, local metres out.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import cv2
import numpy as np

from ground_station.planning.geometry import segments_cross

XY = tuple[float, float]
P = Sequence[float]

#: Corners the fence may have: ArduPilot keeps a polygon fence in a small storage area.
MAX_VERTICES = 70
#: Share of the margin that simplification may give up (the rest stays between route and fence).
SIMPLIFY_SHARE = 0.35
#: The raster's largest side, px (bounds memory and time on a long route).
MAX_RASTER_PX = 4000


class FenceError(ValueError):
    """No fence of this margin and size can hold this route; the message says what to change."""


def corridor(route: list[XY], margin_m: float, max_vertices: int = MAX_VERTICES) -> list[XY]:
    """The fence polygon (open ring: first corner not repeated) around ``route`` at ``margin_m``."""
    if margin_m <= 0:
        raise FenceError(f"the fence margin must be > 0 m, got {margin_m}")
    if len(route) < 1:
        raise FenceError("a fence needs a route of at least one point")
    if max_vertices < 3:
        raise FenceError(f"a fence needs at least 3 corners, got max_vertices={max_vertices}")
    pts = np.asarray(route, dtype=float)
    lo, hi = pts.min(axis=0) - 2 * margin_m, pts.max(axis=0) + 2 * margin_m
    res = max(margin_m / 15.0, float((hi - lo).max()) / MAX_RASTER_PX)
    w, h = (math.ceil(v / res) + 1 for v in hi - lo)
    img = np.zeros((h, w), np.uint8)
    px = np.round(np.column_stack([(pts[:, 0] - lo[0]) / res, (hi[1] - pts[:, 1]) / res])).astype(np.int32)
    radius = max(1, math.floor(margin_m / res))
    cv2.polylines(img, [px.reshape(-1, 1, 2)], False, 255, thickness=2 * radius + 1, lineType=cv2.LINE_8)
    for x, y in px:  # round joins and caps, whatever OpenCV does at a thick line's corners
        cv2.circle(img, (int(x), int(y)), radius, 255, -1)
    contours, _ = cv2.findContours(img, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    outline = max(contours, key=cv2.contourArea)
    budget = margin_m * SIMPLIFY_SHARE / res  # px
    eps = 0.5
    while True:
        ring = cv2.approxPolyDP(outline, eps, True).reshape(-1, 2)
        if len(ring) <= max_vertices and len(ring) >= 3 and is_simple(ring.tolist()):
            break
        eps *= 1.25
        if eps > budget:
            raise FenceError(
                f"the route winds too much for a fence of {max_vertices} corners at {margin_m:.0f} m:"
                " widen the margin or split the patrol"
            )
    return [(float(lo[0] + x * res), float(hi[1] - y * res)) for x, y in ring]


def is_simple(ring: Sequence[P]) -> bool:
    """Whether a closed polygon (open ring) has no two non-adjacent edges that touch."""
    n = len(ring)
    edges = [(ring[i], ring[(i + 1) % n]) for i in range(n)]
    for (i, a), (j, b) in itertools.combinations(enumerate(edges), 2):
        if j == i + 1 or (i == 0 and j == n - 1):
            continue
        if segments_cross(a[0], a[1], b[0], b[1]):
            return False
    return True


def distance_inside(ring: list[XY], p: XY) -> float:
    """Signed distance from ``p`` to the polygon's boundary: > 0 inside, < 0 outside (metres)."""
    contour = np.asarray(ring, dtype=np.float32).reshape(-1, 1, 2)
    return float(cv2.pointPolygonTest(contour, (float(p[0]), float(p[1])), True))
