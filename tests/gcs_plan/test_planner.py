"""Patrol plans stay over the river and their passes see all of it with the requested overlap."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract.camera import CameraModel
from contract.geo import offset
from ground_station.planning.planner import (
    PlanError,
    PlanOptions,
    RiverReach,
    footprint_width_m,
    nearest_end,
    pass_offsets,
    plan_patrol,
    split_reach,
)
from ground_station.planning.reach_source import bundled_reach

CAMERA = CameraModel.default()
ORIGIN = (22.52, 114.05)


def options(reach: RiverReach, alt: float = 30.0, overlap: float = 0.3, **kw) -> PlanOptions:
    home = kw.pop("home", None) or reach.centerline[0]
    return PlanOptions(
        alt_m=alt, speed_mps=8.0, overlap=overlap, footprint_m=footprint_width_m(CAMERA, alt), home=home, **kw
    )


def reach_from_xy(xy: list[tuple[float, float]], width: float, name: str = "test") -> RiverReach:
    return RiverReach(name, tuple(offset(*ORIGIN, north, east) for east, north in xy), width)


def test_footprint_matches_the_camera_model_hfov():
    # 73 deg hfov at 30 m: 2 * 30 * tan(36.5 deg) = 44.40 m
    assert footprint_width_m(CAMERA, 30.0) == pytest.approx(44.40, abs=0.01)
    assert footprint_width_m(CameraModel.from_hfov(1000, 500, 90.0), 10.0) == pytest.approx(20.0)


def test_pass_offsets_cover_the_width_with_the_overlap():
    offs = pass_offsets(100.0, 40.0, 0.3)
    assert offs[0] == pytest.approx(-30.0) and offs[-1] == pytest.approx(30.0)
    spacing = np.diff(offs)
    assert (spacing <= 40.0 * 0.7 + 1e-9).all()
    assert len(offs) == 4  # 60 m between the outer passes at <= 28 m spacing
    assert pass_offsets(30.0, 40.0, 0.3) == [0.0]
    # a 60 degree corner widens the gap between offset curves by 1/cos(30 deg): more passes
    assert len(pass_offsets(96.0, 40.0, 0.3)) == 3  # 56 m between outer passes, 28 m apart
    cornered = pass_offsets(96.0, 40.0, 0.3, max_turn_deg=60.0)
    assert (np.diff(cornered) <= 40.0 * 0.7 * math.cos(math.radians(30)) + 1e-9).all()
    assert len(cornered) == 4


@pytest.mark.parametrize("river_id", ["shenzhen", "xinzhou"])
def test_bundled_river_plan_stays_over_the_river_and_covers_it(river_id, measure):
    reach = bundled_reach(river_id)
    opts = options(reach)
    plan = plan_patrol(reach, opts)
    centre = measure.local(list(reach.centerline), plan.home)
    wps = measure.local([(w.lat, w.lon) for w in plan.waypoints], plan.home)
    off_centre = measure.dist_to_polyline(wps, centre)
    assert off_centre.max() <= reach.width_m / 2 + opts.margin_m
    share, worst = measure.uncovered_fraction(plan, opts.footprint_m)
    assert share == 0.0, f"{share:.1%} of the river unseen, worst by {worst:.1f} m"
    assert measure.min_neighbour_overlap(plan, opts.footprint_m) >= opts.overlap - 0.01


def test_passes_alternate_direction_and_route_returns_home(measure):
    reach = reach_from_xy([(0, 0), (1500, 0), (2500, 600)], width=120.0)
    plan = plan_patrol(reach, options(reach))
    assert plan.passes >= 3
    lines = [measure.local(line, plan.home) for line in plan.pass_lines()]
    for a, b in itertools.pairwise(lines):
        direction_a, direction_b = a[-1] - a[0], b[-1] - b[0]
        assert direction_a @ direction_b < 0, "consecutive passes must fly opposite ways"
        assert np.linalg.norm(b[0] - a[-1]) <= reach.width_m, "next pass starts where the last ended"
    assert plan.route[0] == plan.home == plan.route[-1]


def test_straight_runs_get_few_waypoints_and_bends_many():
    straight = reach_from_xy([(0, 0), (2000, 0)], width=20.0)
    bend = reach_from_xy(
        [(400 * math.sin(a), 400 * (1 - math.cos(a))) for a in np.linspace(0, math.pi, 40)], width=20.0
    )
    p_straight = plan_patrol(straight, options(straight, max_spacing_m=250.0))
    p_bend = plan_patrol(bend, options(bend, max_spacing_m=250.0))
    assert p_straight.passes == p_bend.passes == 1
    assert len(p_straight.waypoints) == math.ceil(2000 / 250) + 1
    per_km_bend = len(p_bend.waypoints) / (p_bend.survey_length_m / 1000)
    per_km_straight = len(p_straight.waypoints) / (p_straight.survey_length_m / 1000)
    assert per_km_bend > 2 * per_km_straight


def test_default_home_is_the_nearest_river_end_and_route_starts_there():
    reach = bundled_reach("xinzhou")
    near_mouth = (22.515, 114.03)
    home = nearest_end(reach, near_mouth)
    assert home == reach.centerline[-1]  # the mouth is the downstream (last) end
    plan = plan_patrol(reach, options(reach, home=home))
    first = plan.waypoints[0]
    north_m = (first.lat - home[0]) * 111_000
    assert abs(north_m) < reach.width_m  # starts at the mouth, not 4.6 km upstream


def test_split_reach_parts_join_up_and_sum_to_the_whole(measure):
    reach = bundled_reach("shenzhen")
    parts = split_reach(reach, 3)
    ends = [c for p in parts[:-1] for c in p.centerline[-1]]  # approx() takes flat sequences only
    starts = [c for p in parts[1:] for c in p.centerline[0]]
    assert ends == pytest.approx(starts)
    lengths = [
        float(np.linalg.norm(np.diff(measure.local(list(p.centerline), ORIGIN), axis=0), axis=1).sum())
        for p in parts
    ]
    whole = float(
        np.linalg.norm(np.diff(measure.local(list(reach.centerline), ORIGIN), axis=0), axis=1).sum()
    )
    assert sum(lengths) == pytest.approx(whole, rel=1e-6)
    assert max(lengths) - min(lengths) < 1.0


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"alt": 0.0}, "altitude"),
        ({"alt": 500.0}, "altitude"),
        ({"overlap": 0.97}, "overlap"),
        ({"alt": 1.0}, "footprint"),
    ],
)
def test_impossible_parameters_are_refused_with_the_reason(kw, message):
    reach = bundled_reach("xinzhou")
    with pytest.raises(PlanError, match=message):
        plan_patrol(reach, options(reach, **kw))


def test_too_fast_is_refused():
    reach = bundled_reach("xinzhou")
    opts = PlanOptions(alt_m=30, speed_mps=40, overlap=0.3, footprint_m=44.0, home=reach.centerline[0])
    with pytest.raises(PlanError, match="speed"):
        plan_patrol(reach, opts)


@st.composite
def river_polylines(draw):
    """River-like centerlines: 2-6 legs of 150-800 m, each turning at most 60 degrees."""
    n = draw(st.integers(2, 6))
    heading = draw(st.floats(0, 2 * math.pi))
    pts = [(0.0, 0.0)]
    for _ in range(n):
        heading += math.radians(draw(st.floats(-60, 60)))
        leg = draw(st.floats(150, 800))
        x, y = pts[-1]
        pts.append((x + leg * math.cos(heading), y + leg * math.sin(heading)))
    return pts


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    xy=river_polylines(),
    width=st.floats(10, 160),
    alt=st.floats(20, 80),
    overlap=st.floats(0, 0.6),
)
def test_property_random_rivers_are_covered_and_flown_over(xy, width, alt, overlap, measure):
    reach = reach_from_xy(xy, width)
    opts = options(reach, alt=alt, overlap=overlap)
    plan = plan_patrol(reach, opts)
    share, worst = measure.uncovered_fraction(plan, opts.footprint_m, step=20.0)
    assert share == 0.0, f"{share:.1%} unseen, worst by {worst:.1f} m"
    centre = measure.local(list(reach.centerline), plan.home)
    wps = measure.local([(w.lat, w.lon) for w in plan.waypoints], plan.home)
    assert measure.dist_to_polyline(wps, centre).max() <= max(width / 2, opts.margin_m) + opts.margin_m
    if plan.passes > 1:
        assert measure.min_neighbour_overlap(plan, opts.footprint_m) >= overlap - 0.02
