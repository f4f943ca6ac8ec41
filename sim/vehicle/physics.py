"""Point-mass multicopter with the limits that shape a patrol: speed, acceleration, climb, yaw, tilt.

Pure and deterministic: :func:`step` advances a :class:`Body` by ``dt`` simulated seconds
towards a velocity :class:`Setpoint` under a :class:`Wind`, nothing else. The frame is local
east/north/up metres around the EKF origin (the boot location); angles are degrees.

The model is what a position controller over a real airframe looks like from the outside:

* the commanded horizontal acceleration is ``KP_VEL`` times the velocity error, capped at the
  acceleration limit (``WPNAV_ACCEL``), speeds capped at the speed limit (``WPNAV_SPEED``);
* the vehicle also tilts into the air-relative drag it *believes* it has (its wind estimate
  lags the real wind by ``WIND_EST_TAU``), so a steady wind shows as a steady lean and a gust
  pushes it off track until the estimate catches up;
* thrust is capped by ``ANGLE_MAX``: in a wind stronger than that, the vehicle cannot hold on;
* vertical speed follows its setpoint within the climb/descent and vertical-acceleration
  limits; yaw turns at most at the yaw-rate limit;
* disarmed in the air, it falls; touching the ground faster than ``CRASH_SPEED`` is a crash.

:class:`Battery` turns the current drawn into voltage and consumed charge (a LiPo curve
with internal resistance), and :class:`WindModel` makes a mean wind with seeded gusts.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass, field

G = 9.80665
#: Drag: air-relative acceleration ``-(LIN + K * |v|) * v`` (rotor drag is mostly linear in
#: airspeed, body drag quadratic); about 12 deg of lean at 10 m/s.
DRAG_LIN = 0.1  # 1/s
DRAG_K = 0.012  # 1/m
KP_VEL = 2.0  # 1/s, horizontal velocity loop
KP_VEL_Z = 3.0  # 1/s, vertical velocity loop
WIND_EST_TAU = 2.0  # s
CRASH_SPEED = 3.0  # m/s vertical at touchdown


@dataclass(frozen=True)
class Limits:
    """Physical limits of one step, in SI units (the autopilot converts parameters)."""

    speed_xy: float = 10.0  # m/s
    accel_xy: float = 2.5  # m/s^2
    speed_up: float = 2.5  # m/s
    speed_dn: float = 1.5  # m/s (positive)
    accel_z: float = 2.5  # m/s^2
    yaw_rate: float = 60.0  # deg/s
    angle_max: float = 30.0  # deg


@dataclass(frozen=True)
class Setpoint:
    """What the autopilot asks of the airframe for the next step.

    ``hold_xy=False`` levels the vehicle horizontally (no position or velocity control): it
    drifts with the wind, as a copter without a position estimate does.
    """

    vel_n: float = 0.0
    vel_e: float = 0.0
    vel_u: float = 0.0
    yaw: float | None = None
    hold_xy: bool = True
    motors: bool = True


@dataclass(frozen=True)
class Wind:
    """Velocity of the air (towards which it moves), m/s."""

    n: float = 0.0
    e: float = 0.0

    @property
    def speed(self) -> float:
        return math.hypot(self.n, self.e)

    @property
    def from_deg(self) -> float:
        """Meteorological direction: where the wind comes from, degrees."""
        return math.degrees(math.atan2(-self.e, -self.n)) % 360.0


@dataclass
class Body:
    """Kinematic state of the airframe (the truth a perfect sensor would see)."""

    north: float = 0.0
    east: float = 0.0
    up: float = 0.0
    vn: float = 0.0
    ve: float = 0.0
    vu: float = 0.0
    yaw: float = 0.0
    yaw_rate: float = 0.0
    roll: float = 0.0
    pitch: float = 0.0
    accel_n: float = 0.0
    accel_e: float = 0.0
    accel_u: float = 0.0
    #: Thrust / weight: 1 in a hover, 0 with the motors off.
    thrust_ratio: float = 0.0
    airspeed: float = 0.0
    on_ground: bool = True
    crashed: bool = False
    wind_est_n: float = 0.0
    wind_est_e: float = 0.0

    @property
    def groundspeed(self) -> float:
        return math.hypot(self.vn, self.ve)

    @property
    def course(self) -> float:
        return math.degrees(math.atan2(self.ve, self.vn)) % 360.0


def wrap180(deg: float) -> float:
    return (deg + 180.0) % 360.0 - 180.0


def _clip_vec(x: float, y: float, limit: float) -> tuple[float, float]:
    m = math.hypot(x, y)
    if m > limit > 0.0:
        s = limit / m
        return x * s, y * s
    if limit <= 0.0:
        return 0.0, 0.0
    return x, y


def _drag(vn: float, ve: float) -> tuple[float, float]:
    k = DRAG_LIN + DRAG_K * math.hypot(vn, ve)
    return -k * vn, -k * ve


def step(body: Body, dt: float, sp: Setpoint, wind: Wind, lim: Limits) -> Body:
    """Advance ``body`` in place by ``dt`` seconds and return it."""
    if dt <= 0:
        return body
    air_n, air_e = body.vn - wind.n, body.ve - wind.e

    if not sp.motors:
        body.thrust_ratio = 0.0
        if body.on_ground:
            _rest(body)
            return body
        dn, de = _drag(air_n, air_e)
        az = -G - DRAG_K * abs(body.vu) * body.vu
        _integrate(body, dt, dn, de, az)
        body.roll = body.pitch = 0.0
        body.airspeed = math.hypot(body.vn - wind.n, body.ve - wind.e)
        _touchdown(body)
        return body

    if body.on_ground and sp.vel_u <= 0.0:
        _rest(body)
        body.thrust_ratio = 0.1  # motors spinning at idle
        _turn(body, dt, sp, lim, on_ground=True)
        return body
    body.on_ground = False

    # wind estimate lags the real wind
    k = min(1.0, dt / WIND_EST_TAU)
    body.wind_est_n += (wind.n - body.wind_est_n) * k
    body.wind_est_e += (wind.e - body.wind_est_e) * k

    tilt_limit = G * math.tan(math.radians(max(1.0, min(lim.angle_max, 80.0))))
    if sp.hold_xy:
        tn, te = _clip_vec(sp.vel_n, sp.vel_e, lim.speed_xy)
        cmd_n, cmd_e = _clip_vec(KP_VEL * (tn - body.vn), KP_VEL * (te - body.ve), lim.accel_xy)
        est_dn, est_de = _drag(body.vn - body.wind_est_n, body.ve - body.wind_est_e)
        thrust_n, thrust_e = _clip_vec(cmd_n - est_dn, cmd_e - est_de, tilt_limit)
    else:
        thrust_n = thrust_e = 0.0
    drag_n, drag_e = _drag(air_n, air_e)

    tz = max(-lim.speed_dn, min(lim.speed_up, sp.vel_u))
    az = max(-lim.accel_z, min(lim.accel_z, KP_VEL_Z * (tz - body.vu)))

    _integrate(body, dt, thrust_n + drag_n, thrust_e + drag_e, az)
    _turn(body, dt, sp, lim, on_ground=False)

    # attitude: lean the thrust vector into the commanded horizontal force
    c, s = math.cos(math.radians(body.yaw)), math.sin(math.radians(body.yaw))
    fwd = thrust_n * c + thrust_e * s
    right = -thrust_n * s + thrust_e * c
    gz = G + az
    body.pitch = -math.degrees(math.atan2(fwd, gz))
    body.roll = math.degrees(math.atan2(right, gz))
    body.thrust_ratio = math.sqrt(thrust_n**2 + thrust_e**2 + gz**2) / G
    body.airspeed = math.hypot(body.vn - wind.n, body.ve - wind.e)
    _touchdown(body)
    return body


def _integrate(body: Body, dt: float, an: float, ae: float, au: float) -> None:
    body.accel_n, body.accel_e, body.accel_u = an, ae, au
    body.vn += an * dt
    body.ve += ae * dt
    body.vu += au * dt
    body.north += body.vn * dt
    body.east += body.ve * dt
    body.up += body.vu * dt


def _turn(body: Body, dt: float, sp: Setpoint, lim: Limits, *, on_ground: bool) -> None:
    if sp.yaw is None or on_ground:
        body.yaw_rate = 0.0
        return
    err = wrap180(sp.yaw - body.yaw)
    max_step = lim.yaw_rate * dt
    turn = max(-max_step, min(max_step, err))
    body.yaw = (body.yaw + turn) % 360.0
    body.yaw_rate = turn / dt


def _rest(body: Body) -> None:
    body.vn = body.ve = body.vu = 0.0
    body.accel_n = body.accel_e = body.accel_u = 0.0
    body.roll = body.pitch = 0.0
    body.yaw_rate = 0.0
    body.airspeed = 0.0
    body.up = 0.0


def _touchdown(body: Body) -> None:
    if body.up <= 0.0 and body.vu <= 0.0:
        if body.vu < -CRASH_SPEED:
            body.crashed = True
        body.on_ground = True
        _rest(body)


# --- battery ----------------------------------------------------------------------------------

#: Open-circuit volts per LiPo cell against state of charge.
_OCV = (
    (0.00, 3.27),
    (0.05, 3.50),
    (0.10, 3.60),
    (0.20, 3.69),
    (0.30, 3.73),
    (0.40, 3.77),
    (0.50, 3.80),
    (0.60, 3.84),
    (0.70, 3.90),
    (0.80, 3.97),
    (0.90, 4.07),
    (1.00, 4.20),
)


def cell_ocv(soc: float) -> float:
    soc = max(0.0, min(1.0, soc))
    for (s0, v0), (s1, v1) in itertools.pairwise(_OCV):
        if soc <= s1:
            return v0 + (v1 - v0) * (soc - s0) / (s1 - s0)
    return _OCV[-1][1]


@dataclass
class Battery:
    """A LiPo pack: voltage = cells x OCV(state of charge) - current x resistance - sag."""

    capacity_mah: float = 10000.0
    cells: int = 4
    resistance_ohm: float = 0.02
    consumed_mah: float = 0.0
    energy_wh: float = 0.0
    current_a: float = 0.0
    voltage: float = field(default=0.0)

    def __post_init__(self) -> None:
        if self.voltage == 0.0:
            self.voltage = self.cells * cell_ocv(self.soc)

    @property
    def soc(self) -> float:
        if self.capacity_mah <= 0:
            return 0.0
        return max(0.0, 1.0 - self.consumed_mah / self.capacity_mah)

    @property
    def remaining_mah(self) -> float:
        return max(0.0, self.capacity_mah - self.consumed_mah)

    @property
    def remaining_pct(self) -> float:
        return 100.0 * self.soc

    def step(self, dt: float, current_a: float, sag_v: float = 0.0) -> None:
        self.current_a = current_a
        self.consumed_mah += current_a * dt / 3.6
        self.voltage = max(0.0, self.cells * cell_ocv(self.soc) - current_a * self.resistance_ohm - sag_v)
        self.energy_wh += self.voltage * current_a * dt / 3600.0


def current_draw(body: Body, hover_current_a: float, armed: bool) -> float:
    """Amps drawn: avionics, idle when armed on the ground, else hover current scaled by thrust.

    Power of a rotor goes with thrust^1.5; forward flight costs a little more with airspeed
    (profile drag), which is what makes a fast patrol leg visibly drain the pack.
    """
    avionics = 0.4
    if not armed or body.thrust_ratio <= 0.0:
        return avionics
    if body.on_ground:
        return avionics + 0.08 * hover_current_a
    return avionics + hover_current_a * body.thrust_ratio**1.5 * (1.0 + 0.002 * body.airspeed**2)


# --- wind -------------------------------------------------------------------------------------


class WindModel:
    """Mean wind plus gusts: a first-order Gauss-Markov process per axis, seeded."""

    def __init__(
        self,
        speed: float = 0.0,
        from_deg: float = 0.0,
        gust_std: float = 0.0,
        gust_tau: float = 4.0,
        rng: random.Random | None = None,
    ) -> None:
        self.speed, self.from_deg, self.gust_std, self.gust_tau = speed, from_deg, gust_std, gust_tau
        self._rng = rng or random.Random(0)
        self._gn = self._ge = 0.0

    def set(self, speed: float | None = None, from_deg: float | None = None, gust_std: float | None = None):
        if speed is not None:
            self.speed = max(0.0, speed)
        if from_deg is not None:
            self.from_deg = from_deg
        if gust_std is not None:
            self.gust_std = max(0.0, gust_std)

    def step(self, dt: float) -> Wind:
        if self.gust_std > 0.0:
            a = math.exp(-dt / self.gust_tau)
            b = self.gust_std * math.sqrt(1.0 - a * a)
            self._gn = a * self._gn + b * self._rng.gauss(0.0, 1.0)
            self._ge = a * self._ge + b * self._rng.gauss(0.0, 1.0)
        else:
            self._gn = self._ge = 0.0
        r = math.radians(self.from_deg)
        return Wind(n=-self.speed * math.cos(r) + self._gn, e=-self.speed * math.sin(r) + self._ge)
