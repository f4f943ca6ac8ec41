"""Flight time and battery use of a patrol: a deliberately simple, documented energy model.

The model (all figures are settings, defaults in ``ground_station.settings``):

* climb to the patrol altitude at ``climb_speed`` drawing ``hover_power * climb_power_factor``;
* cruise the route at ``speed`` drawing ``hover_power * (1 + drag_coeff * speed**2)`` — hover
  power plus a parasitic-drag term that grows with the square of speed (a flat-plate rule of
  thumb; it ignores the translational-lift saving around 5-10 m/s, so it errs on the safe side);
* every waypoint costs ``(turn / 180 deg) * speed / accel`` extra seconds at hover power: a
  full reversal is a stop and a restart at ``accel`` (ArduPilot ``WPNAV_ACCEL``), straight
  waypoints cost nothing;
* descend at ``descent_speed`` to ``land_slow_alt`` and land at ``land_speed`` (ArduPilot
  ``WPNAV_SPEED_DN``, ``LAND_ALT_LOW``, ``LAND_SPEED``) at ``hover_power * descent_power_factor``.

A plan *fits* when its energy is at most ``battery_wh * (1 - reserve)``. Temperature and
battery ageing are not modelled: that is what the reserve is for.

Wind, where the operator gives it (:class:`Wind`): the autopilot holds its ground speed, so each
leg takes the same time, but the drag term reads the leg's *airspeed*, ``|v_ground - v_wind|``:
a headwind leg costs more than a tailwind leg saves (the cost is quadratic), and hovering (the
climb, the descent, the turns) holds against the wind at its speed. A leg whose airspeed would
exceed the vehicle's ``max_airspeed_mps`` cannot be flown at the planned ground speed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class EnergyModel:
    """The vehicle and battery figures the estimate needs."""

    battery_wh: float
    reserve: float
    hover_power_w: float
    drag_coeff: float
    climb_speed_mps: float
    descent_speed_mps: float
    land_speed_mps: float
    land_slow_alt_m: float
    climb_power_factor: float
    descent_power_factor: float
    accel_mps2: float

    def __post_init__(self) -> None:
        if not 0 <= self.reserve < 1:
            raise ValueError(f"battery reserve must be in [0, 1), got {self.reserve}")
        for name in ("battery_wh", "hover_power_w", "climb_speed_mps", "descent_speed_mps"):
            if getattr(self, name) <= 0:
                raise ValueError(f"energy model {name} must be > 0, got {getattr(self, name)}")
        if self.land_speed_mps <= 0 or self.accel_mps2 <= 0:
            raise ValueError("energy model land_speed_mps and accel_mps2 must be > 0")

    @property
    def usable_wh(self) -> float:
        """Energy a plan may use: the battery less the reserve."""
        return self.battery_wh * (1 - self.reserve)

    def cruise_power_w(self, speed_mps: float) -> float:
        return self.hover_power_w * (1 + self.drag_coeff * speed_mps**2)


@dataclass(frozen=True)
class Wind:
    """The day's mean wind: its speed and where it blows *from* (meteorological, degrees)."""

    speed_mps: float
    from_deg: float

    def __post_init__(self) -> None:
        if self.speed_mps < 0 or not math.isfinite(self.speed_mps):
            raise ValueError(f"wind speed must be >= 0 m/s, got {self.speed_mps}")

    def airspeed(self, ground_mps: float, track_deg: float) -> float:
        """Airspeed flying ``ground_mps`` over the ground on the track ``track_deg``."""
        to = math.radians(self.from_deg + 180.0)  # where the air goes
        t = math.radians(track_deg)
        dn = ground_mps * math.cos(t) - self.speed_mps * math.cos(to)
        de = ground_mps * math.sin(t) - self.speed_mps * math.sin(to)
        return math.hypot(dn, de)


#: A leg of a route: its length (m) and the track flown along it (degrees).
Leg = tuple[float, float]


@dataclass(frozen=True)
class FlightEstimate:
    """Times (s), energy (Wh) and the verdict for one sortie."""

    climb_s: float
    cruise_s: float
    turns_s: float
    descent_s: float
    energy_wh: float
    battery_wh: float
    usable_wh: float
    #: The highest airspeed a leg needs (the ground speed itself in calm air), m/s.
    max_airspeed_mps: float = 0.0
    #: Energy the same flight takes in calm air, Wh (what the wind costs: ``energy_wh`` - this).
    calm_energy_wh: float | None = None

    @property
    def total_s(self) -> float:
        return self.climb_s + self.cruise_s + self.turns_s + self.descent_s

    @property
    def battery_pct(self) -> float:
        """Share of the full battery the flight uses."""
        return 100.0 * self.energy_wh / self.battery_wh

    @property
    def fits(self) -> bool:
        return self.energy_wh <= self.usable_wh


def estimate(
    route_length_m: float,
    turn_angles_deg: list[float],
    alt_m: float,
    speed_mps: float,
    model: EnergyModel,
    wind: Wind | None = None,
    legs: list[Leg] | None = None,
) -> FlightEstimate:
    """Time and energy to take off, fly ``route_length_m`` at ``speed_mps`` and land; in
    ``wind``, with each of the route's ``legs`` (length, track) flown at its own airspeed."""
    if speed_mps <= 0 or alt_m <= 0:
        raise ValueError(f"speed and altitude must be > 0, got {speed_mps} m/s, {alt_m} m")
    climb_s = alt_m / model.climb_speed_mps
    slow = min(model.land_slow_alt_m, alt_m)
    descent_s = (alt_m - slow) / model.descent_speed_mps + slow / model.land_speed_mps
    cruise_s = route_length_m / speed_mps
    turns_s = sum(min(abs(a), 180.0) / 180.0 for a in turn_angles_deg) * speed_mps / model.accel_mps2

    def joules(cruise_w: float, hover_w: float) -> float:
        return (
            climb_s * hover_w * model.climb_power_factor
            + descent_s * hover_w * model.descent_power_factor
            + cruise_s * cruise_w
            + turns_s * hover_w
        )

    calm = joules(model.cruise_power_w(speed_mps), model.hover_power_w)
    windy, fastest = calm, speed_mps
    if wind is not None and wind.speed_mps > 0:
        flown = [(m, wind.airspeed(speed_mps, track)) for m, track in (legs or []) if m > 0]
        total = sum(m for m, _ in flown)
        if total > 0:  # the legs' mean power, weighted by their time (their length: one ground speed)
            cruise_w = sum(m * model.cruise_power_w(v) for m, v in flown) / total
            fastest = max(v for _, v in flown)
        else:  # no legs given: every direction alike, the mean of v^2 is speed^2 + wind^2
            cruise_w = model.cruise_power_w(math.hypot(speed_mps, wind.speed_mps))
            fastest = speed_mps + wind.speed_mps
        windy = joules(cruise_w, model.cruise_power_w(wind.speed_mps))
    return FlightEstimate(
        climb_s=climb_s,
        cruise_s=cruise_s,
        turns_s=turns_s,
        descent_s=descent_s,
        energy_wh=windy / 3600.0,
        battery_wh=model.battery_wh,
        usable_wh=model.usable_wh,
        max_airspeed_mps=fastest,
        calm_energy_wh=calm / 3600.0,
    )


def sorties_lower_bound(estimate_wh: float, usable_wh: float) -> int:
    """At least this many sorties, since energy grows with route length (the starting guess)."""
    return max(1, math.ceil(estimate_wh / usable_wh))
