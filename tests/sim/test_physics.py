"""The airframe model honours its limits: speed, acceleration, climb, yaw rate, tilt, wind, battery."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from sim.vehicle.physics import (
    Battery,
    Body,
    Limits,
    Setpoint,
    Wind,
    WindModel,
    cell_ocv,
    current_draw,
    step,
)

DT = 0.02


def fly(body: Body, seconds: float, sp: Setpoint, wind: Wind = Wind(), lim: Limits = Limits()) -> list[Body]:
    trace = []
    for _ in range(round(seconds / DT)):
        step(body, DT, sp, wind, lim)
        trace.append(Body(**vars(body)))
    return trace


def airborne(up: float = 20.0) -> Body:
    return Body(up=up, on_ground=False)


def test_horizontal_speed_is_capped_and_acceleration_limited() -> None:
    lim = Limits(speed_xy=6.0, accel_xy=2.0)
    b = airborne()
    trace = fly(b, 10.0, Setpoint(vel_n=50.0), lim=lim)
    speeds = [t.groundspeed for t in trace]
    assert max(speeds) <= 6.0 + 1e-6
    assert speeds[-1] == pytest.approx(6.0, abs=0.05)
    accels = [(b2 - b1) / DT for b1, b2 in itertools.pairwise(speeds)]
    assert max(accels) <= 2.0 + 1e-6
    # reaching 6 m/s at <= 2 m/s^2 takes at least 3 s
    t_reach = next(i for i, s in enumerate(speeds) if s > 5.9) * DT
    assert t_reach >= 3.0


def test_climb_and_descent_rates_are_limited() -> None:
    lim = Limits(speed_up=2.0, speed_dn=1.0, accel_z=5.0)
    b = airborne(50.0)
    up = fly(b, 5.0, Setpoint(vel_u=10.0), lim=lim)
    assert max(t.vu for t in up) <= 2.0 + 1e-6
    dn = fly(b, 10.0, Setpoint(vel_u=-10.0), lim=lim)
    assert min(t.vu for t in dn) >= -1.0 - 1e-6


def test_takeoff_from_ground_and_landing_rests_on_ground() -> None:
    b = Body()
    fly(b, 1.0, Setpoint(vel_u=0.0))
    assert b.on_ground and b.up == 0.0
    fly(b, 3.0, Setpoint(vel_u=2.0))
    assert not b.on_ground and b.up > 3.0
    fly(b, 20.0, Setpoint(vel_u=-1.0))
    assert b.on_ground and b.up == 0.0 and not b.crashed


def test_yaw_turns_at_most_at_the_rate_limit() -> None:
    b = airborne()
    b.yaw = 0.0
    fly(b, 1.0, Setpoint(yaw=170.0), lim=Limits(yaw_rate=45.0))
    assert b.yaw == pytest.approx(45.0, abs=1.0)
    fly(b, 5.0, Setpoint(yaw=170.0), lim=Limits(yaw_rate=45.0))
    assert b.yaw == pytest.approx(170.0, abs=0.5)


def test_steady_wind_shows_as_a_lean_into_it_while_holding_position() -> None:
    b = airborne()
    b.yaw = 0.0  # facing north
    wind = Wind(n=0.0, e=8.0)  # air moving east: a west wind
    trace = fly(b, 30.0, Setpoint(), wind=wind)
    last = trace[-1]
    assert last.groundspeed < 0.2  # the controller holds still over the ground
    assert last.roll < -3.0  # leaning left (west), into the wind
    assert abs(last.pitch) < 1.0
    assert last.airspeed == pytest.approx(8.0, abs=0.3)


def test_gusts_push_the_vehicle_off_its_velocity_until_the_controller_catches_up() -> None:
    b = airborne()
    fly(b, 10.0, Setpoint())
    trace = fly(b, 1.0, Setpoint(), wind=Wind(n=6.0))  # sudden gust
    assert max(t.vn for t in trace) > 0.3
    settled = fly(b, 20.0, Setpoint(), wind=Wind(n=6.0))
    assert abs(settled[-1].vn) < 0.1


def test_without_horizontal_control_it_drifts_with_the_wind() -> None:
    b = airborne()
    fly(b, 60.0, Setpoint(hold_xy=False), wind=Wind(n=5.0))
    assert b.vn == pytest.approx(5.0, abs=0.3)
    assert abs(b.roll) < 0.5 and abs(b.pitch) < 0.5


def test_tilt_limit_caps_what_it_can_do_against_a_gale() -> None:
    b = airborne()
    fly(b, 30.0, Setpoint(), wind=Wind(n=-30.0), lim=Limits(angle_max=15.0))
    assert b.pitch <= 15.0 + 0.5
    assert b.vn < -1.0  # blown backwards: 15 deg of lean cannot hold against 30 m/s


def test_disarmed_in_the_air_it_falls_and_crashes() -> None:
    b = airborne(30.0)
    fly(b, 5.0, Setpoint(motors=False))
    assert b.on_ground and b.crashed


def test_battery_drains_with_current_and_sags_under_load() -> None:
    bat = Battery(capacity_mah=1000.0, cells=4)
    full = bat.voltage
    assert full == pytest.approx(16.8)
    bat.step(3600.0 / 2, 1.0)  # 1 A for half an hour = 500 mAh
    assert bat.consumed_mah == pytest.approx(500.0)
    assert bat.remaining_pct == pytest.approx(50.0)
    rest = bat.voltage
    bat.step(0.001, 20.0)
    assert bat.voltage < rest - 0.3  # sag under load
    bat.step(0.001, 20.0, sag_v=1.0)
    assert bat.voltage < rest - 1.3
    assert cell_ocv(0.0) < cell_ocv(0.5) < cell_ocv(1.0)


def test_current_grows_with_thrust_and_speed() -> None:
    hover = airborne()
    fly(hover, 5.0, Setpoint())
    fast = airborne()
    fly(fast, 15.0, Setpoint(vel_n=12.0), lim=Limits(speed_xy=12.0))
    idle = Body()
    i_hover = current_draw(hover, 20.0, armed=True)
    i_fast = current_draw(fast, 20.0, armed=True)
    assert i_hover == pytest.approx(20.4, abs=0.5)
    assert i_fast > i_hover * 1.1
    assert current_draw(idle, 20.0, armed=True) < 3.0
    assert current_draw(idle, 20.0, armed=False) < 1.0


def test_wind_model_mean_and_gusts_are_seeded() -> None:
    calm = WindModel(speed=5.0, from_deg=90.0)
    w = calm.step(DT)
    assert w.e == pytest.approx(-5.0) and w.n == pytest.approx(0.0, abs=1e-9)  # from the east
    assert w.from_deg == pytest.approx(90.0)
    a = WindModel(5.0, 0.0, 2.0, rng=random.Random(7))
    b = WindModel(5.0, 0.0, 2.0, rng=random.Random(7))
    sa = [a.step(DT) for _ in range(5000)]
    sb = [b.step(DT) for _ in range(5000)]
    assert sa == sb
    gust_e = [s.e for s in sa]
    std = math.sqrt(sum(x * x for x in gust_e) / len(gust_e))
    assert 0.5 < std < 4.0
