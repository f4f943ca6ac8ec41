"""The geofence as ArduCopter enforces it, pure: which fences a position breaches.

``FENCE_TYPE`` bits choose the fences: 1 the maximum altitude (``FENCE_ALT_MAX`` above home),
2 a circle of ``FENCE_RADIUS`` around home, 4 the polygons of the fence list (mission_type
FENCE): inside every inclusion polygon and outside every exclusion one. The autopilot
(:mod:`sim.vehicle.autopilot`) checks them with ``FENCE_ENABLE`` set, refuses to arm outside, and
on a new breach in flight runs ``FENCE_ACTION``.
"""

from __future__ import annotations

from collections.abc import Callable

from pymavlink.dialects.v20 import ardupilotmega as M

from contract.geo import distance_m, inside_polygon
from sim.vehicle.mission import MissionItem

TYPE_ALT_MAX, TYPE_CIRCLE, TYPE_POLYGON = 1, 2, 4
_VERTEX = {
    M.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION: True,
    M.MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION: False,
}

Polygon = tuple[bool, list[tuple[float, float]]]


def polygons(items: list[MissionItem]) -> list[Polygon]:
    """``(inclusion, corners)`` of the fence list's polygons (param1: a polygon's corner count)."""
    out: list[Polygon] = []
    k = 0
    while k < len(items):
        it = items[k]
        if it.command not in _VERTEX:
            k += 1
            continue
        n = max(1, int(it.param1))
        out.append((_VERTEX[it.command], [(v.lat, v.lon) for v in items[k : k + n]]))
        k += n
    return out


def breaches(
    p: Callable[[str], float],
    polys: list[Polygon],
    home: tuple[float, float],
    lat: float,
    lon: float,
    alt_rel_m: float,
) -> list[str]:
    """The enabled fences (``p``: a parameter's value) that this position breaches, by name."""
    kinds = int(p("FENCE_TYPE"))
    out = []
    if kinds & TYPE_POLYGON and any(inside_polygon(lat, lon, c) != inc for inc, c in polys if len(c) >= 3):
        out.append("Polygon")
    if kinds & TYPE_CIRCLE and distance_m(home[0], home[1], lat, lon) > p("FENCE_RADIUS"):
        out.append("Circle")
    if kinds & TYPE_ALT_MAX and alt_rel_m > p("FENCE_ALT_MAX"):
        out.append("Max Alt")
    return out
