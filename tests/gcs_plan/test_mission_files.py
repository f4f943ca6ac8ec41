"""Mission items, and the .plan / WPL / GeoJSON files: valid, and they read back to the same mission."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from pymavlink import mavwp
from pymavlink.dialects.v20 import ardupilotmega as mav

from contract.camera import CameraModel
from ground_station.planning import mission as m
from ground_station.planning.mission_files import (
    MissionFileError,
    parse_wpl,
    read_plan,
    read_wpl,
    route_geojson,
    write_plan,
    write_route_geojson,
    write_wpl,
)
from ground_station.planning.planner import PlanOptions, footprint_width_m, plan_patrol
from ground_station.planning.reach_source import bundled_reach


@pytest.fixture(scope="module")
def patrol():
    reach = bundled_reach("shenzhen", "shenzhen-4")
    fp = footprint_width_m(CameraModel.default(), 30.0)
    return plan_patrol(reach, PlanOptions(30.0, 8.0, 0.3, fp, home=reach.centerline[0]))


@pytest.fixture(scope="module")
def items(patrol):
    return m.build_mission(patrol)


def test_command_numbers_are_mavlinks():
    assert m.MAV_CMD_NAV_WAYPOINT == mav.MAV_CMD_NAV_WAYPOINT
    assert m.MAV_CMD_NAV_TAKEOFF == mav.MAV_CMD_NAV_TAKEOFF
    assert m.MAV_CMD_NAV_RETURN_TO_LAUNCH == mav.MAV_CMD_NAV_RETURN_TO_LAUNCH
    assert m.MAV_CMD_NAV_LAND == mav.MAV_CMD_NAV_LAND
    assert m.MAV_CMD_DO_CHANGE_SPEED == mav.MAV_CMD_DO_CHANGE_SPEED
    assert m.MAV_CMD_DO_MOUNT_CONTROL == mav.MAV_CMD_DO_MOUNT_CONTROL
    assert m.MAV_FRAME_GLOBAL_RELATIVE_ALT == mav.MAV_FRAME_GLOBAL_RELATIVE_ALT
    assert m.MAV_FRAME_MISSION == mav.MAV_FRAME_MISSION
    assert m.MAV_MOUNT_MODE_MAVLINK_TARGETING == mav.MAV_MOUNT_MODE_MAVLINK_TARGETING


def test_mission_shape(patrol, items):
    assert [it.seq for it in items] == list(range(len(items)))
    home, takeoff, speed, mount = items[:4]
    assert (home.x, home.y) == patrol.home and home.current == 1
    assert takeoff.command == m.MAV_CMD_NAV_TAKEOFF and takeoff.z == 30.0
    assert speed.command == m.MAV_CMD_DO_CHANGE_SPEED and speed.param2 == 8.0
    assert mount.command == m.MAV_CMD_DO_MOUNT_CONTROL and mount.param1 == -90.0
    assert items[-1].command == m.MAV_CMD_NAV_RETURN_TO_LAUNCH
    wps = items[4:-1]
    assert len(wps) == len(patrol.waypoints)
    assert all(it.command == m.MAV_CMD_NAV_WAYPOINT and it.frame == 3 and it.z == 30.0 for it in wps)


def test_wpl_round_trips_and_pymavlink_reads_it(tmp_path, items):
    path = tmp_path / "mission.waypoints"
    write_wpl(path, items)
    lines = path.read_text().splitlines()
    assert lines[0] == "QGC WPL 110"
    assert all(len(line.split("\t")) == 12 for line in lines[1:])
    assert lines[1].split("\t")[:4] == ["0", "1", "0", "16"]  # home line 0
    back = read_wpl(path)
    assert len(back) == len(items)
    assert all(a.same_as(b, tol=0.0) for a, b in zip(items, back, strict=True))

    loader = mavwp.MAVWPLoader()
    assert loader.load(str(path)) == len(items)
    for k, it in enumerate(items):
        wp = loader.wp(k)
        assert (wp.command, wp.frame) == (it.command, it.frame)
        assert wp.x == pytest.approx(it.x) and wp.y == pytest.approx(it.y) and wp.z == pytest.approx(it.z)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("QGC WPL 100\n", ":1:"),
        ("QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t22.5\t114.0\t0\n", ":2: expected 12"),
        ("QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t22.5\tabc\t0\t1\n", ":2:"),
        (
            "QGC WPL 110\n0\t1\t0\t16\t0\t0\t0\t0\t22.5\t114.0\t0\t1\n"
            "2\t0\t3\t16\t0\t0\t0\t0\t22.5\t114.0\t30\t1\n",
            ":3: sequence",
        ),
        ("QGC WPL 110\n", "no mission items"),
    ],
)
def test_bad_wpl_is_rejected_with_the_line(text, where):
    with pytest.raises(MissionFileError, match=where):
        parse_wpl(text, "x.waypoints")


def test_unreadable_wpl_names_the_file(tmp_path):
    with pytest.raises(MissionFileError, match=r"nope\.waypoints"):
        read_wpl(tmp_path / "nope.waypoints")


def test_plan_file_has_the_qgc_keys_and_round_trips(tmp_path, items):
    path = tmp_path / "mission.plan"
    write_plan(path, items, cruise_speed=8.0, hover_speed=5.0)
    doc = json.loads(path.read_text())
    assert doc["fileType"] == "Plan" and doc["version"] == 1
    assert doc["geoFence"]["polygons"] == [] and doc["geoFence"]["circles"] == []
    assert doc["rallyPoints"]["points"] == []
    mission = doc["mission"]
    assert mission["firmwareType"] == 3 and mission["vehicleType"] == 2
    assert mission["cruiseSpeed"] == 8.0 and mission["hoverSpeed"] == 5.0
    assert mission["plannedHomePosition"][:2] == [items[0].x, items[0].y]
    assert len(mission["items"]) == len(items) - 1
    for k, it in enumerate(mission["items"], start=1):
        assert it["type"] == "SimpleItem" and it["doJumpId"] == k
        assert set(it) >= {"command", "params", "frame", "autoContinue"}
        assert len(it["params"]) == 7
    back = read_plan(path)
    assert all(a.same_as(b, tol=0.0) for a, b in zip(items, back, strict=True))


def test_plan_file_that_is_not_a_plan_is_rejected(tmp_path):
    bad = tmp_path / "bad.plan"
    bad.write_text(json.dumps({"fileType": "GeoFence"}))
    with pytest.raises(MissionFileError, match="fileType"):
        read_plan(bad)
    bad.write_text("{")
    with pytest.raises(MissionFileError, match="cannot read JSON"):
        read_plan(bad)


def _inside(point, ring) -> bool:
    """Even-odd ray casting."""
    x, y = point
    inside = False
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def test_route_geojson_round_trips(tmp_path, patrol, items, measure):
    path = tmp_path / "route.geojson"
    write_route_geojson(path, patrol, items)
    doc = json.loads(path.read_text())
    assert doc["type"] == "FeatureCollection"
    kinds = [f["properties"]["kind"] for f in doc["features"]]
    route = next(f for f in doc["features"] if f["properties"]["kind"] == "route")["geometry"]
    assert route["type"] == "LineString"
    home_lonlat = [patrol.home[1], patrol.home[0]]
    assert route["coordinates"][0] == pytest.approx(home_lonlat) and route["coordinates"][
        -1
    ] == pytest.approx(home_lonlat)
    points = [f for f in doc["features"] if f["geometry"]["type"] == "Point"]
    assert kinds.count("home") == 1
    assert len(points) == sum(it.is_nav for it in items)  # home (seq 0) is a NAV_WAYPOINT too
    wp_points = [p for p in points if p["properties"]["kind"] == "waypoint" and "pass" in p["properties"]]
    got = np.array([p["geometry"]["coordinates"] for p in wp_points])
    assert np.allclose(got, [[w.lon, w.lat] for w in patrol.waypoints], rtol=0, atol=1e-8)
    coverage = next(f for f in doc["features"] if f["properties"]["kind"] == "coverage")["geometry"]
    assert coverage["type"] == "MultiPolygon" and len(coverage["coordinates"]) == patrol.passes
    # every waypoint lies inside its own pass's swath; every ring is closed
    ref = patrol.home
    for k, polygon in enumerate(coverage["coordinates"], start=1):
        ring = polygon[0]
        assert ring[0] == ring[-1]
        ring_xy = measure.local([(lat, lon) for lon, lat in ring], ref)
        pts = measure.local([(w.lat, w.lon) for w in patrol.waypoints if w.pass_no == k], ref)
        assert all(_inside(p, ring_xy) for p in pts[1:-1])  # the ends lie on the flat caps
        # and the swath is about a footprint wide: a point 0.6 footprints off the track is outside
        a, b = pts[0], pts[1]
        n = np.array([-(b - a)[1], (b - a)[0]]) / np.linalg.norm(b - a)
        mid = (a + b) / 2
        assert not _inside(mid + 0.6 * patrol.options.footprint_m * n, ring_xy)
        assert _inside(mid + 0.45 * patrol.options.footprint_m * n, ring_xy)
    assert route_geojson(patrol, items) == doc
