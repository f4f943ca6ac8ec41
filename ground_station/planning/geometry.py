"""Plane geometry in local metres for patrol planning: projection, offsets, simplification.

A patrol covers a few kilometres, where a tangent plane around one reference point is exact
to centimetres (``contract.geo``), so every computation here is plain 2-D Euclidean geometry
on ``(east, north)`` metres. No GIS library: the few operations a river needs are below.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from contract.geo import offset, to_local

XY = tuple[float, float]
#: Any 2-sequence of coordinates (a tuple, a list, a row of an array).
Pt = Sequence[float]
LatLon = tuple[float, float]

#: Points at which distance-to-polyline is evaluated in one numpy block (bounds memory).
_CHUNK = 2048


@dataclass(frozen=True)
class Projection:
    """Tangent plane at a reference point: ``(lat, lon)`` <-> ``(east_m, north_m)``."""

    ref_lat: float
    ref_lon: float

    def to_xy(self, lat: float, lon: float) -> XY:
        north, east = to_local(self.ref_lat, self.ref_lon, lat, lon)
        return (east, north)

    def to_latlon(self, x: float, y: float) -> LatLon:
        return offset(self.ref_lat, self.ref_lon, y, x)


def length(pts: list[XY]) -> float:
    """Length of a polyline."""
    return sum(math.dist(a, b) for a, b in itertools.pairwise(pts))


def dedupe(pts: list[XY], eps: float = 1e-6) -> list[XY]:
    """The polyline without consecutive repeated points (they have no direction)."""
    out: list[XY] = []
    for p in pts:
        if not out or math.dist(out[-1], p) > eps:
            out.append(p)
    return out


def substring(pts: list[XY], start: float, end: float) -> list[XY]:
    """The part of a polyline between two distances from its first point."""
    if not 0 <= start < end:
        raise ValueError(f"substring needs 0 <= start < end, got {start}..{end}")
    out: list[XY] = []
    walked = 0.0
    for a, b in itertools.pairwise(pts):
        seg = math.dist(a, b)
        lo, hi = walked, walked + seg
        if seg > 0 and hi > start and lo < end:
            for d in (max(start, lo), min(end, hi)):
                f = (d - lo) / seg
                out.append((a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1])))
        walked = hi
    return dedupe(out)


def densify(pts: list[XY], step: float) -> list[XY]:
    """The polyline with extra points so no leg is longer than ``step``."""
    out: list[XY] = [pts[0]]
    for a, b in itertools.pairwise(pts):
        n = max(1, math.ceil(math.dist(a, b) / step - 1e-6))
        out.extend((a[0] + (b[0] - a[0]) * k / n, a[1] + (b[1] - a[1]) * k / n) for k in range(1, n + 1))
    return out


def simplify(pts: list[XY], tolerance: float) -> list[XY]:
    """Douglas-Peucker: drop points closer than ``tolerance`` to the chord that replaces them.

    Straight runs collapse to their ends, bends keep points: exactly the waypoint density a
    patrol wants.
    """
    if len(pts) <= 2:
        return list(pts)
    keep = [False] * len(pts)
    keep[0] = keep[-1] = True
    stack = [(0, len(pts) - 1)]
    while stack:
        i, j = stack.pop()
        if j <= i + 1:
            continue
        a, b = pts[i], pts[j]
        worst, worst_d = -1, -1.0
        for k in range(i + 1, j):
            d = _point_segment_distance(pts[k], a, b)
            if d > worst_d:
                worst, worst_d = k, d
        if worst_d > tolerance:
            keep[worst] = True
            stack.extend([(i, worst), (worst, j)])
    return [p for p, k in zip(pts, keep, strict=True) if k]


def limit_spacing(pts: list[XY], max_spacing: float) -> list[XY]:
    """Insert evenly spaced points on legs longer than ``max_spacing``."""
    return densify(pts, max_spacing)


def _point_segment_distance(p: XY, a: XY, b: XY) -> float:
    dx, dy = b[0] - a[0], b[1] - a[1]
    seg2 = dx * dx + dy * dy
    t = 0.0 if seg2 == 0 else max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / seg2))
    return math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy)


def distances_to_polyline(points: np.ndarray, line: list[XY]) -> np.ndarray:
    """Distance of each of ``points`` (N x 2) to the polyline ``line``."""
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    arr = np.asarray(line, dtype=float)
    if len(arr) == 1:
        return np.hypot(pts[:, 0] - arr[0, 0], pts[:, 1] - arr[0, 1])
    a, b = arr[:-1], arr[1:]
    d = b - a
    seg2 = np.maximum((d**2).sum(axis=1), 1e-18)
    out = np.empty(len(pts))
    for lo in range(0, len(pts), _CHUNK):
        p = pts[lo : lo + _CHUNK, None, :]
        t = np.clip(((p - a) * d).sum(axis=2) / seg2, 0.0, 1.0)
        closest = a + t[..., None] * d
        out[lo : lo + _CHUNK] = np.sqrt(((p - closest) ** 2).sum(axis=2)).min(axis=1)
    return out


def stations(line: list[XY], step: float) -> list[tuple[XY, XY]]:
    """Points every ~``step`` along a polyline with the unit left normal there.

    Vertices are included; at each interior vertex the normal is also given rotated from the
    incoming to the outgoing direction (a fan), so offsets round the outside of bends.
    """
    out: list[tuple[XY, XY]] = []
    legs = [(a, b) for a, b in itertools.pairwise(line) if math.dist(a, b) > 0]
    for i, (a, b) in enumerate(legs):
        ux, uy = (b[0] - a[0]) / math.dist(a, b), (b[1] - a[1]) / math.dist(a, b)
        normal = (-uy, ux)
        if i > 0:
            # Fan of normals at the vertex ``a``, from the previous leg's to this leg's.
            pa, pb = legs[i - 1]
            h0 = math.atan2(pb[1] - pa[1], pb[0] - pa[0])
            h1 = math.atan2(uy, ux)
            turn = (h1 - h0 + math.pi) % (2 * math.pi) - math.pi
            n = max(1, math.ceil(abs(turn) / math.radians(10)))
            for k in range(1, n):
                h = h0 + turn * k / n
                out.append((a, (-math.sin(h), math.cos(h))))
        for p in densify([a, b], step)[:-1]:
            out.append((p, normal))
    if legs:
        out.append((legs[-1][1], normal))
    return out


def offset_curve(line: list[XY], distance: float, step: float) -> list[XY]:
    """The curve at ``distance`` to the left of ``line`` (negative: right), sampled every ``step``.

    Built as the level set of the distance to ``line``: candidate points are pushed out along
    the normals (with fans at vertices, which round the outer side of bends), and a candidate
    closer than ``|distance|`` to some other part of ``line`` — the inner side of a bend, or a
    meander coming back — is dropped. The curve therefore never strays closer than
    ``|distance|`` to the centerline, and never further except by chord error.
    """
    if distance == 0:
        return dedupe(densify(line, step))
    st = stations(line, step)
    cand = np.array([(p[0] + distance * n[0], p[1] + distance * n[1]) for p, n in st])
    dist = distances_to_polyline(cand, line)
    keep = dist >= abs(distance) * (1 - 1e-9) - 1e-6
    return dedupe([(float(x), float(y)) for (x, y), k in zip(cand, keep, strict=True) if k])


def buffer_ring(line: list[XY], half_width: float, step: float) -> list[XY]:
    """Closed ring around a polyline at ``half_width`` on both sides, flat ends (a swath)."""
    left = offset_curve(line, half_width, step)
    right = offset_curve(line, -half_width, step)
    ring = left + right[::-1]
    return [*ring, ring[0]]


def orient(a: Pt, b: Pt, c: Pt) -> float:
    """Twice the signed area of triangle a, b, c: > 0 when c lies left of a->b (counter-clockwise)."""
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def segments_cross(p1: Pt, p2: Pt, q1: Pt, q2: Pt, touching: bool = True) -> bool:
    """Whether segments p1-p2 and q1-q2 meet: anywhere (``touching``, collinear overlaps too), or
    only where each passes through the other's interior (``touching=False``)."""
    d1, d2 = orient(q1, q2, p1), orient(q1, q2, p2)
    d3, d4 = orient(p1, p2, q1), orient(p1, p2, q2)
    if not touching:
        return d1 * d2 < 0 and d3 * d4 < 0
    if d1 == d2 == d3 == d4 == 0:  # on one line: they meet where their extents do
        return all(
            max(min(p1[k], p2[k]), min(q1[k], q2[k])) <= min(max(p1[k], p2[k]), max(q1[k], q2[k]))
            for k in (0, 1)
        )
    return d1 * d2 <= 0 and d3 * d4 <= 0


def turn_angles_deg(pts: list[XY]) -> list[float]:
    """Absolute heading change at each interior point of a polyline, degrees in [0, 180]."""
    out = []
    for a, b, c in zip(pts, pts[1:], pts[2:], strict=False):
        h0 = math.atan2(b[1] - a[1], b[0] - a[0])
        h1 = math.atan2(c[1] - b[1], c[0] - b[0])
        out.append(abs(math.degrees((h1 - h0 + math.pi) % (2 * math.pi) - math.pi)))
    return out


def centerline_from_polygon(ring: list[XY], samples: int = 200) -> tuple[list[XY], float]:
    """Centerline and width of a long, thin polygon (a river reach): ``(line, width_m)``.

    The two ring *edge midpoints* farthest apart are taken as the river's ends (for a reach
    cut square across the water, the middles of the two cuts); they split the ring into two
    banks, each resampled at equal fractions of its length; the centerline joins the
    midpoints. The width is twice the largest distance of any boundary point from that
    centerline, so covering ``width`` around the centerline covers the whole polygon.
    Suits reaches whose ends are their farthest-apart parts: not a river bending back on
    itself (more than ~90 degrees end to end) — split such a reach into several files.
    """
    pts = dedupe(ring[:-1] if len(ring) > 1 and math.dist(ring[0], ring[-1]) < 1e-6 else ring)
    if len(pts) < 3:
        raise ValueError(f"a river polygon needs at least 3 distinct vertices, got {len(pts)}")
    closed = [*pts, pts[0]]
    # Ring with every edge's midpoint inserted after its start: midpoints sit at odd indices.
    dense: list[XY] = []
    for a, b in itertools.pairwise(closed):
        dense += [a, ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)]
    mids = np.asarray(dense[1::2])
    gaps = np.sqrt(((mids[:, None, :] - mids[None, :, :]) ** 2).sum(axis=2))
    mi, mj = sorted(int(v) for v in np.unravel_index(int(np.argmax(gaps)), gaps.shape))
    i, j = 2 * mi + 1, 2 * mj + 1
    bank_a = dense[i : j + 1]
    bank_b = (dense[j:] + dense[: i + 1])[::-1]
    la, lb = length(bank_a), length(bank_b)
    centre: list[XY] = []
    for k in range(samples + 1):
        pa = _point_at(bank_a, k / samples * la)
        pb = _point_at(bank_b, k / samples * lb)
        centre.append(((pa[0] + pb[0]) / 2, (pa[1] + pb[1]) / 2))
    centre = simplify(dedupe(centre), 0.5)
    boundary = np.asarray(densify(closed, 2.0))
    width = 2 * float(distances_to_polyline(boundary, centre).max())
    return centre, width


def _point_at(pts: list[XY], s: float) -> XY:
    walked = 0.0
    for a, b in itertools.pairwise(pts):
        seg = math.dist(a, b)
        if walked + seg >= s and seg > 0:
            f = (s - walked) / seg
            return (a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]))
        walked += seg
    return pts[-1]
