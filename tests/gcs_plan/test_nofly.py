"""No-fly zones: a route into one is refused by name; those near it go into the geofence as
exclusions, which the simulated autopilot keeps out of."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from contract.geo import offset
from contract.mavlink import fence_polygons
from ground_station.cli import EXIT_BAD_PARAMETERS, EXIT_BAD_RIVER, app
from ground_station.mavlink.mission import fence_items
from ground_station.planning.geometry import Projection
from ground_station.planning.mission import build_mission
from ground_station.planning.mission_files import parse_fence, plan_json, read_fence
from ground_station.planning.nofly import (
    ZoneError,
    first_entry,
    keep_out,
    straight_home_crossings,
    zones_from_geojson,
)
from ground_station.planning.planner import PlanError, PlanOptions, RiverReach, plan_patrol
from sim.vehicle.fence import breaches
from tests.gcs_plan.test_detour import clearance

REACH = RiverReach("r", ((22.52, 114.05), (22.521, 114.06), (22.519, 114.07)), 60.0)
HOME = (22.5195, 114.049)


def square(lat: float, lon: float, half: float = 0.0005) -> list[list[float]]:
    ring = [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
    ]
    return [*ring, ring[0]]


def zones(**where: tuple[float, float, float]) -> dict:
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"name": name},
             "geometry": {"type": "Polygon", "coordinates": [square(*w)]}}
            for name, w in where.items()
        ],
    }  # fmt: skip


def test_a_route_into_a_zone_is_refused_by_name_and_one_beside_it_is_fenced_out() -> None:
    plan = plan_patrol(REACH, PlanOptions(30.0, 8.0, 0.3, 40.0, home=HOME))
    helipad = zones_from_geojson(zones(helipad=(22.521, 114.06, 0.0003)), "z.geojson")
    with pytest.raises(PlanError, match=r"enters no-fly zone 'helipad' \(after patrol waypoint \d+\)"):
        keep_out(plan, helipad)  # a plan made without the zone
    school, far = zones_from_geojson(
        zones(school=(22.5218, 114.052, 0.0005), airport=(22.64, 113.81, 0.01)), "z.geojson"
    )
    kept = keep_out(plan, [school, far])
    assert [z.name for z in kept.keep_out] == ["school"]  # the airport is nowhere near this patrol
    doc = plan_json(build_mission(kept), 8.0, 5.0, kept.fence_polygons())
    polys = parse_fence(doc)
    assert [p.inclusion for p in polys] == [True, False]
    assert all(math.dist(a, b) < 1e-7 for a, b in zip(polys[1].points, school.ring, strict=True))
    # on the vehicle: the exclusion is a fence of its own; inside it is a breach, beside it none
    on_board = fence_polygons(fence_items(polys))
    params = {"FENCE_TYPE": 4, "FENCE_RADIUS": 300, "FENCE_ALT_MAX": 100}.__getitem__
    assert breaches(params, on_board, HOME, 22.5218, 114.052, 30.0) == ["Polygon"]
    assert breaches(params, on_board, HOME, 22.5202, 114.052, 30.0) == []


def test_a_plan_given_the_zones_goes_around_one_on_the_river_and_says_what_it_leaves() -> None:
    (helipad,) = zones_from_geojson(zones(helipad=(22.521, 114.06, 0.0003)), "z.geojson")  # 62 m, mid-river
    opts = PlanOptions(30.0, 8.0, 0.3, 40.0, home=HOME, no_fly=(helipad,), no_fly_margin_m=20.0)
    plan = keep_out(plan_patrol(REACH, opts), [helipad])  # no longer refused: it goes round
    assert first_entry(plan.route, helipad) is None and [z.name for z in plan.keep_out] == ["helipad"]
    proj = Projection(*HOME)
    ring = [proj.to_xy(*p) for p in helipad.ring]
    path = [proj.to_xy(*p) for p in plan.route]
    assert clearance(path, ring) >= 19.9  # the margin, everywhere (lat/lon round trip aside)
    (d,) = plan.detours
    assert d.zone == "helipad" and d.extra_m > 0 and d.dropped >= 1
    assert all(w.pass_no >= 1 for w in plan.waypoints)  # the corners round it belong to passes
    assert breaches_none(plan)
    home_in = replace(opts, home=(22.521, 114.06))
    with pytest.raises(PlanError, match="home is inside no-fly zone 'helipad'"):
        plan_patrol(REACH, home_in)


def breaches_none(plan) -> bool:
    """The geofence the plan uploads lets every leg of its route be flown."""
    on_board = fence_polygons(fence_items(plan.fence_polygons()))
    params = {"FENCE_TYPE": 4, "FENCE_RADIUS": 300, "FENCE_ALT_MAX": 100}.__getitem__
    return all(breaches(params, on_board, HOME, lat, lon, 30.0) == [] for lat, lon in plan.route)


def test_a_zone_between_the_river_and_home_is_named_where_a_straight_rtl_would_cross_it() -> None:
    plan = plan_patrol(REACH, PlanOptions(30.0, 8.0, 0.3, 40.0, home=HOME))
    park, school = zones_from_geojson(
        zones(park=(22.5193, 114.06, 0.0003), school=(22.5218, 114.052, 0.0005)), "z.geojson"
    )
    kept = keep_out(plan, [park, school])  # neither on the route ...
    crossings = straight_home_crossings(kept.route, list(kept.keep_out))
    assert list(crossings) == ["park"]  # ... but the way home from the far end runs over the park
    assert 0 < crossings["park"] < len(kept.route) - 2


@pytest.mark.parametrize(
    ("doc", "says"),
    [
        (
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [114, 22]}},
            "is a Point, not a Polygon",
        ),
        (
            {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[114, 22], [114.1, 22]]]}},
            "3 or more",
        ),
        ({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[["a", 22]]]}}, "not a ring"),
        ([1, 2], "not a GeoJSON Feature"),
    ],
)
def test_a_bad_zone_file_is_named(doc, says) -> None:
    with pytest.raises(ZoneError, match=f"z.geojson: .*{says}"):
        zones_from_geojson(doc, "z.geojson")


def test_the_plan_command_keeps_out_of_the_zones_it_is_given(tmp_path) -> None:
    runner = CliRunner()
    base = ["plan", "--river", "shenzhen", "--segment", "shenzhen-2", "--out", str(tmp_path / "p")]
    ok = runner.invoke(app, base)
    assert ok.exit_code == 0, ok.output
    route = json.loads((tmp_path / "p" / "shenzhen-2.geojson").read_text())
    lon, lat = next(f for f in route["features"] if f["properties"].get("kind") == "waypoint")["geometry"][
        "coordinates"
    ]
    f = tmp_path / "zones.geojson"
    f.write_text(json.dumps(zones(bridge=(lat, lon, 0.0002))))  # at the first waypoint, by home
    refused = runner.invoke(app, [*base, "--no-fly", str(f)])
    assert (
        refused.exit_code == EXIT_BAD_PARAMETERS and "home is inside no-fly zone 'bridge'" in refused.output
    )
    wps = [
        f["geometry"]["coordinates"] for f in route["features"] if f["properties"].get("kind") == "waypoint"
    ]
    far = max(wps, key=lambda p: math.dist(p, wps[0]))
    mid = ((wps[0][1] + far[1]) / 2, (wps[0][0] + far[0]) / 2)
    f.write_text(json.dumps(zones(bridge=(*mid, 0.0002))))  # half way along the river: flown round
    around = runner.invoke(app, [*base, "--no-fly", str(f)])
    assert around.exit_code == 0, around.output
    said = " ".join(around.output.split())
    assert "detour" in said and "around 'bridge': +" in said and "the water under it is not flown" in said, (
        said
    )
    mission = read_fence(tmp_path / "p" / "shenzhen-2.plan")
    assert [p.inclusion for p in mission] == [True, False]  # and the fence keeps it out too
    f.write_text(json.dumps(zones(school=(lat + 0.0012, lon, 0.0004))))
    fenced = runner.invoke(app, [*base, "--no-fly", str(f)])
    assert fenced.exit_code == 0 and "school (kept out by the fence)" in fenced.output, fenced.output
    assert [p.inclusion for p in read_fence(tmp_path / "p" / "shenzhen-2.plan")] == [True, False]
    # launched 250 m south of the river, a stadium between home and the far end: a straight RTL
    # from there would fly over it, and the summary says so
    wps = [
        f["geometry"]["coordinates"] for f in route["features"] if f["properties"].get("kind") == "waypoint"
    ]
    home = offset(wps[0][1], wps[0][0], -250.0, 0.0)
    f.write_text(json.dumps(zones(stadium=((home[0] + far[1]) / 2, (home[1] + far[0]) / 2, 0.0002))))
    beside = runner.invoke(app, [*base, "--no-fly", str(f), "--home", f"{home[0]},{home[1]}"])
    assert beside.exit_code == 0, beside.output
    assert "straight RTL" in beside.output and "would cross 'stadium'" in " ".join(beside.output.split())
    f.write_text("{")
    assert runner.invoke(app, [*base, "--no-fly", str(f)]).exit_code == EXIT_BAD_RIVER


@settings(max_examples=40, deadline=None)
@given(st.floats(22.5188, 22.5212), st.floats(114.05, 114.07), st.floats(0.00005, 0.0008))  # on the river
def test_wherever_a_zone_lies_the_plan_goes_round_it_or_says_why_not(lat, lon, half) -> None:
    (zone,) = zones_from_geojson(zones(z=(lat, lon, half)), "z.geojson")
    opts = PlanOptions(30.0, 8.0, 0.3, 40.0, home=HOME, no_fly=(zone,), no_fly_margin_m=15.0)
    try:
        plan = plan_patrol(REACH, opts)
    except PlanError as e:
        assert "home is inside no-fly zone 'z'" in str(e) or "no way around" in str(e)
        return
    proj = Projection(*HOME)
    assert clearance([proj.to_xy(*p) for p in plan.route], [proj.to_xy(*p) for p in zone.ring]) >= 14.9
    assert keep_out(plan, [zone]).route == plan.route  # the last check finds nothing to refuse
