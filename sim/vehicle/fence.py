"""The geofence as ArduCopter enforces it, pure: which fences a position breaches.

``FENCE_TYPE`` bits choose the fences: 1 the maximum altitude (``FENCE_ALT_MAX`` above home),
2 a circle of ``FENCE_RADIUS`` around home, 4 the polygons of the fence list (mission_type
FENCE): inside every inclusion polygon and outside every exclusion one. The autopilot
(:mod:`sim.vehicle.autopilot`) checks them with ``FENCE_ENABLE`` set, refuses to arm outside, and
on a new breach in flight runs ``FENCE_ACTION``.
"""

from __future__ import annotations

from collections.abc import Callable

from contract.geo import distance_m
from contract.mavlink import FencePolygon, polygon_breached

TYPE_ALT_MAX, TYPE_CIRCLE, TYPE_POLYGON = 1, 2, 4


def breaches(
    p: Callable[[str], float],
    polys: list[FencePolygon],
    home: tuple[float, float],
    lat: float,
    lon: float,
    alt_rel_m: float,
) -> list[str]:
    """The enabled fences (``p``: a parameter's value) that this position breaches, by name."""
    kinds = int(p("FENCE_TYPE"))
    out = []
    if kinds & TYPE_POLYGON and polygon_breached(polys, lat, lon) is not None:
        out.append("Polygon")
    if kinds & TYPE_CIRCLE and distance_m(home[0], home[1], lat, lon) > p("FENCE_RADIUS"):
        out.append("Circle")
    if kinds & TYPE_ALT_MAX and alt_rel_m > p("FENCE_ALT_MAX"):
        out.append("Max Alt")
    return out
