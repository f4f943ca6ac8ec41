"""The patrol's geofence: a simple polygon of few corners around the whole route, at its margin."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ground_station.planning import geometry as g
from ground_station.planning.fence import SIMPLIFY_SHARE, FenceError, corridor, distance_inside, is_simple
from ground_station.planning.mission import build_mission
from ground_station.planning.mission_files import MissionFileError, parse_fence, plan_json
from ground_station.planning.planner import PlanOptions, RiverReach, plan_patrol

MARGIN = 30.0
#: What the fence guarantees between the route and itself: the margin less what simplification
#: may take and two raster cells (``fence.corridor``'s docstring).
INSIDE_AT_LEAST = MARGIN * (1 - SIMPLIFY_SHARE) - 2 * MARGIN / 15


def _meander_out_and_back() -> list[tuple[float, float]]:
    out = [(float(x), 200 * math.sin(x / 300)) for x in range(0, 3000, 20)]
    back = [(x, y + 60) for x, y in reversed(out)]
    return [(0.0, 0.0), *out, *back, (0.0, 0.0)]


def test_a_meandering_out_and_back_route_is_held_at_its_margin_and_the_city_beside_it_is_not() -> None:
    route = _meander_out_and_back()
    ring = corridor(route, MARGIN)
    assert 3 <= len(ring) <= 70 and is_simple(ring)
    assert min(distance_inside(ring, p) for p in route) >= INSIDE_AT_LEAST
    # 3 margins off the route, on both sides and beyond its ends: outside
    for x in range(0, 3000, 100):
        y = 200 * math.sin(x / 300)
        assert distance_inside(ring, (x, y - 3 * MARGIN)) < 0
        assert distance_inside(ring, (x, y + 60 + 3 * MARGIN)) < 0
    assert distance_inside(ring, (-3 * MARGIN, 0.0)) < 0 and distance_inside(ring, (3000 + 3 * MARGIN, 0)) < 0


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(-2000, 2000), st.floats(-2000, 2000)), min_size=1, max_size=12))
def test_any_route_is_inside_its_fence(points) -> None:
    try:
        ring = corridor([(0.0, 0.0), *points], MARGIN)
    except FenceError as e:  # a route too tangled for 70 corners says so instead
        assert "widen the margin or split the patrol" in str(e)
        return
    assert is_simple(ring) and len(ring) <= 70
    assert all(distance_inside(ring, p) >= INSIDE_AT_LEAST for p in [(0.0, 0.0), *points])


def test_bad_margins_and_impossible_corner_budgets_say_what_to_change() -> None:
    with pytest.raises(FenceError, match="margin must be > 0"):
        corridor([(0, 0), (100, 0)], 0)
    with pytest.raises(FenceError, match="widen the margin or split the patrol"):
        corridor(_meander_out_and_back(), MARGIN, max_vertices=4)
    assert not is_simple([(0, 0), (10, 10), (10, 0), (0, 10)])  # a bow tie
    assert is_simple([(0, 0), (10, 0), (10, 10), (0, 10)])


def test_a_planned_patrol_carries_a_fence_around_home_and_every_waypoint_and_the_plan_file_keeps_it() -> None:
    reach = RiverReach("r", ((22.52, 114.05), (22.521, 114.06), (22.519, 114.07)), 60.0)
    plan = plan_patrol(reach, PlanOptions(30.0, 8.0, 0.3, 40.0, home=(22.5195, 114.049)))
    proj = g.Projection(*plan.home)
    ring = [proj.to_xy(*p) for p in plan.fence]
    assert distance_inside(ring, (0.0, 0.0)) >= INSIDE_AT_LEAST
    assert min(distance_inside(ring, proj.to_xy(w.lat, w.lon)) for w in plan.waypoints) >= INSIDE_AT_LEAST
    doc = plan_json(build_mission(plan), 8.0, 5.0, plan.fence_polygons())
    (poly,) = parse_fence(doc)
    assert poly.inclusion and len(poly.points) == len(plan.fence)
    assert all(math.dist(a, b) < 1e-7 for a, b in zip(poly.points, plan.fence, strict=True))
    assert plan_patrol(reach, PlanOptions(30.0, 8.0, 0.3, 40.0, home=plan.home, fence_margin_m=0)).fence == ()


@pytest.mark.parametrize(
    ("fence", "says"),
    [
        (
            {"circles": [{"circle": {"center": [22.5, 114.0], "radius": 50}}], "polygons": []},
            "circles are not",
        ),
        ({"polygons": [{"inclusion": True, "polygon": [[22.5, 114.0], [22.6, 114.0]]}]}, "has 2 corners"),
        (
            {"polygons": [{"inclusion": True, "polygon": [[22.5, 114.0], [95, 114.0], [22.6, 114]]}]},
            "not a lat",
        ),
        ({"polygons": [{"inclusion": True, "polygon": "nope"}]}, "not a list of"),
    ],
)
def test_a_plan_file_s_bad_geofence_is_named(fence, says) -> None:
    with pytest.raises(MissionFileError, match=f"x.plan: .*{says}"):
        parse_fence({"geoFence": fence}, "x.plan")


def test_a_position_breaches_a_fence_outside_an_inclusion_or_inside_an_exclusion() -> None:
    from contract.mavlink import FencePolygon
    from ground_station.missions.geofence import breach_of

    square = ((0.0, 0.0), (0.0, 0.01), (0.01, 0.01), (0.01, 0.0))
    zone = ((0.004, 0.004), (0.004, 0.006), (0.006, 0.006), (0.006, 0.004))
    fence = [FencePolygon(True, square), FencePolygon(False, zone)]
    assert breach_of(fence, 0.002, 0.002) is None
    assert breach_of(fence, 0.02, 0.002) == "outside its polygon 1"
    assert breach_of(fence, 0.005, 0.005) == "inside its exclusion polygon 2 (a no-fly zone)"
    assert breach_of([], 0.02, 0.02) is None
