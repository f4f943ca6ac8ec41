"""Measuring helpers for patrol plans, written independently of the planner's own geometry."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from contract.geo import to_local

LatLon = tuple[float, float]


def local(points: list[LatLon], ref: LatLon) -> np.ndarray:
    """(east, north) metres of lat/lon points around ``ref``, via contract.geo."""
    return np.array([to_local(ref[0], ref[1], lat, lon)[::-1] for lat, lon in points])


def dist_to_polyline(pts: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Distance of each point to a polyline (brute force over its legs)."""
    best = np.full(len(pts), np.inf)
    for a, b in itertools.pairwise(line):
        d = b - a
        L2 = float(d @ d)
        t = np.zeros(len(pts)) if L2 == 0 else np.clip(((pts - a) @ d) / L2, 0, 1)
        best = np.minimum(best, np.linalg.norm(pts - (a + t[:, None] * d), axis=1))
    return best


def cross_sections(line: np.ndarray, width: float, step: float = 10.0, across: int = 11) -> np.ndarray:
    """Points across the river every ``step`` m along its centerline: the area a patrol must see.

    At each station the points span ``[-width/2, width/2]`` along the local normal of the leg.
    """
    out = []
    for a, b in itertools.pairwise(line):
        L = float(np.linalg.norm(b - a))
        if L == 0:
            continue
        u = (b - a) / L
        n = np.array([-u[1], u[0]])
        for s in np.arange(0, L + 1e-9, step):
            c = a + s * u
            for t in np.linspace(-width / 2, width / 2, across):
                out.append(c + t * n)
    return np.array(out)


def uncovered_fraction(plan, footprint_m: float, step: float = 10.0) -> tuple[float, float]:
    """(share of river sample points no pass footprint sees, worst miss distance in m).

    A pass sees everything within half a footprint of its flown track (nadir camera, images
    oriented along track).
    """
    ref = plan.home
    centre = local(list(plan.reach.centerline), ref)
    samples = cross_sections(centre, plan.reach.width_m, step)
    nearest = np.full(len(samples), np.inf)
    for line in plan.pass_lines():
        track = local(line, ref)
        if len(track) == 1:
            track = np.vstack([track, track])
        nearest = np.minimum(nearest, dist_to_polyline(samples, track))
    miss = nearest - footprint_m / 2
    return float((miss > 1e-6).mean()), float(miss.max())


def min_neighbour_overlap(plan, footprint_m: float) -> float:
    """Smallest side overlap between adjacent passes, measured along each pass's track."""
    ref = plan.home
    lines = [local(line, ref) for line in plan.pass_lines()]
    by_offset = sorted(zip(plan.pass_offsets_m, lines, strict=True), key=lambda p: p[0])
    worst = 1.0
    for (_, a), (_, b) in itertools.pairwise(by_offset):
        # sample a's track densely, away from the ends (transitions between passes)
        pts = []
        for p, q in itertools.pairwise(a):
            n = max(1, math.ceil(np.linalg.norm(q - p) / 5))
            pts.extend(p + (q - p) * k / n for k in range(n))
        pts = np.array(pts[len(pts) // 10 : -len(pts) // 10 or None])
        gap = float(dist_to_polyline(pts, b).max())
        worst = min(worst, 1 - gap / footprint_m)
    return worst


@pytest.fixture(scope="session")
def measure():
    """The measuring helpers, as one object (test modules are not importable packages here)."""
    return type(
        "Measure",
        (),
        {
            "local": staticmethod(local),
            "dist_to_polyline": staticmethod(dist_to_polyline),
            "uncovered_fraction": staticmethod(uncovered_fraction),
            "min_neighbour_overlap": staticmethod(min_neighbour_overlap),
        },
    )
