"""``gcs mission goto``'s pure core: which point a target names (a drifting find's: where it likely
is now), and whether the straight line there is safe to fly (fence all the way, no-fly zones,
distance, height)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract import geo
from contract.drift import DRIFT_HORIZON_S, STILL_MPS, where_now
from contract.mavlink import FencePolygon
from contract.messages import Alert, Drift
from ground_station.missions.drift_target import (
    Aim,
    aim_at,
    compass,
    drift_mark,
    drifting,
    goto_aim,
)
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
from tests.gcs_relay.conftest import make_alert

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


# --- a find that drifts: flown to where it likely is now ---------------------------------------------

SEEN_AT = datetime(2026, 6, 1, 6, 30, tzinfo=UTC)
EAST = Drift(east_mps=0.28, north_mps=-0.025, sigma_mps=0.01, over_s=20.0)  # 95°: a city river's current


def drifting_find(drift: Drift | None, seen: datetime = SEEN_AT) -> Alert:
    """The bottle of test alert 1, last seen at ``seen`` drifting so (``None``: the drone could not tell)."""
    a = make_alert(1)
    return a.model_copy(update={"drift": drift, "track": a.track.model_copy(update={"last_seen": seen})})


def hhmm(at: datetime) -> str:
    return at.astimezone().strftime("%H:%M")


def test_a_drift_reads_as_a_speed_and_a_compass_point() -> None:
    assert math.isclose(EAST.toward_deg, 95.1, abs_tol=0.1) and compass(95.1) == "E"
    assert [compass(d) for d in (0, 22, 23, 180, 337, 338, 359.9)] == ["N", "N", "NE", "S", "NW", "N", "N"]
    assert drifting(EAST) == "drifting 0.28 m/s toward E"
    assert drift_mark(EAST) == "0.28 m/s E" and drift_mark(None) == "-"
    still = Drift(east_mps=0.01, north_mps=0.01, sigma_mps=0.01, over_s=5.0)
    assert drifting(still) == "not drifting" and drift_mark(still) == "still"


def test_a_drifting_find_is_flown_to_where_it_likely_is_now_and_the_operator_told_how_far() -> None:
    find, now = drifting_find(EAST), SEEN_AT + timedelta(minutes=3)
    aim = aim_at(find, now)
    w = where_now(find.lat, find.lon, EAST, SEEN_AT, now)
    assert (aim.point.lat, aim.point.lon) == (w.lat, w.lon)
    assert math.isclose(geo.distance_m(find.lat, find.lon, aim.point.lat, aim.point.lon), 50.6, abs_tol=0.5)
    assert aim.point.what == "where the bottle of alert 3aecc28e likely is now"
    radius = round(find.uncertainty_m + w.spread_m)  # its own radius and the drift's error
    assert aim.said == (
        "3aecc28e bottle drifts 0.28 m/s toward 95° (E), seen on 1 pass over 20 s: flying to where it is"
        f" likely now, 51 m on from where seen at {hhmm(SEEN_AT)} (±{radius} m)"
    )
    # what it rests on, for the operator to weigh: passes minutes apart may have been two look-alikes
    two = find.model_copy(update={"track": find.track.model_copy(update={"passes": 2})})
    long = two.model_copy(update={"drift": EAST.model_copy(update={"over_s": 432.0})})
    assert ", seen on 2 passes over 7 min: flying" in aim_at(long, now).said
    seen = aim_at(find, now, as_seen=True)
    assert (seen.point.lat, seen.point.lon) == (find.lat, find.lon)
    assert seen.said.endswith(
        f"flying to where it was seen at {hhmm(SEEN_AT)} (--as-seen), 51 m from where it is likely now"
    )


def test_seen_over_the_horizon_ago_the_point_stops_and_is_called_a_guess() -> None:
    aim = aim_at(drifting_find(EAST), SEEN_AT + timedelta(hours=2))
    moved = geo.distance_m(make_alert(1).lat, make_alert(1).lon, aim.point.lat, aim.point.lon)
    assert math.isclose(moved, math.hypot(0.28, 0.025) * DRIFT_HORIZON_S, rel_tol=1e-3)  # 30 min, not 2 h
    assert aim.point.what == "where the bottle of alert 3aecc28e may have drifted"
    said = aim.said
    assert f"but was seen over 30 min ago, at {hhmm(SEEN_AT)}: flying 506 m on" in said and "a guess" in said
    assert said.endswith("(--as-seen flies to where it was seen)")


def test_without_a_drift_or_a_still_one_it_is_flown_to_where_seen_saying_why() -> None:
    now = SEEN_AT + timedelta(minutes=10)
    unknown = aim_at(drifting_find(None), now)
    assert unknown.point == GotoPoint(make_alert(1).lat, make_alert(1).lon, "the bottle of alert 3aecc28e")
    seen = hhmm(SEEN_AT)
    assert unknown.said == f"3aecc28e bottle: its drift is unknown; flying to where it was seen at {seen}"
    still = aim_at(drifting_find(Drift(east_mps=0.02, north_mps=0.0, sigma_mps=0.01, over_s=8.0)), now)
    assert still.point == unknown.point
    assert still.said == f"3aecc28e bottle was not drifting when seen at {seen}: flying to where it was seen"


def test_goto_aim_reads_the_outbox_payload_and_lets_coordinates_be() -> None:
    find = drifting_find(EAST)
    payloads = [json.loads(find.model_dump_json()), json.loads(make_alert(2).model_dump_json())]
    now = SEEN_AT + timedelta(minutes=3)
    assert goto_aim("3aecc28e", payloads, now) == aim_at(find, now)
    assert goto_aim("3AECC", payloads, now, as_seen=True) == aim_at(find, now, as_seen=True)
    assert goto_aim("22.5,114.0", payloads, now) == Aim(GotoPoint(22.5, 114.0, "22.500000,114.000000"))
    odd = {**payloads[0], "drift": {"east_mps": "fast"}}  # not this version's alert: where seen, said so
    aim = goto_aim("3aecc28e", [odd], now)
    assert aim.point == GotoPoint(find.lat, find.lon, "the bottle of alert 3aecc28e")
    assert aim.said == (
        "the bottle of alert 3aecc28e does not read as an alert here (drift.east_mps: Input should be a valid"
        " number, unable to parse string as a number (4 error(s))): flying to where it was seen"
    )
    with pytest.raises(GotoError, match="no relay outbox here"):
        goto_aim("3aecc28e", None, now)


@given(st.floats(-1.0, 1.0), st.floats(-1.0, 1.0), st.floats(0.0, 3 * DRIFT_HORIZON_S), st.booleans())
def test_the_point_is_as_far_as_the_drift_carries_it_in_the_time_capped(
    east: float, north: float, after_s: float, as_seen: bool
) -> None:
    drift = Drift(east_mps=east, north_mps=north, sigma_mps=0.05, over_s=10.0)
    find = drifting_find(drift)
    aim = aim_at(find, SEEN_AT + timedelta(seconds=after_s), as_seen)
    moved = geo.distance_m(find.lat, find.lon, aim.point.lat, aim.point.lon)
    speed = math.hypot(east, north)
    expected = 0.0 if as_seen or speed < STILL_MPS else speed * min(after_s, DRIFT_HORIZON_S)
    assert math.isclose(moved, expected, rel_tol=1e-3, abs_tol=0.01)
    if expected > 1.0:
        bearing = geo.bearing_deg(find.lat, find.lon, aim.point.lat, aim.point.lon)
        assert abs((bearing - drift.toward_deg + 180) % 360 - 180) < 0.5
