"""Small geodesy helpers on the WGS84 ellipsoid, shared so every component agrees on metres.

Distances here are over at most a few kilometres (one patrol), where a local tangent plane
(east/north metres around a reference point) is accurate to centimetres.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

WGS84_A = 6378137.0
WGS84_F = 1 / 298.257223563
WGS84_E2 = WGS84_F * (2 - WGS84_F)


def _radii(lat_deg: float) -> tuple[float, float]:
    """Meridian (north) and prime-vertical (east) radii of curvature at a latitude, in metres."""
    s = math.sin(math.radians(lat_deg))
    w = math.sqrt(1 - WGS84_E2 * s * s)
    r_north = WGS84_A * (1 - WGS84_E2) / (w**3)
    r_east = WGS84_A / w
    return r_north, r_east


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """The point ``north_m``/``east_m`` metres from (lat, lon), in degrees."""
    r_n, r_e = _radii(lat)
    dlat = math.degrees(north_m / r_n)
    dlon = math.degrees(east_m / (r_e * math.cos(math.radians(lat))))
    return lat + dlat, lon + dlon


def to_local(ref_lat: float, ref_lon: float, lat: float, lon: float) -> tuple[float, float]:
    """(north_m, east_m) of (lat, lon) in the tangent plane at (ref_lat, ref_lon)."""
    r_n, r_e = _radii(ref_lat)
    north = math.radians(lat - ref_lat) * r_n
    east = math.radians(lon - ref_lon) * r_e * math.cos(math.radians(ref_lat))
    return north, east


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Ground distance in metres between two nearby points."""
    n, e = to_local(lat1, lon1, lat2, lon2)
    return math.hypot(n, e)


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing from point 1 to point 2, degrees clockwise from true north in [0, 360)."""
    n, e = to_local(lat1, lon1, lat2, lon2)
    return math.degrees(math.atan2(e, n)) % 360.0


def inside_polygon(lat: float, lon: float, polygon: Sequence[tuple[float, float]]) -> bool:
    """Whether (lat, lon) lies inside a ``(lat, lon)`` polygon (open ring; even-odd rule).

    Degrees as a plane: exact enough for a fence a few kilometres across, away from the poles
    and the antimeridian."""
    inside = False
    n = len(polygon)
    for i in range(n):
        (a_lat, a_lon), (b_lat, b_lon) = polygon[i], polygon[(i + 1) % n]
        if (a_lat > lat) != (b_lat > lat):
            cross_lon = a_lon + (lat - a_lat) * (b_lon - a_lon) / (b_lat - a_lat)
            if lon < cross_lon:
                inside = not inside
    return inside
