"""Mission files: QGroundControl ``.plan`` JSON, MAVLink ``QGC WPL 110`` text, and route GeoJSON.

Text in, text out (``*_text`` / ``parse_*``), plus thin ``write_*``/``read_*`` disk wrappers.
The WPL reader is what the mission-upload command reads; it rejects a bad file with the line
number and the reason, since a half-read mission must never fly.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from contract.mavlink import FencePolygon
from contract.rivers import NOT_FOR_NAVIGATION
from ground_station.planning import geometry as g
from ground_station.planning.mission import COMMAND_NAMES, MissionItem
from ground_station.planning.planner import PatrolPlan

WPL_HEADER = "QGC WPL 110"
PLAN_FILE_TYPE = "Plan"
FIRMWARE_ARDUPILOT = 3
VEHICLE_MULTIROTOR = 2
#: QGC ``AltitudeMode`` 1: altitudes relative to home.
ALTITUDE_MODE_RELATIVE = 1


class MissionFileError(ValueError):
    """A mission file that cannot be read; the message names the file, line and reason."""


# --- QGC WPL 110 ------------------------------------------------------------------------------


def _num(v: float) -> str:
    """Shortest text that reads back as exactly ``v`` (``nan`` for NaN, as QGC writes it)."""
    return repr(float(v))


def wpl_text(items: list[MissionItem]) -> str:
    """``QGC WPL 110``: header, then one tab-separated line per item, home (seq 0) first."""
    lines = [WPL_HEADER]
    for it in items:
        fields = [it.seq, it.current, it.frame, it.command]
        nums = [it.param1, it.param2, it.param3, it.param4, it.x, it.y, it.z]
        lines.append("\t".join([*map(str, fields), *map(_num, nums), str(it.autocontinue)]))
    return "\n".join(lines) + "\n"


def parse_wpl(text: str, source: str = "<wpl>") -> list[MissionItem]:
    """Items of a ``QGC WPL 110`` text; ``MissionFileError`` naming ``source:line`` on bad input."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != WPL_HEADER:
        first = lines[0].strip()[:40] if lines else ""
        raise MissionFileError(f"{source}:1: expected header {WPL_HEADER!r}, got {first!r}")
    items: list[MissionItem] = []
    for lineno, raw in enumerate(lines[1:], start=2):
        if not raw.strip():
            continue
        fields = raw.strip().split("\t")
        if len(fields) != 12:
            raise MissionFileError(f"{source}:{lineno}: expected 12 tab-separated fields, got {len(fields)}")
        try:
            seq, current, frame, command = (int(f) for f in fields[:4])
            p1, p2, p3, p4, x, y, z = (float(f) for f in fields[4:11])
            autocontinue = int(fields[11])
        except ValueError as e:
            raise MissionFileError(f"{source}:{lineno}: {e}") from e
        if seq != len(items):
            raise MissionFileError(f"{source}:{lineno}: sequence number {seq}, expected {len(items)}")
        if not all(math.isfinite(v) for v in (x, y, z)):
            raise MissionFileError(f"{source}:{lineno}: x/y/z must be finite numbers")
        items.append(MissionItem(seq, frame, command, p1, p2, p3, p4, x, y, z, autocontinue, current))
    if not items:
        raise MissionFileError(f"{source}: no mission items (not even home)")
    return items


def write_wpl(path: Path, items: list[MissionItem]) -> None:
    Path(path).write_text(wpl_text(items), encoding="utf-8")


def read_wpl(path: Path | str) -> list[MissionItem]:
    """Items of a WPL file; ``MissionFileError`` if it cannot be read or parsed."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise MissionFileError(f"{p}: cannot read: {e}") from e
    return parse_wpl(text, str(p))


# --- QGroundControl .plan ---------------------------------------------------------------------


def plan_json(
    items: list[MissionItem],
    cruise_speed: float,
    hover_speed: float,
    fence: Sequence[FencePolygon] = (),
) -> dict[str, Any]:
    """A QGroundControl plan (fileType Plan, version 1) for ArduPilot multicopter.

    ``items[0]`` is home and becomes ``plannedHomePosition``; the rest are SimpleItems with
    1-based ``doJumpId`` as QGC numbers them. ``fence``: the geofence's polygons (the route's
    inclusion one, no-fly zones' exclusions), as QGC keeps them (``geoFence.polygons``).
    """
    home, rest = items[0], items[1:]
    polygons = [
        {"inclusion": inclusion, "polygon": [[round(a, 8), round(o, 8)] for a, o in ring], "version": 1}
        for inclusion, ring in fence
    ]
    return {
        "fileType": PLAN_FILE_TYPE,
        "version": 1,
        "groundStation": "RiverPatrol",
        "geoFence": {"circles": [], "polygons": polygons, "version": 2},
        "rallyPoints": {"points": [], "version": 2},
        "mission": {
            "version": 2,
            "firmwareType": FIRMWARE_ARDUPILOT,
            "vehicleType": VEHICLE_MULTIROTOR,
            "cruiseSpeed": cruise_speed,
            "hoverSpeed": hover_speed,
            "globalPlanAltitudeMode": ALTITUDE_MODE_RELATIVE,
            "plannedHomePosition": [home.x, home.y, home.z],
            "items": [
                {
                    "type": "SimpleItem",
                    "autoContinue": bool(it.autocontinue),
                    "command": it.command,
                    "doJumpId": it.seq,
                    "frame": it.frame,
                    "params": [
                        None if math.isnan(v) else v
                        for v in (it.param1, it.param2, it.param3, it.param4, it.x, it.y, it.z)
                    ],
                    **(
                        {
                            "Altitude": it.z,
                            "AltitudeMode": ALTITUDE_MODE_RELATIVE,
                            "AMSLAltAboveTerrain": None,
                        }
                        if it.is_nav
                        else {}
                    ),
                }
                for it in rest
            ],
        },
    }


def parse_plan(doc: dict[str, Any], source: str = "<plan>") -> list[MissionItem]:
    """Mission items (home first) of a QGC plan document; ``MissionFileError`` on bad input."""
    try:
        if doc["fileType"] != PLAN_FILE_TYPE:
            raise MissionFileError(f"{source}: fileType is {doc['fileType']!r}, expected {PLAN_FILE_TYPE!r}")
        mission = doc["mission"]
        hlat, hlon, halt = mission["plannedHomePosition"]
        items = [MissionItem(0, 0, 16, x=hlat, y=hlon, z=halt, current=1)]
        for k, it in enumerate(mission["items"], start=1):
            if it.get("type") != "SimpleItem":
                raise MissionFileError(f"{source}: mission item {k} is a {it.get('type')!r}, only SimpleItem")
            params = [math.nan if v is None else float(v) for v in it["params"]]
            if len(params) != 7:
                raise MissionFileError(f"{source}: mission item {k} has {len(params)} params, expected 7")
            items.append(
                MissionItem(
                    len(items), int(it["frame"]), int(it["command"]), *params, int(it["autoContinue"])
                )
            )
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, MissionFileError):
            raise
        raise MissionFileError(f"{source}: not a QGC plan: {e!r}") from e
    return items


def parse_fence(doc: dict[str, Any], source: str = "<plan>") -> list[FencePolygon]:
    """The polygons of a QGC plan's ``geoFence`` (none when it has none); ``MissionFileError`` on
    a polygon the autopilot would refuse (under 3 corners, not a position) or on circles."""
    fence = doc.get("geoFence") or {}
    if fence.get("circles"):
        raise MissionFileError(f"{source}: geoFence circles are not supported; draw them as polygons")
    out = []
    for k, poly in enumerate(fence.get("polygons") or [], start=1):
        where = f"{source}: geoFence polygon {k}"
        try:
            points = tuple((float(p[0]), float(p[1])) for p in poly["polygon"])
            inclusion = bool(poly.get("inclusion", True))
        except (KeyError, TypeError, ValueError, IndexError) as e:
            raise MissionFileError(f"{where} is not a list of [lat, lon]: {e!r}") from e
        if len(points) < 3:
            raise MissionFileError(f"{where} has {len(points)} corners, needs 3 or more")
        if not all(-90 <= a <= 90 and -180 <= o <= 180 for a, o in points):
            raise MissionFileError(f"{where} has a corner that is not a lat, lon")
        out.append(FencePolygon(inclusion, points))
    return out


def write_plan(
    path: Path,
    items: list[MissionItem],
    cruise_speed: float,
    hover_speed: float,
    fence: Sequence[FencePolygon] = (),
) -> None:
    doc = plan_json(items, cruise_speed, hover_speed, fence)
    Path(path).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def _plan_doc(path: Path | str) -> tuple[dict[str, Any], str]:
    p = Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8")), str(p)
    except (OSError, ValueError) as e:
        raise MissionFileError(f"{p}: cannot read JSON: {e}") from e


def read_plan(path: Path | str) -> list[MissionItem]:
    return parse_plan(*_plan_doc(path))


def read_fence(path: Path | str) -> list[FencePolygon]:
    """The geofence of a ``.plan`` file (a ``.waypoints`` file holds none)."""
    if Path(path).suffix.lower() != ".plan":
        return []
    return parse_fence(*_plan_doc(path))


# --- route GeoJSON ----------------------------------------------------------------------------


def coverage_rings(plan: PatrolPlan) -> list[list[tuple[float, float]]]:
    """The camera swath of each pass as a closed ``(lat, lon)`` ring (half a footprint each side)."""
    proj = g.Projection(*plan.home)
    half = plan.options.footprint_m / 2
    rings = []
    for line in plan.pass_lines():
        xy = g.dedupe([proj.to_xy(*p) for p in line])
        if len(xy) < 2:
            continue
        ring = g.buffer_ring(xy, half, max(plan.options.sample_step_m, half / 4))
        rings.append([proj.to_latlon(*p) for p in ring])
    return rings


def route_geojson(plan: PatrolPlan, items: list[MissionItem]) -> dict[str, Any]:
    """Route LineString, one Point per positioned mission item, swath MultiPolygon, centerline."""

    def ll(p: tuple[float, float]) -> list[float]:
        return [round(p[1], 8), round(p[0], 8)]

    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "properties": {
                "kind": "route",
                "river": plan.reach.name,
                "passes": plan.passes,
                "route_length_m": round(plan.route_length_m, 1),
                "alt_m": plan.options.alt_m,
                "speed_mps": plan.options.speed_mps,
            },
            "geometry": {"type": "LineString", "coordinates": [ll(p) for p in plan.route]},
        },
        {
            "type": "Feature",
            "properties": {
                "kind": "coverage",
                "footprint_m": round(plan.options.footprint_m, 2),
                "overlap": plan.options.overlap,
            },
            "geometry": {
                "type": "MultiPolygon",
                "coordinates": [[[ll(p) for p in ring]] for ring in coverage_rings(plan)],
            },
        },
        {
            "type": "Feature",
            "properties": {"kind": "centerline", "river": plan.reach.name, "width_m": plan.reach.width_m},
            "geometry": {"type": "LineString", "coordinates": [ll(p) for p in plan.reach.centerline]},
        },
    ]
    for z in plan.keep_out:
        features.append(
            {
                "type": "Feature",
                "properties": {"kind": "no-fly", "name": z.name},
                "geometry": {"type": "Polygon", "coordinates": [[ll(p) for p in (*z.ring, z.ring[0])]]},
            }
        )
    if plan.fence:
        ring = [ll(p) for p in (*plan.fence, plan.fence[0])]
        features.append(
            {
                "type": "Feature",
                "properties": {
                    "kind": "geofence",
                    "inclusion": True,
                    "margin_m": plan.options.fence_margin_m,
                },
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    pass_of = [None, *(w.pass_no for w in plan.waypoints)]
    wp_no = 0
    for it in items:
        if it.seq == 0 or it.is_nav:
            props: dict[str, Any] = {
                "kind": "home" if it.seq == 0 else "waypoint",
                "seq": it.seq,
                "command": COMMAND_NAMES.get(it.command, str(it.command)),
                "alt_m": it.z,
            }
            if it.seq > 1:  # a patrol waypoint (1 is the takeoff)
                wp_no += 1
                props["pass"] = pass_of[wp_no] if wp_no < len(pass_of) else None
            features.append(
                {
                    "type": "Feature",
                    "properties": props,
                    "geometry": {"type": "Point", "coordinates": ll((it.x, it.y))},
                }
            )
    return {"type": "FeatureCollection", "note": NOT_FOR_NAVIGATION, "features": features}


def write_route_geojson(path: Path, plan: PatrolPlan, items: list[MissionItem]) -> None:
    Path(path).write_text(json.dumps(route_geojson(plan, items), ensure_ascii=False) + "\n", encoding="utf-8")
