"""No-fly zones: places beside a river the drone must never cross (a helipad, a school, a prison,
an airport's approach), from the district's GeoJSON.

The planner routes around the zones it is given (``planning.detour``); a route that still enters
one (planned without them) is refused here, naming the zone and where. The zones near the route
go into the plan's geofence as exclusion polygons, so the autopilot keeps out of them whatever
pushes it (wind, an operator's GUIDED point, a failsafe).
Pure, but for :func:`read_zones`.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from contract.geo import inside_polygon
from ground_station.planning.geometry import segments_cross
from ground_station.planning.planner import NoFlyZone, PatrolPlan, PlanError

LatLon = tuple[float, float]


class ZoneError(ValueError):
    """A no-fly zone file that cannot be read; the message names the file and the feature."""


def zones_from_geojson(doc: Any, source: str) -> list[NoFlyZone]:
    """The Polygon (and MultiPolygon) features of a GeoJSON document as zones (outer rings)."""
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature"):
        raise ZoneError(f"{source}: not a GeoJSON Feature or FeatureCollection")
    feats = doc.get("features") if doc["type"] == "FeatureCollection" else [doc]
    if not isinstance(feats, list):
        raise ZoneError(f"{source}: FeatureCollection without a 'features' list")
    out = []
    for i, f in enumerate(feats, start=1):
        props = (f or {}).get("properties") or {}
        name = str(props.get("name") or props.get("id") or f"zone {i}")
        geom = (f or {}).get("geometry") or {}
        kind, coords = geom.get("type"), geom.get("coordinates")
        polys = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else None
        if not isinstance(polys, list):
            raise ZoneError(f"{source}: feature {i} ({name}) is a {kind}, not a Polygon")
        for k, poly in enumerate(polys, start=1):
            try:
                ring = tuple((float(lat), float(lon)) for lon, lat, *_ in poly[0])
            except (TypeError, ValueError, IndexError) as e:
                raise ZoneError(f"{source}: feature {i} ({name}): not a ring of [lon, lat]: {e!r}") from e
            if ring and ring[0] == ring[-1]:
                ring = ring[:-1]
            if len(ring) < 3 or not all(-90 <= a <= 90 and -180 <= o <= 180 for a, o in ring):
                raise ZoneError(f"{source}: feature {i} ({name}): a zone needs 3 or more [lon, lat] corners")
            out.append(NoFlyZone(name if len(polys) == 1 else f"{name} #{k}", ring))
    return out


def read_zones(path: Path | str) -> list[NoFlyZone]:
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ZoneError(f"{p}: cannot read GeoJSON: {e}") from e
    return zones_from_geojson(doc, str(p))


def first_entry(route: list[LatLon], zone: NoFlyZone) -> int | None:
    """Index of the first route leg (from point k to k + 1) that enters ``zone``; None if none does."""
    for k, (a, b) in enumerate(itertools.pairwise(route)):
        if inside_polygon(*a, zone.ring) or inside_polygon(*b, zone.ring):
            return k
        edges = zip(zone.ring, (*zone.ring[1:], zone.ring[0]), strict=True)
        if any(segments_cross(a, b, c, d, touching=False) for c, d in edges):
            return k
    return None


def straight_home_crossings(route: list[LatLon], zones: list[NoFlyZone]) -> dict[str, int]:
    """For each zone, from how many of the route's points (``route[0]`` is home) a straight line
    home enters it: where a plain RTL would fly over it. SmartRTL (the fence's default action)
    flies back along the route instead; RTL is what is left when it cannot."""
    home = route[0]
    out = {}
    for z in zones:
        n = sum(first_entry([p, home], z) is not None for p in route[1:-1])
        if n:
            out[z.name] = n
    return out


def near(zone: NoFlyZone, box: tuple[float, float, float, float]) -> bool:
    """Whether the zone's own box meets ``box`` (min lat, min lon, max lat, max lon)."""
    lats, lons = [p[0] for p in zone.ring], [p[1] for p in zone.ring]
    return not (max(lats) < box[0] or min(lats) > box[2] or max(lons) < box[1] or min(lons) > box[3])


def keep_out(plan: PatrolPlan, zones: list[NoFlyZone]) -> PatrolPlan:
    """``plan`` with the zones near it (within its geofence's box) to be kept out by the fence;
    ``PlanError`` naming the zone and the leg when the route itself enters one."""
    route = plan.route
    for z in zones:
        k = first_entry(route, z)
        if k is not None:
            where = "the leg from home" if k == 0 else f"after patrol waypoint {k}"
            where = "the leg home" if k == len(route) - 2 else where
            raise PlanError(
                f"river {plan.reach.name!r}: the route enters no-fly zone {z.name!r} ({where}): launch"
                " elsewhere (--home) or plan the stretches on either side of it (--segment, --sortie)"
            )
    return replace(plan, keep_out=tuple(zones_near(zones, list(plan.fence) or route)))


def zones_near(zones: list[NoFlyZone], around: list[LatLon]) -> list[NoFlyZone]:
    """The zones whose box meets the box of ``around`` (a geofence's corners, or a route): those
    a fence round it keeps out as exclusion polygons."""
    box = (
        min(p[0] for p in around), min(p[1] for p in around),
        max(p[0] for p in around), max(p[1] for p in around),
    )  # fmt: skip
    return [z for z in zones if near(z, box)]
