"""The energy model's arithmetic, and the battery refusal with a split that does fit."""

from __future__ import annotations

import math

import pytest

from contract.camera import CameraModel
from ground_station.planning.energy import EnergyModel, Wind, estimate
from ground_station.planning.planner import PlanOptions, advise_sorties, footprint_width_m, plan_patrol
from ground_station.planning.reach_source import bundled_reach
from ground_station.settings import GcsSettings

MODEL = EnergyModel(
    battery_wh=100.0,
    reserve=0.25,
    hover_power_w=200.0,
    drag_coeff=0.005,
    climb_speed_mps=2.0,
    descent_speed_mps=1.0,
    land_speed_mps=0.5,
    land_slow_alt_m=10.0,
    climb_power_factor=1.5,
    descent_power_factor=0.5,
    accel_mps2=2.0,
)


def test_estimate_by_hand():
    e = estimate(3000.0, [180.0, 90.0, 0.0], alt_m=30.0, speed_mps=10.0, model=MODEL)
    assert e.climb_s == pytest.approx(15.0)  # 30 m at 2 m/s
    assert e.descent_s == pytest.approx(20.0 + 20.0)  # 20 m at 1 m/s, last 10 m at 0.5 m/s
    assert e.cruise_s == pytest.approx(300.0)
    assert e.turns_s == pytest.approx(1.5 * 10.0 / 2.0)  # 1.5 reversals, each v/a = 5 s
    joules = 15 * 300 + 40 * 100 + 300 * 200 * (1 + 0.005 * 100) + 7.5 * 200
    assert e.energy_wh == pytest.approx(joules / 3600)
    assert e.battery_pct == pytest.approx(joules / 3600)  # 100 Wh pack: Wh == %
    assert e.fits


def test_longer_routes_cost_more_and_eventually_do_not_fit():
    short = estimate(1000.0, [], 30.0, 8.0, MODEL)
    long = estimate(20_000.0, [], 30.0, 8.0, MODEL)
    assert long.energy_wh > short.energy_wh
    assert short.fits and not long.fits
    assert MODEL.usable_wh == pytest.approx(75.0)


def test_bad_model_figures_are_refused():
    with pytest.raises(ValueError, match="reserve"):
        EnergyModel(**{**MODEL.__dict__, "reserve": 1.0})
    with pytest.raises(ValueError, match="hover_power_w"):
        EnergyModel(**{**MODEL.__dict__, "hover_power_w": 0.0})


def _model_from_settings(s: GcsSettings) -> EnergyModel:
    return EnergyModel(
        s.battery_wh,
        s.battery_reserve,
        s.hover_power_w,
        s.drag_coeff,
        s.climb_speed_mps,
        s.descent_speed_mps,
        s.land_speed_mps,
        s.land_slow_alt_m,
        s.climb_power_factor,
        s.descent_power_factor,
        s.accel_mps2,
    )


def test_whole_shenzhen_river_is_too_long_and_the_advised_split_fits():
    s = GcsSettings()
    model = _model_from_settings(s)
    reach = bundled_reach("shenzhen")
    near = (s.launch_near_lat, s.launch_near_lon)
    fp = footprint_width_m(CameraModel.default(), s.alt_m)
    opts = PlanOptions(s.alt_m, s.speed_mps, s.overlap, fp, home=reach.centerline[-1])
    whole = plan_patrol(reach, opts).estimate(model)
    assert not whole.fits
    advice = advise_sorties(reach, opts, model, launch_near=near)
    assert advice is not None and advice.sorties >= 2
    assert all(e.fits for e in advice.estimates)
    # one fewer sortie would not do (the advice is the fewest)
    fewer = advise_sorties(reach, opts, model, launch_near=near, max_sorties=advice.sorties - 1)
    assert fewer is None


def test_no_split_helps_when_home_is_beyond_round_trip_range():
    reach = bundled_reach("xinzhou")
    far_home = (22.70, 114.04)  # ~16 km north of the river
    fp = footprint_width_m(CameraModel.default(), 30.0)
    opts = PlanOptions(30.0, 8.0, 0.3, fp, home=far_home)
    assert advise_sorties(reach, opts, MODEL) is None


def test_a_wind_is_flown_through_at_each_leg_s_airspeed_and_costs_more_than_it_saves():
    """The autopilot holds the ground speed: a leg's airspeed is its ground velocity less the
    wind's. Out and back into and with a 5 m/s wind costs more than calm air (quadratic drag), and
    so does hovering (the climb, the descent, the turns) against it."""
    north = Wind(5.0, 0.0)  # blows from the north, towards the south
    assert north.airspeed(10.0, 0.0) == pytest.approx(15.0)  # flying north: into it
    assert north.airspeed(10.0, 180.0) == pytest.approx(5.0)  # flying south: with it
    assert north.airspeed(10.0, 90.0) == pytest.approx(math.hypot(10.0, 5.0))  # across it
    legs = [(1500.0, 0.0), (1500.0, 180.0)]
    calm = estimate(3000.0, [180.0], 30.0, 10.0, MODEL)
    windy = estimate(3000.0, [180.0], 30.0, 10.0, MODEL, north, legs)
    assert windy.total_s == pytest.approx(calm.total_s) and windy.calm_energy_wh == pytest.approx(
        calm.energy_wh
    )
    hover = (15 * 300 + 40 * 100 + 5 * 200) * (1 + 0.005 * 25)  # climb, descent, turn against 5 m/s
    cruise = 150 * 200 * (1 + 0.005 * 225) + 150 * 200 * (1 + 0.005 * 25)  # 15 m/s up, 5 m/s down
    assert windy.energy_wh == pytest.approx((hover + cruise) / 3600)
    assert windy.energy_wh > calm.energy_wh and windy.max_airspeed_mps == pytest.approx(15.0)
    no_legs = estimate(3000.0, [180.0], 30.0, 10.0, MODEL, north)  # every direction alike
    assert no_legs.energy_wh == pytest.approx(windy.energy_wh)  # out and back: v^2 + w^2 on average
    assert estimate(3000.0, [], 30.0, 10.0, MODEL, Wind(0.0, 90.0), legs).energy_wh == pytest.approx(
        estimate(3000.0, [], 30.0, 10.0, MODEL).energy_wh
    )
    with pytest.raises(ValueError, match="wind speed"):
        Wind(-1.0, 0.0)
