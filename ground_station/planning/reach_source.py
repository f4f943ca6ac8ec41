"""Where a reach comes from: a bundled river (or one of its segments) or a user GeoJSON file.

A file may hold LineString centerlines (width from the ``width_m`` property or the caller)
or Polygon river outlines (centerline and width derived, see
``geometry.centerline_from_polygon``). Errors name the file and the feature.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import contract.rivers as bundled
from ground_station.planning import geometry as g
from ground_station.planning.planner import RiverReach


class ReachError(ValueError):
    """The requested river data cannot be found or read; the message says which and why."""


def bundled_reach(river_id: str, segment_id: str | None = None) -> RiverReach:
    """A bundled river, or one segment of it (``shenzhen-3``)."""
    try:
        r = bundled.river(river_id)
        if segment_id is None:
            return RiverReach(r.id, tuple((lat, lon) for lon, lat in r.coords), r.width_m)
        s = bundled.segment(segment_id)
    except KeyError as e:
        raise ReachError(e.args[0]) from e
    if s.river != r.id:
        raise ReachError(f"segment {segment_id!r} belongs to river {s.river!r}, not {r.id!r}")
    return RiverReach(s.id, tuple((lat, lon) for lon, lat in s.coords), s.width_m)


def _label(props: dict[str, Any], index: int) -> str:
    for key in ("id", "segment_id", "name", "name_en"):
        if props.get(key):
            return str(props[key])
    return f"feature {index}"


def reach_from_geojson(
    doc: Any, source: str, select: str | None = None, width_m: float | None = None
) -> RiverReach:
    """The reach in a GeoJSON document (FeatureCollection, Feature or bare geometry).

    ``select`` picks a feature by its ``id``/``segment_id``/``name`` property when the file
    holds several; ``width_m`` overrides (or supplies) a LineString's width.
    """
    if not isinstance(doc, dict) or "type" not in doc:
        raise ReachError(f"{source}: not a GeoJSON object")
    if doc["type"] == "FeatureCollection":
        feats = doc.get("features")
        if not isinstance(feats, list):
            raise ReachError(f"{source}: FeatureCollection without a 'features' list")
    elif doc["type"] == "Feature":
        feats = [doc]
    else:
        feats = [{"type": "Feature", "properties": {}, "geometry": doc}]
    usable = [
        (i, f)
        for i, f in enumerate(feats)
        if isinstance(f, dict)
        and isinstance(f.get("geometry"), dict)
        and f["geometry"].get("type") in ("LineString", "Polygon")
    ]
    if select is not None:
        usable = [
            (i, f) for i, f in usable if select in {_label(f.get("properties") or {}, i), str(f.get("id"))}
        ]
        if not usable:
            raise ReachError(f"{source}: no LineString/Polygon feature named {select!r}")
    if not usable:
        raise ReachError(f"{source}: no LineString or Polygon feature to patrol")
    if len(usable) > 1:
        names = ", ".join(_label(f.get("properties") or {}, i) for i, f in usable)
        raise ReachError(f"{source}: {len(usable)} features ({names}); pick one with --segment")
    index, feat = usable[0]
    props = feat.get("properties") or {}
    label = _label(props, index)
    geom = feat["geometry"]
    where = f"{source}: {label}"
    try:
        if geom["type"] == "LineString":
            line = tuple((float(lat), float(lon)) for lon, lat, *_ in geom["coordinates"])
            width = width_m if width_m is not None else props.get("width_m")
            if width is None:
                raise ReachError(f"{where}: LineString has no 'width_m' property; give --width")
            _check_lat_lon(line, where)
            return RiverReach(label, line, float(width))
        ring = [(float(lat), float(lon)) for lon, lat, *_ in geom["coordinates"][0]]
    except (TypeError, ValueError, IndexError, KeyError) as e:
        if isinstance(e, ReachError):
            raise
        raise ReachError(f"{where}: bad coordinates: {e}") from e
    _check_lat_lon(ring, where)
    proj = g.Projection(*ring[0])
    try:
        centre, width = g.centerline_from_polygon([proj.to_xy(*p) for p in ring])
    except ValueError as e:
        raise ReachError(f"{where}: {e}") from e
    return RiverReach(label, tuple(proj.to_latlon(*p) for p in centre), width_m or width)


def _check_lat_lon(points: tuple[tuple[float, float], ...] | list[tuple[float, float]], where: str) -> None:
    for k, (lat, lon) in enumerate(points):
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ReachError(f"{where}: point {k} ({lon}, {lat}) is not a WGS84 [lon, lat] pair")


def reach_from_file(path: Path | str, select: str | None = None, width_m: float | None = None) -> RiverReach:
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ReachError(f"{p}: cannot read GeoJSON: {e}") from e
    return reach_from_geojson(doc, str(p), select, width_m)
