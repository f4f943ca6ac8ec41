"""Plane geometry the planner relies on: offset curves, simplification, polygon centerlines."""

from __future__ import annotations

import math

import numpy as np
import pytest

from contract.camera import CameraModel
from contract.geo import offset
from ground_station.planning import geometry as g
from ground_station.planning.planner import PlanOptions, footprint_width_m, plan_patrol
from ground_station.planning.reach_source import reach_from_geojson

ORIGIN = (22.53, 114.05)


def arc(radius: float, degrees: float, n: int = 40) -> list[tuple[float, float]]:
    return [
        (radius * math.sin(a), radius * (1 - math.cos(a))) for a in np.linspace(0, math.radians(degrees), n)
    ]


def test_projection_round_trips_to_the_millimetre():
    proj = g.Projection(*ORIGIN)
    lat, lon = proj.to_latlon(1234.5, -678.9)
    x, y = proj.to_xy(lat, lon)
    assert (x, y) == pytest.approx((1234.5, -678.9), abs=1e-3)


@pytest.mark.parametrize("d", [-40.0, -5.0, 5.0, 40.0])
def test_offset_curve_keeps_its_distance_around_a_corner(d, measure):
    line = [(0.0, 0.0), (500.0, 0.0), (800.0, 300.0)]  # a 45 degree left turn
    curve = g.offset_curve(line, d, step=2.0)
    dist = measure.dist_to_polyline(np.array(curve), np.array(line))
    assert dist.min() >= abs(d) - 1e-6
    assert dist.max() <= abs(d) + 0.5  # chord error only
    # it is on the asked side: left (north of the first leg) for positive d
    assert np.sign(curve[0][1]) == np.sign(d)
    # and runs the whole length, end normal to end normal
    assert math.dist(curve[0], (0.0, d)) < 1e-6


def test_simplify_drops_collinear_points_and_keeps_bends():
    straight = g.densify([(0.0, 0.0), (1000.0, 0.0)], 5.0)
    assert g.simplify(straight, 0.5) == [(0.0, 0.0), (1000.0, 0.0)]
    bend = arc(200.0, 90.0, 200)
    simple = g.simplify(bend, 0.5)
    assert 5 < len(simple) < len(bend)
    dense = np.array(g.densify(simple, 1.0))
    assert g.distances_to_polyline(dense, bend).max() <= 0.5 + 1e-9


def test_rectangle_polygon_gives_its_axis_and_width():
    centre, width = g.centerline_from_polygon([(0, -30), (1200, -30), (1200, 30), (0, 30), (0, -30)])
    assert width == pytest.approx(60.0)
    flat = [c for point in sorted(centre) for c in point]  # approx() takes flat sequences only
    assert flat == pytest.approx([0.0, 0.0, 1200.0, 0.0])


def test_curved_polygon_width_is_conservative_and_plan_covers_its_interior(measure):
    true_width = 50.0
    axis = arc(600.0, 60.0)
    ring_xy = g.buffer_ring(axis, true_width / 2, 2.0)
    ring = [list(offset(*ORIGIN, y, x))[::-1] for x, y in ring_xy]
    reach = reach_from_geojson({"type": "Polygon", "coordinates": [ring]}, "test")
    assert true_width <= reach.width_m <= 1.5 * true_width

    fp = footprint_width_m(CameraModel.default(), 30.0)
    plan = plan_patrol(reach, PlanOptions(30.0, 8.0, 0.3, fp, home=reach.centerline[0]))
    # points inside the polygon, away from its two cut ends by a river width
    inside = []
    for s in np.linspace(0, 1, 60)[3:-3]:
        p = g._point_at(axis, s * g.length(axis))
        for t in np.linspace(-true_width / 2, true_width / 2, 9):
            k = min(int(s * (len(axis) - 1)), len(axis) - 2)
            (ax, ay), (bx, by) = axis[k], axis[k + 1]
            L = math.hypot(bx - ax, by - ay)
            inside.append((p[0] - t * (by - ay) / L, p[1] + t * (bx - ax) / L))
    inside_ll = [offset(*ORIGIN, y, x) for x, y in inside]
    pts = measure.local(inside_ll, plan.home)
    nearest = np.full(len(pts), np.inf)
    for line in plan.pass_lines():
        nearest = np.minimum(nearest, measure.dist_to_polyline(pts, measure.local(line, plan.home)))
    assert (nearest <= fp / 2).all()


def test_degenerate_polygon_is_refused():
    with pytest.raises(ValueError, match="3 distinct"):
        g.centerline_from_polygon([(0, 0), (1, 1), (0, 0)])
