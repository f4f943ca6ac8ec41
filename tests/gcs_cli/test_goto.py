"""``gcs mission goto``'s pure core: which point a target names, and whether the straight line
there is safe to fly (fence all the way, no-fly zones, distance, height)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract import geo
from contract.mavlink import FencePolygon
from ground_station.missions.goto import (
    GotoError,
    GotoLimits,
    GotoPoint,
    arrived,
    find_alert,
    goto_problems,
    parse_point,
    point_of,
)
from ground_station.planning.planner import NoFlyZone

HOME = (22.5205, 114.0632)
LIMITS = GotoLimits(max_distance_m=2000.0, min_alt_m=5.0, ceiling_m=120.0)


def at(north: float, east: float) -> tuple[float, float]:
    return geo.offset(*HOME, north, east)


def square(n0: float, e0: float, n1: float, e1: float) -> tuple[tuple[float, float], ...]:
    return (at(n0, e0), at(n0, e1), at(n1, e1), at(n1, e0))


#: An L: up the river 500 m, 60 m wide, then 400 m east along a tributary.
L_FENCE = [FencePolygon(True, (at(0, 0), at(0, 60), at(440, 60), at(440, 460), at(500, 460), at(500, 0)))]


def test_a_target_is_lat_lon_or_an_alert_id() -> None:
    assert parse_point("22.5205,114.0632") == (22.5205, 114.0632)
    assert parse_point(" 22.5205, 114.0632 ") == (22.5205, 114.0632)
    for not_a_point in ("3f2a1b2c", "22.5", "91,114", "22.5,181", "nan,1", "1,2,3", ""):
        assert parse_point(not_a_point) is None
    alerts = [
        {"alert_id": "3f2a1b2c-aaaa", "lat": 22.52, "lon": 114.06, "debris_class": "bottle"},
        {"alert_id": "3f2a9999-bbbb", "lat": 22.53, "lon": 114.07, "debris_class": "bag"},
    ]
    assert find_alert(alerts, "3F2A1")["debris_class"] == "bottle"  # as typed from a phone
    with pytest.raises(GotoError, match=r"ambiguous \(3f2a1b2c, 3f2a9999\): give more of it"):
        find_alert(alerts, "3f2a")
    with pytest.raises(GotoError, match="no alert with id starting 'ffff'"):
        find_alert(alerts, "ffff")
    assert point_of("3f2a9", alerts) == GotoPoint(22.53, 114.07, "the bag of alert 3f2a9999")
    assert point_of("22.5,114.0", None).what == "22.500000,114.000000"
    with pytest.raises(GotoError, match="no relay outbox here"):
        point_of("3f2a9", None)


def test_a_point_inside_the_fence_on_a_clear_line_is_flown_to() -> None:
    assert goto_problems(at(100, 30), GotoPoint(*at(300, 20), "x"), 12.0, LIMITS, L_FENCE) == []


def test_a_point_outside_the_fence_and_a_line_that_leaves_it_are_refused() -> None:
    outside = goto_problems(at(100, 30), GotoPoint(*at(100, 200), "x"), 30.0, LIMITS, L_FENCE)
    assert outside == ["it is outside the vehicle's geofence: the fence would turn it back"]
    # both ends inside the L, the straight line across its corner is not: it would breach on the way
    (cut,) = goto_problems(at(100, 30), GotoPoint(*at(470, 400), "x"), 30.0, LIMITS, L_FENCE)
    assert cut.startswith("the straight line there leaves the vehicle's geofence ")
    metres = float(cut.split()[-3].replace(",", ""))
    assert abs(metres - 30 * math.sqrt(2)) <= 2.0  # over the bank 30 m east: 42 m along the diagonal


def test_no_fly_zones_distance_and_height_are_each_said() -> None:
    zone = NoFlyZone("hospital helipad", square(180, 10, 220, 50))
    problems = goto_problems(
        at(100, 30), GotoPoint(*at(300, 30), "x"), 3.0, GotoLimits(150.0, 5.0, 120.0), zones=[zone]
    )
    assert problems == [
        "it is 200 m away, farther than goto_max_m (150 m): a mistyped point?",
        "3 m is below goto_min_alt_m (5 m above home: banks, bridges, boats)",
        "the straight line there enters no-fly zone 'hospital helipad'",
    ]
    high = goto_problems(at(100, 30), GotoPoint(*at(120, 30), "x"), 130.0, LIMITS)
    assert high == ["130 m is above the fence's ceiling (120 m, FENCE_ALT_MAX)"]
    assert goto_problems(at(100, 30), GotoPoint(*at(120, 30), "x"), 130.0, GotoLimits(2000.0, 5.0)) == []


@given(st.floats(1, 499), st.floats(1, 59), st.floats(1, 499), st.floats(1, 59))
def test_within_the_river_s_straight_reach_any_line_is_inside(
    n0: float, e0: float, n1: float, e1: float
) -> None:
    """The L's straight stretch is convex: every line inside it keeps inside the fence."""
    problems = goto_problems(at(n0, e0), GotoPoint(*at(n1, e1), "x"), 20.0, LIMITS, L_FENCE)
    assert not any("geofence" in p for p in problems)


def test_arrived_over_the_point_in_both_position_and_height() -> None:
    p = GotoPoint(*at(100, 0), "x")
    assert arrived((*at(102, 1), 12.5), p, 12.0)
    assert not arrived((*at(105, 0), 12.0), p, 12.0) and not arrived((*at(100, 0), 16.0), p, 12.0)
    assert math.isclose(geo.distance_m(*at(102, 1), p.lat, p.lon), math.hypot(2, 1), rel_tol=1e-3)
