"""Bundled river centerlines of Futian (Shenzhen River, Xinzhou River), shared by every component.

The ground station plans patrols on them, the cloud draws them and maps segments to
inspectors, the simulator flies over them: one file, so all three agree on what
``shenzhen-3`` means. The data are APPROXIMATE and hand-digitised — not for navigation
(see ``README.md`` next to this file).

Coordinates follow GeoJSON: ``(lon, lat)`` in WGS84. Segments are the river's centerline cut
into as many equal-length pieces as the river lists segment ids (about 1 km each), numbered
from the first vertex (upstream) on.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from contract.geo import distance_m, offset, to_local

DATA_FILE = "futian.geojson"
NOT_FOR_NAVIGATION = "approximate, hand-digitised, not for navigation"

LonLat = tuple[float, float]


@dataclass(frozen=True)
class River:
    """One river: its centerline drawn downstream, nominal width and segment ids."""

    id: str
    name_en: str
    name_zh: str
    coords: tuple[LonLat, ...]
    width_m: float
    length_m: float
    segment_ids: tuple[str, ...]
    tidal: bool = True  # its flow turns with the tide (unknown: say so, the safe guess)


class RiverDataError(ValueError):
    """River data that cannot be used; the message names the file and the feature."""


@dataclass(frozen=True)
class Segment:
    """About 1 km of one river's centerline; the unit the cloud assigns to an inspector."""

    id: str
    river: str
    name: str
    coords: tuple[LonLat, ...]
    width_m: float
    length_m: float


def polyline_length_m(coords: tuple[LonLat, ...] | list[LonLat]) -> float:
    """Length in metres of a (lon, lat) polyline."""
    return sum(distance_m(a[1], a[0], b[1], b[0]) for a, b in itertools.pairwise(coords))


def substring(coords: tuple[LonLat, ...] | list[LonLat], start_m: float, end_m: float) -> tuple[LonLat, ...]:
    """The part of a (lon, lat) polyline between two distances from its first vertex."""
    if not 0 <= start_m < end_m:
        raise ValueError(f"substring needs 0 <= start_m < end_m, got {start_m}..{end_m}")
    out: list[LonLat] = []
    walked = 0.0
    for a, b in itertools.pairwise(coords):
        seg = distance_m(a[1], a[0], b[1], b[0])
        lo, hi = walked, walked + seg
        if seg > 0 and hi > start_m and lo < end_m:
            for d in (max(start_m, lo), min(end_m, hi)):
                p = _along(a, b, (d - lo) / seg)
                if not out or distance_m(out[-1][1], out[-1][0], p[1], p[0]) > 1e-6:
                    out.append(p)
        walked = hi
    return tuple(out)


def _along(a: LonLat, b: LonLat, frac: float) -> LonLat:
    north, east = to_local(a[1], a[0], b[1], b[0])
    lat, lon = offset(a[1], a[0], north * frac, east * frac)
    return (lon, lat)


@cache
def _raw() -> dict[str, Any]:
    text = resources.files(__name__).joinpath(DATA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def load_rivers() -> dict[str, Any]:
    """The bundled rivers as a GeoJSON FeatureCollection (a fresh copy the caller may change)."""
    return copy.deepcopy(_raw())


def rivers_from_geojson(doc: Any, source: str) -> tuple[River, ...]:
    """The rivers of a GeoJSON FeatureCollection: one LineString centerline each, drawn
    downstream (first point upstream), with properties ``width_m`` (required), ``id`` or
    ``name``, and ``tidal`` (default true), ``name_en``, ``name_zh``, ``segments``.

    A polygon outline is refused: it has no direction of flow. ``RiverDataError`` names
    ``source`` and the feature."""
    feats = doc.get("features") if isinstance(doc, dict) and doc.get("type") == "FeatureCollection" else None
    if not isinstance(feats, list):
        raise RiverDataError(f"{source}: not a GeoJSON FeatureCollection")
    out: list[River] = []
    for i, feature in enumerate(feats):
        props = (feature.get("properties") if isinstance(feature, dict) else None) or {}
        rid = str(props.get("id") or props.get("name") or f"river {i + 1}")
        where = f"{source}: feature {i} ({rid})"
        geom = feature.get("geometry") if isinstance(feature, dict) else None
        if not isinstance(geom, dict) or geom.get("type") != "LineString":
            kind = geom.get("type") if isinstance(geom, dict) else None
            raise RiverDataError(f"{where}: a {kind}, expected a LineString centerline drawn downstream")
        try:
            coords = tuple((float(x), float(y)) for x, y, *_ in geom["coordinates"])
            width = float(props["width_m"])
        except KeyError as e:
            raise RiverDataError(f"{where}: no {e.args[0]!r}") from e
        except (TypeError, ValueError) as e:
            raise RiverDataError(f"{where}: {e}") from e
        if len(coords) < 2 or not all(-180 <= x <= 180 and -90 <= y <= 90 for x, y in coords):
            raise RiverDataError(f"{where}: needs two or more WGS84 [lon, lat] points")
        if not 0 < width < 10_000:
            raise RiverDataError(f"{where}: width_m must be a width in metres, got {width:g}")
        tidal = props.get("tidal", True)
        if not isinstance(tidal, bool):
            raise RiverDataError(f"{where}: tidal must be true or false, got {tidal!r}")
        out.append(
            River(
                id=rid,
                name_en=str(props.get("name_en") or rid),
                name_zh=str(props.get("name_zh") or ""),
                coords=coords,
                width_m=width,
                length_m=polyline_length_m(coords),
                segment_ids=tuple(props.get("segments") or ()),
                tidal=tidal,
            )
        )
    if not out:
        raise RiverDataError(f"{source}: no river in it")
    return tuple(out)


def read_rivers(path: Path | str) -> tuple[River, ...]:
    """The rivers of a GeoJSON file (``rivers_from_geojson``): a site's own, surveyed lines."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise RiverDataError(f"{path}: cannot read GeoJSON: {e}") from e
    return rivers_from_geojson(doc, str(path))


@cache
def rivers() -> dict[str, River]:
    """Every bundled river by id."""
    return {r.id: r for r in rivers_from_geojson(_raw(), DATA_FILE)}


def river(river_id: str) -> River:
    """The bundled river ``river_id``; ``KeyError`` naming the known ids otherwise."""
    known = rivers()
    if river_id not in known:
        raise KeyError(f"unknown river {river_id!r}; bundled rivers: {', '.join(sorted(known))}")
    return known[river_id]


@cache
def _segments() -> tuple[Segment, ...]:
    out: list[Segment] = []
    for r in rivers().values():
        n = len(r.segment_ids)
        step = r.length_m / n
        for k, seg_id in enumerate(r.segment_ids):
            end = r.length_m if k == n - 1 else (k + 1) * step
            coords = substring(r.coords, k * step, end + 1e-9)
            out.append(
                Segment(
                    id=seg_id,
                    river=r.id,
                    name=f"{r.name_en} {k + 1}/{n}",
                    coords=coords,
                    width_m=r.width_m,
                    length_m=polyline_length_m(coords),
                )
            )
    return tuple(out)


def segments(river_id: str | None = None) -> list[Segment]:
    """Segments of every river (or of ``river_id``), upstream first."""
    if river_id is not None:
        river(river_id)  # raises a clear KeyError for an unknown river
    return [s for s in _segments() if river_id is None or s.river == river_id]


def segment(segment_id: str) -> Segment:
    """One segment by id (``shenzhen-3``); ``KeyError`` naming the known ids otherwise."""
    for s in _segments():
        if s.id == segment_id:
            return s
    known = ", ".join(s.id for s in _segments())
    raise KeyError(f"unknown segment {segment_id!r}; bundled segments: {known}")


def segments_geojson() -> dict[str, Any]:
    """Segments as a GeoJSON FeatureCollection, for maps that colour segments by inspector."""
    return {
        "type": "FeatureCollection",
        "note": NOT_FOR_NAVIGATION,
        "features": [
            {
                "type": "Feature",
                "id": s.id,
                "properties": {
                    "segment_id": s.id,
                    "river": s.river,
                    "name": s.name,
                    "width_m": s.width_m,
                    "length_m": round(s.length_m, 1),
                    "note": NOT_FOR_NAVIGATION,
                },
                "geometry": {"type": "LineString", "coordinates": [list(c) for c in s.coords]},
            }
            for s in _segments()
        ],
    }


def nearest_segment(lat: float, lon: float) -> tuple[Segment, float]:
    """The segment closest to a point and its distance in metres to that segment's centerline.

    Lets the cloud file a debris find under a segment without a GIS library.
    """
    best: tuple[Segment, float] | None = None
    for s in _segments():
        for a, b in itertools.pairwise(s.coords):
            d = _foot(lat, lon, a, b)[1]
            if best is None or d < best[1]:
                best = (s, d)
    if best is None:
        raise ValueError(f"{DATA_FILE} holds no segments")
    return best


@dataclass(frozen=True)
class RiverPoint:
    """Where a point lies in a river's own frame. The current carries floating things along
    ``arc_m`` and, over minutes, hardly across it: two sightings of one item minutes apart
    differ in ``arc_m`` and keep their ``offset_m``."""

    river: str
    arc_m: float  # along the centerline from its upstream end, m
    offset_m: float  # from the centerline, m: + right of the flow (looking downstream)
    tidal: bool = True  # the river's flow turns: a thing on it may move upstream too


#: A point this many river widths or less from a centerline is on that river: the water's half
#: width, and as much again for a hand-digitised line (see ``README.md``).
ON_RIVER_WIDTHS = 1.0


def _foot(lat: float, lon: float, a: LonLat, b: LonLat) -> tuple[float, float, float, float]:
    """The nearest point of the line ``a``-``b`` to (lat, lon): its fraction of the way from ``a``,
    the distance to it (m), the line's length (m), and which side of ``a``->``b`` the point lies:
    > 0 right, < 0 left."""
    an, ae = to_local(lat, lon, a[1], a[0])
    bn, be = to_local(lat, lon, b[1], b[0])
    dn, de = bn - an, be - ae
    seg2 = dn * dn + de * de
    t = 0.0 if seg2 == 0 else max(0.0, min(1.0, -(an * dn + ae * de) / seg2))
    fn, fe = an + t * dn, ae + t * de  # the foot, seen from the point
    return t, math.hypot(fn, fe), math.sqrt(seg2), fn * de - fe * dn


def locate(lat: float, lon: float, coords: tuple[LonLat, ...] | list[LonLat]) -> tuple[float, float, float]:
    """(arc length, signed offset, distance) in metres of the point of a (lon, lat) centerline
    nearest to (lat, lon): the arc from the line's first vertex, the offset + right of the line's
    direction, the distance its size."""
    best: tuple[float, float, float] | None = None
    arc = 0.0
    for a, b in itertools.pairwise(coords):
        t, dist, length, side = _foot(lat, lon, a, b)
        if best is None or dist < best[2]:
            best = (arc + t * length, math.copysign(dist, side), dist)
        arc += length
    if best is None:
        raise ValueError("a centerline needs at least two points")
    return best


def on_river(lat: float, lon: float, among: Iterable[River] | None = None) -> RiverPoint | None:
    """(lat, lon) in the frame of the river it lies on (within ``ON_RIVER_WIDTHS`` of its
    centerline, the nearest if two) ``among`` those given (default: the bundled ones), or None
    off every one."""
    best: tuple[float, RiverPoint] | None = None
    for r in rivers().values() if among is None else among:
        arc, off, dist = locate(lat, lon, r.coords)
        if dist <= ON_RIVER_WIDTHS * r.width_m and (best is None or dist < best[0]):
            best = (dist, RiverPoint(r.id, arc, off, r.tidal))
    return best[1] if best else None
