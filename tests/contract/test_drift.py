"""Where a drifting find is now: the extrapolation every component shares."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from contract.drift import DRIFT_HORIZON_S, where_now
from contract.geo import bearing_deg, distance_m
from contract.messages import Drift

LAT, LON = 22.5205, 114.0632
SEEN = datetime(2026, 12, 7, 21, 54, tzinfo=UTC)


def test_a_find_without_drift_or_time_is_where_it_was_seen():
    w = where_now(LAT, LON, None, SEEN, SEEN + timedelta(minutes=5))
    assert (w.lat, w.lon, w.moved_m, w.spread_m) == (LAT, LON, 0.0, 0.0)
    d = Drift(east_mps=0.3, north_mps=0.0, sigma_mps=0.02, over_s=60)
    w = where_now(LAT, LON, d, None, SEEN)
    assert (w.lat, w.lon, w.moved_m) == (LAT, LON, 0.0)


def test_a_drifting_find_is_carried_along_its_drift_and_its_radius_grows():
    d = Drift(east_mps=0.3, north_mps=-0.4, sigma_mps=0.02, over_s=60)
    w = where_now(LAT, LON, d, SEEN, SEEN + timedelta(seconds=200))
    assert math.isclose(w.moved_m, 100.0) and math.isclose(
        distance_m(LAT, LON, w.lat, w.lon), 100.0, rel_tol=1e-3
    )
    assert math.isclose(
        bearing_deg(LAT, LON, w.lat, w.lon), math.degrees(math.atan2(0.3, -0.4)) % 360, abs_tol=0.1
    )
    assert math.isclose(w.spread_m, 2 * math.sqrt(2) * 0.02 * 200) and not w.capped


def test_past_the_horizon_the_point_stops_and_says_so():
    d = Drift(east_mps=0.5, north_mps=0.0, sigma_mps=0.01, over_s=60)
    w = where_now(LAT, LON, d, SEEN, SEEN + timedelta(hours=3))
    assert w.capped and w.after_s == DRIFT_HORIZON_S and math.isclose(w.moved_m, 0.5 * DRIFT_HORIZON_S)


def test_a_still_find_or_a_clock_behind_moves_nothing():
    still = Drift(east_mps=0.01, north_mps=0.01, sigma_mps=0.01, over_s=60)
    w = where_now(LAT, LON, still, SEEN, SEEN + timedelta(minutes=10))
    assert (w.lat, w.lon, w.moved_m) == (LAT, LON, 0.0) and w.spread_m > 0
    fast = Drift(east_mps=0.5, north_mps=0.0, sigma_mps=0.01, over_s=60)
    assert where_now(LAT, LON, fast, SEEN, SEEN - timedelta(minutes=1)).moved_m == 0.0


def test_the_wire_drift_refuses_what_no_river_does():
    with pytest.raises(ValidationError, match="east_mps"):
        Drift(east_mps=40.0, north_mps=0.0, sigma_mps=0.1, over_s=10)
    with pytest.raises(ValidationError, match="over_s"):
        Drift(east_mps=0.1, north_mps=0.0, sigma_mps=0.1, over_s=0)
