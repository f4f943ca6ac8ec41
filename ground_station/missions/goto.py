"""Fly to a find for a closer look (``gcs mission goto``): where to, and whether it is safe to.

An inspector asks for a better photo of a find, or the operator wants to see it: the vehicle
leaves its patrol in GUIDED, flies straight to the point and holds there, its camera and
detector running; ``gcs mission resume`` goes on with the patrol at the last waypoint it
reached. The autopilot flies the straight line, so the straight line is what is checked: inside
the vehicle's fence all the way, clear of the station's no-fly zones, not farther than a
mistyped point would be, and between a floor and the fence's ceiling.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from contract import geo
from contract.mavlink import FencePolygon, polygon_breached
from ground_station.planning.nofly import first_entry
from ground_station.planning.planner import NoFlyZone

#: How close over the point counts as there: horizontally and in height, m.
ARRIVED_M = 3.0
ARRIVED_ALT_M = 2.0
#: Along the straight line the fence is checked at least this often, m.
LINE_STEP_M = 2.0


class GotoError(ValueError):
    """The target names no point: not LAT,LON and no alert the relay has."""


@dataclass(frozen=True)
class GotoPoint:
    """Where to fly, and what it is in words (an alert's class and id, or the coordinates)."""

    lat: float
    lon: float
    what: str


@dataclass(frozen=True)
class GotoLimits:
    """What a fly-to may not do: from the station's settings and the vehicle's fence."""

    max_distance_m: float
    min_alt_m: float
    ceiling_m: float | None = None  # the fence's altitude ceiling, where it has one on


def parse_point(text: str) -> tuple[float, float] | None:
    """``"LAT,LON"`` in degrees (WGS84), or ``None`` when ``text`` is not two such numbers."""
    parts = text.replace(" ", "").split(",")
    if len(parts) != 2:
        return None
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


def find_alert(alerts: Iterable[dict], prefix: str) -> dict:
    """The one alert whose id starts ``prefix`` (as ``gcs alerts`` shows 8 characters);
    ``GotoError`` when none or several do."""
    key = prefix.strip().lower()
    if not key:
        raise GotoError("an empty alert id")
    found = {a["alert_id"]: a for a in alerts if str(a["alert_id"]).lower().startswith(key)}
    if not found:
        raise GotoError(
            f"no alert with id starting {prefix!r} in the relay's outbox (`gcs alerts` lists them)"
        )
    if len(found) > 1:
        ids = ", ".join(sorted(i[: len(key) + 4] for i in found))
        raise GotoError(f"alert id {prefix!r} is ambiguous ({ids}): give more of it")
    return next(iter(found.values()))


def point_of(target: str, alerts: Iterable[dict] | None) -> GotoPoint:
    """The point ``target`` names: ``LAT,LON``, else an alert's id among ``alerts`` (``None``:
    the relay's outbox is not on this machine)."""
    here = parse_point(target)
    if here is not None:
        return GotoPoint(here[0], here[1], f"{here[0]:.6f},{here[1]:.6f}")
    if alerts is None:
        raise GotoError(f"{target!r} is not LAT,LON, and there is no relay outbox here to find an alert in")
    a = find_alert(alerts, target)
    return GotoPoint(
        float(a["lat"]), float(a["lon"]), f"the {a['debris_class']} of alert {a['alert_id'][:8]}"
    )


def _first_breach_along(
    fence: Sequence[FencePolygon], here: tuple[float, float], to: tuple[float, float]
) -> float | None:
    """How far along the straight line from ``here`` to ``to`` it first breaks the fence, m;
    ``None`` when it keeps inside all the way (the end included)."""
    d = geo.distance_m(*here, *to)
    steps = max(1, math.ceil(d / LINE_STEP_M))
    for k in range(1, steps + 1):
        f = k / steps
        lat = here[0] + (to[0] - here[0]) * f
        lon = here[1] + (to[1] - here[1]) * f
        if polygon_breached(fence, lat, lon) is not None:
            return d * f
    return None


def goto_problems(
    here: tuple[float, float],
    to: GotoPoint,
    alt_m: float,
    limits: GotoLimits,
    fence: Sequence[FencePolygon] = (),
    zones: Sequence[NoFlyZone] = (),
) -> list[str]:
    """Why the vehicle at ``here`` should not fly straight to ``to`` at ``alt_m`` above home, each
    in words; empty when it may."""
    out = []
    d = geo.distance_m(here[0], here[1], to.lat, to.lon)
    if d > limits.max_distance_m:
        out.append(
            f"it is {d:,.0f} m away, farther than goto_max_m ({limits.max_distance_m:,.0f} m):"
            " a mistyped point?"
        )
    if alt_m < limits.min_alt_m:
        out.append(
            f"{alt_m:g} m is below goto_min_alt_m ({limits.min_alt_m:g} m above home: banks, bridges, boats)"
        )
    if limits.ceiling_m is not None and alt_m > limits.ceiling_m:
        out.append(f"{alt_m:g} m is above the fence's ceiling ({limits.ceiling_m:g} m, FENCE_ALT_MAX)")
    if fence and polygon_breached(fence, to.lat, to.lon) is not None:
        out.append("it is outside the vehicle's geofence: the fence would turn it back")
    elif fence and (at := _first_breach_along(fence, here, (to.lat, to.lon))) is not None:
        out.append(f"the straight line there leaves the vehicle's geofence {at:,.0f} m on")
    for z in zones:
        if first_entry([here, (to.lat, to.lon)], z) is not None:
            out.append(f"the straight line there enters no-fly zone {z.name!r}")
    return out


def arrived(here: tuple[float, float, float], to: GotoPoint, alt_m: float) -> bool:
    """Whether the vehicle at ``here`` (lat, lon, m above home) holds over the point."""
    return (
        geo.distance_m(here[0], here[1], to.lat, to.lon) <= ARRIVED_M
        and abs(here[2] - alt_m) <= ARRIVED_ALT_M
    )
