"""How fast and which way a floating item drifts, from the fixes of it the tracker has seen.

Debris moves with the current (0.1-1 m/s on a city river; a tidal one reverses), so a find seen
three minutes ago may be a hundred metres downstream: the operator flying there for a closer look
needs where it is *now*. The tracker feeds each item's geolocated fixes to a
:class:`DriftEstimator`; a weighted straight-line fit of east and north against time gives the
velocity, and its uncertainty decides whether it is worth saying at all.

Geolocation errors are correlated over a pass (attitude and GNSS bias move slowly), so the
scatter of a pass's fixes about the line understates the error of its slope: the uncertainty has
a floor of the item's position radius spread over the time it was watched (``bias_floor``), and
an estimate over less than ``min_span_s`` is none. Pure: no clock, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from contract.geo import to_local


@dataclass(frozen=True, slots=True)
class DriftConfig:
    """When a drift estimate is worth sending."""

    min_span_s: float = 4.0  # fixes over a shorter time say too little of a slope
    min_fixes: int = 6
    # The estimate is said only when its 1-sigma speed error is below this (m/s) ...
    max_sigma_mps: float = 0.15
    # ... counting a bias this fraction of the position radius that can differ between the
    # first and the last fixes (correlated attitude / GNSS error, not averaged away).
    bias_floor: float = 0.5
    # A fix this much older than the latest counts 1/e as much: the river bends and the current
    # changes along it, so over a long patrol the latest passes say how it drifts now.
    memory_s: float = 300.0


@dataclass(frozen=True, slots=True)
class DriftEstimate:
    """An item's velocity over the water (m/s east and north) and its 1-sigma error per axis."""

    east_mps: float
    north_mps: float
    sigma_mps: float
    span_s: float  # time between the first and last fixes it rests on
    fixes: int


@dataclass(slots=True)
class DriftEstimator:
    """The straight line through one item's fixes (call :meth:`add`, :meth:`estimate`).

    Keeps running weighted sums, not the fixes: constant memory and time per fix however long the
    item is watched (a hold over it for a closer look is 5 fixes a second)."""

    cfg: DriftConfig = field(default_factory=DriftConfig)
    _ref: tuple[float, float, float] | None = None  # t, lat, lon of the first fix
    _n: int = 0
    _last_t: float = 0.0
    _radius: float = math.inf  # the best fix's
    # sums of w, w t, w e, w n, w t^2, w t e, w t n, w e^2, w n^2 (t, e, n from the first fix)
    _s: list[float] = field(default_factory=lambda: [0.0] * 9)

    def add(self, t: float, lat: float, lon: float, uncertainty_m: float) -> None:
        """One fix of the item at time ``t`` (s), ``uncertainty_m`` its radius."""
        if self._ref is None:
            self._ref = (t, lat, lon)
        north, east = to_local(self._ref[1], self._ref[2], lat, lon)
        dt = t - self._ref[0]
        if self._n and dt > self._last_t:  # older fixes fade: the fit is of the recent drift
            fade = math.exp(-(dt - self._last_t) / self.cfg.memory_s)
            self._s = [v * fade for v in self._s]
        r = max(uncertainty_m, 0.1)
        w = 1.0 / (r * r)
        terms = (1.0, dt, east, north, dt * dt, dt * east, dt * north, east * east, north * north)
        for i, v in enumerate(terms):
            self._s[i] += w * v
        self._n += 1
        self._last_t = max(self._last_t, dt)
        self._radius = min(self._radius, r)

    def estimate(self) -> DriftEstimate | None:
        """The drift, or None while the fixes cannot tell it well enough (``DriftConfig``)."""
        cfg = self.cfg
        if self._n < cfg.min_fixes or self._last_t < cfg.min_span_s:
            return None
        sw, st, se, sn, stt, ste, stn, see, snn = self._s
        tm, em, nm = st / sw, se / sw, sn / sw
        vtt = stt - sw * tm * tm
        if vtt <= 0:
            return None
        ve = (ste - sw * tm * em) / vtt
        vn = (stn - sw * tm * nm) / vtt
        # Scatter about the line (both axes), as the variance of one unit-weight fix per axis.
        rss = (see - sw * em * em - ve * ve * vtt) + (snn - sw * nm * nm - vn * vn * vtt)
        s2 = max(rss, 0.0) / (2 * max(self._n - 2, 1))
        sigma_fit = math.sqrt(s2 / vtt)
        sigma_bias = cfg.bias_floor * self._radius / self._last_t
        sigma = math.hypot(sigma_fit, sigma_bias)
        if sigma > cfg.max_sigma_mps:
            return None
        return DriftEstimate(east_mps=ve, north_mps=vn, sigma_mps=sigma, span_s=self._last_t, fixes=self._n)
