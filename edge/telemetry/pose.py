"""Pose history: where the vehicle was, and how it was oriented, at a frame's capture time.

Position (GLOBAL_POSITION_INT) and attitude (ATTITUDE) arrive as separate messages with their
own ``time_boot_ms``, so each is kept as its own time series and interpolated on its own.
Angles (roll, yaw) and longitude wrap around; interpolation takes the short way round.
Outside the history we extrapolate at most ``max_extrapolation_s`` and refuse beyond that,
and we refuse to interpolate across a gap longer than ``max_gap_s`` (a link dropout):
a geotag from a guess is worse than none.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass


class PoseUnavailable(LookupError):
    """No trustworthy pose for the requested time (empty history, too far outside, or a gap)."""


@dataclass(frozen=True, slots=True)
class Pose:
    """The vehicle's pose at vehicle time ``t`` (seconds since boot)."""

    t: float
    lat: float
    lon: float
    alt_rel_m: float
    alt_msl_m: float
    roll_deg: float
    pitch_deg: float
    yaw_deg: float
    extrapolated: bool


def wrap(value: float, period: float) -> float:
    """``value`` folded into ``[-period/2, period/2)``."""
    half = period / 2.0
    return (value + half) % period - half


def lerp(a: float, b: float, frac: float, period: float | None = None) -> float:
    """Linear interpolation (or extrapolation when ``frac`` is outside 0..1), the short way on a circle."""
    if period is None:
        return a + (b - a) * frac
    return wrap(a + wrap(b - a, period) * frac, period)


class _Series:
    """Time-ordered samples of a few values; appends are O(1), old samples are dropped in chunks."""

    __slots__ = ("name", "periods", "span_s", "times", "values")

    def __init__(self, name: str, periods: tuple[float | None, ...], span_s: float) -> None:
        self.name = name
        self.periods = periods
        self.span_s = span_s
        self.times: list[float] = []
        self.values: list[tuple[float, ...]] = []

    def add(self, t: float, values: tuple[float, ...]) -> bool:
        times = self.times
        if times and t <= times[-1]:
            if t == times[-1]:
                self.values[-1] = values
                return True
            return False  # out of order (UDP reordering): the history only moves forward
        times.append(t)
        self.values.append(values)
        if times[0] < t - 2 * self.span_s:  # trim in chunks so appends stay O(1) amortised
            cut = bisect_right(times, t - self.span_s)
            del times[:cut]
            del self.values[:cut]
        return True

    def at(self, t: float, max_extrapolation_s: float, max_gap_s: float) -> tuple[tuple[float, ...], bool]:
        """Values at ``t`` and whether they were extrapolated; ``PoseUnavailable`` when untrustworthy."""
        times, values, n = self.times, self.values, len(self.times)
        if n == 0:
            raise PoseUnavailable(f"no {self.name} samples yet")
        i = bisect_right(times, t)
        if 0 < i < n:
            t0, t1 = times[i - 1], times[i]
            if t1 - t0 > max_gap_s:
                raise PoseUnavailable(
                    f"{self.name} gap of {t1 - t0:.2f}s around t={t:.3f}s exceeds max_gap_s={max_gap_s}"
                )
            return self._mix(i - 1, i, (t - t0) / (t1 - t0)), False
        if i == n and t == times[-1]:
            return values[-1], False
        edge = times[0] if i == 0 else times[-1]
        off = abs(t - edge)
        if off > max_extrapolation_s:
            raise PoseUnavailable(
                f"t={t:.3f}s is {off:.2f}s outside the {self.name} history "
                f"[{times[0]:.3f}, {times[-1]:.3f}] (max_extrapolation_s={max_extrapolation_s})"
            )
        a, b = (0, 1) if i == 0 else (n - 2, n - 1)
        if n < 2 or times[b] - times[a] > max_gap_s:
            return values[0 if i == 0 else -1], True  # nothing sane to extrapolate from: hold
        return self._mix(a, b, (t - times[a]) / (times[b] - times[a])), True

    def _mix(self, a: int, b: int, frac: float) -> tuple[float, ...]:
        va, vb = self.values[a], self.values[b]
        return tuple(lerp(x, y, frac, p) for x, y, p in zip(va, vb, self.periods, strict=True))


class PoseHistory:
    """Ring buffers of recent positions and attitudes, queried by vehicle time."""

    def __init__(
        self, span_s: float = 30.0, max_extrapolation_s: float = 0.5, max_gap_s: float = 2.0
    ) -> None:
        self.max_extrapolation_s = max_extrapolation_s
        self.max_gap_s = max_gap_s
        self._pos = _Series("position", (None, 360.0, None, None), span_s)
        self._att = _Series("attitude", (360.0, None, 360.0), span_s)

    def add_position(self, t: float, lat: float, lon: float, alt_rel_m: float, alt_msl_m: float) -> bool:
        """Record a position; False (and ignored) when older than the newest one."""
        return self._pos.add(t, (lat, lon, alt_rel_m, alt_msl_m))

    def add_attitude(self, t: float, roll_deg: float, pitch_deg: float, yaw_deg: float) -> bool:
        """Record an attitude; False (and ignored) when older than the newest one."""
        return self._att.add(t, (roll_deg, pitch_deg, yaw_deg))

    def clear(self) -> None:
        """Forget everything (the vehicle rebooted: its clock started again)."""
        for s in (self._pos, self._att):
            s.times.clear()
            s.values.clear()

    def __len__(self) -> int:
        return len(self._pos.times)

    def span(self) -> tuple[float, float] | None:
        """Vehicle-time range covered by positions, or None when empty."""
        t = self._pos.times
        return (t[0], t[-1]) if t else None

    def pose_at(self, t: float) -> Pose:
        """Interpolated pose at vehicle time ``t``; ``PoseUnavailable`` says why when there is none."""
        (lat, lon, alt_rel, alt_msl), pos_x = self._pos.at(t, self.max_extrapolation_s, self.max_gap_s)
        (roll, pitch, yaw), att_x = self._att.at(t, self.max_extrapolation_s, self.max_gap_s)
        return Pose(t, lat, lon, alt_rel, alt_msl, roll, pitch, yaw, pos_x or att_x)
