"""Fault injection: link blackouts and packet loss, GPS noise and glitches, battery sag.

Pure and seeded. Each kind of randomness draws from its own ``random.Random`` derived from the
one seed, so the flight (gusts, GPS noise) is the same for a seed however many packets the
clients happen to exchange, and packet loss does not shift the weather.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from sim.settings import BatterySag, GpsGlitch, VehicleSettings, Window


def rng_for(seed: int, purpose: str) -> random.Random:
    """An independent, reproducible random stream for one purpose."""
    return random.Random(f"{seed}:{purpose}")


class FaultPlan:
    """When which fault is active, in simulated seconds since boot."""

    def __init__(
        self,
        blackouts: list[Window] | None = None,
        gps_glitches: list[GpsGlitch] | None = None,
        battery_sags: list[BatterySag] | None = None,
    ) -> None:
        self.blackouts = list(blackouts or [])
        self.gps_glitches = list(gps_glitches or [])
        self.battery_sags = list(battery_sags or [])

    @classmethod
    def from_settings(cls, s: VehicleSettings) -> FaultPlan:
        return cls(s.blackouts, s.gps_glitches, s.battery_sags)

    def blackout(self, t: float) -> bool:
        return any(w.contains(t) for w in self.blackouts)

    def gps_glitch(self, t: float) -> GpsGlitch | None:
        for g in self.gps_glitches:
            if g.contains(t):
                return g
        return None

    def battery_sag(self, t: float) -> tuple[float, float]:
        """(volts lower, extra amps) at ``t``: every sag that has started adds up."""
        v = a = 0.0
        for s in self.battery_sags:
            if t >= s.at:
                v += s.volts
                a += s.amps
        return v, a


class LinkLoss:
    """Random loss of whole messages on the link, per direction, in percent."""

    def __init__(self, out_pct: float = 0.0, in_pct: float = 0.0, seed: int = 0) -> None:
        self.out_p = out_pct / 100.0
        self.in_p = in_pct / 100.0
        self._rng_out = rng_for(seed, "loss-out")
        self._rng_in = rng_for(seed, "loss-in")

    def drop_out(self) -> bool:
        return self.out_p > 0.0 and self._rng_out.random() < self.out_p

    def drop_in(self) -> bool:
        return self.in_p > 0.0 and self._rng_in.random() < self.in_p


@dataclass(frozen=True)
class GpsReading:
    """What the GPS receiver reports this step: fix or not, and its error against the truth."""

    fix: bool
    err_n: float = 0.0
    err_e: float = 0.0
    err_u: float = 0.0
    satellites: int = 10
    hdop: float = 1.21
    glitching: bool = False


class GpsSensor:
    """GPS error model: Gauss-Markov noise (1-sigma ``noise_m``), plus the plan's glitches.

    A glitch without an offset loses the fix (fix type 1, no satellites); with an offset the
    reported position jumps by it for the window, still with a 3D fix, as a multipath jump does.
    """

    TAU = 2.0  # s, correlation time of the noise

    def __init__(self, plan: FaultPlan, noise_m: float = 0.0, seed: int = 0) -> None:
        self.plan = plan
        self.noise_m = noise_m
        self._rng = rng_for(seed, "gps")
        self._n = self._e = self._u = 0.0

    def update(self, dt: float, t: float) -> GpsReading:
        if self.noise_m > 0.0:
            a = math.exp(-dt / self.TAU)
            b = self.noise_m * math.sqrt(1.0 - a * a)
            g = self._rng.gauss
            self._n = a * self._n + b * g(0.0, 1.0)
            self._e = a * self._e + b * g(0.0, 1.0)
            self._u = a * self._u + 1.5 * b * g(0.0, 1.0)
        hdop = 1.21 + 0.5 * self.noise_m
        glitch = self.plan.gps_glitch(t)
        if glitch is not None and glitch.loses_fix:
            return GpsReading(fix=False, satellites=0, hdop=99.99, glitching=True)
        jn, je = (glitch.north_m, glitch.east_m) if glitch is not None else (0.0, 0.0)
        return GpsReading(
            fix=True,
            err_n=self._n + jn,
            err_e=self._e + je,
            err_u=self._u,
            hdop=hdop,
            glitching=glitch is not None,
        )
