"""Where a drifting find is now: the one extrapolation the station, the cloud and the page share.

A drone reports a find's position at ``last_seen`` and, where it could tell, its drift
(:class:`contract.messages.Drift`). An operator flying back for a closer look minutes later wants
the point the current has carried it to, and how sure that point is: the velocity's error grows
the radius with time, and past ``DRIFT_HORIZON_S`` the current may have turned (a tide) or the
item beached, so the point stops moving and the radius says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from contract.geo import offset
from contract.messages import Drift

#: The longest a drift is extrapolated, s: a tide turns in hours, debris catches on a bank sooner.
DRIFT_HORIZON_S = 1800.0
#: A drift slower than this (m/s) is not worth moving the point for: the camera's view holds it.
STILL_MPS = 0.03


@dataclass(frozen=True, slots=True)
class Whereabouts:
    """A find's likely position now, and how far from there it may be (about 2 sigma of the drift)."""

    lat: float
    lon: float
    moved_m: float  # from where it was seen
    spread_m: float  # added to its position radius by the drift's error
    after_s: float  # time extrapolated (capped at the horizon)
    capped: bool  # it was seen longer ago than the horizon


def spread_m(sigma_mps: float, seconds: float) -> float:
    """How far a point extrapolated ``seconds`` along a drift of 1-sigma ``sigma_mps`` per axis may
    be off, m: about 2 sigma of the two axes together."""
    return 2.0 * math.sqrt(2.0) * sigma_mps * max(0.0, seconds)


def drifted(lat: float, lon: float, east_mps: float, north_mps: float, seconds: float) -> tuple[float, float]:
    """Where an item at (lat, lon) drifting at (east, north) m/s is ``seconds`` later."""
    return offset(lat, lon, north_mps * seconds, east_mps * seconds)


def where_now(
    lat: float,
    lon: float,
    drift: Drift | None,
    last_seen: datetime | None,
    now: datetime,
    horizon_s: float = DRIFT_HORIZON_S,
) -> Whereabouts:
    """Where the find seen at (lat, lon) at ``last_seen`` is likely to be at ``now``. Without a
    drift (or a time) that is where it was seen; a clock behind ``last_seen`` extrapolates nothing."""
    if drift is None or last_seen is None:
        return Whereabouts(lat, lon, 0.0, 0.0, 0.0, False)
    dt = max(0.0, (now - last_seen).total_seconds())
    after = min(dt, horizon_s)
    speed = math.hypot(drift.east_mps, drift.north_mps)
    spread = spread_m(drift.sigma_mps, after)
    if speed < STILL_MPS:
        return Whereabouts(lat, lon, 0.0, spread, after, dt > horizon_s)
    la, lo = drifted(lat, lon, drift.east_mps, drift.north_mps, after)
    return Whereabouts(la, lo, speed * after, spread, after, dt > horizon_s)
