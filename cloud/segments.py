"""River segments: which stretch of which river a find lies on, and how long each stretch is.

Pure geometry on WGS84 (lon, lat) polylines in a local tangent plane (segments are a few km).
Lines come from ``[cloud] segment_lines`` or the bundled centerlines in ``contract/rivers/``,
where a river feature listing ``properties.segments`` is split into that many equal-length parts
(upstream-to-downstream in the order the line is drawn).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from contract.geo import distance_m, to_local
from contract.rivers import polyline_length_m as line_length_m  # length of a (lon, lat) line, metres

LonLat = tuple[float, float]


@dataclass(frozen=True)
class Segment:
    """One stretch of river with its centerline."""

    id: str
    river: str
    name: str
    line: tuple[LonLat, ...]
    #: The river's nominal width (bundled ``width_m``), for maps; None where a line came without one.
    width_m: float | None = None

    @property
    def length_m(self) -> float:
        return line_length_m(self.line)


def split_line(line: Sequence[LonLat], parts: int) -> list[tuple[LonLat, ...]]:
    """``line`` cut into ``parts`` pieces of equal length (shared end points)."""
    if parts < 1:
        raise ValueError(f"parts must be >= 1, got {parts}")
    if len(line) < 2:
        raise ValueError("a line needs at least two points")
    total = line_length_m(line)
    cuts = [total * k / parts for k in range(1, parts)]
    pieces: list[list[LonLat]] = [[tuple(line[0])]]  # type: ignore[list-item]
    walked = 0.0
    for a, b in itertools.pairwise(line):
        seg = distance_m(a[1], a[0], b[1], b[0])
        while cuts and seg > 0 and cuts[0] <= walked + seg:
            f = (cuts.pop(0) - walked) / seg
            p = (a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]))
            pieces[-1].append(p)
            pieces.append([p])
        pieces[-1].append(tuple(b))  # type: ignore[arg-type]
        walked += seg
    return [tuple(p) for p in pieces]


def point_line_distance_m(lat: float, lon: float, line: Sequence[LonLat]) -> float:
    """Shortest ground distance (m) from a point to a polyline."""
    pts = [to_local(lat, lon, p[1], p[0]) for p in line]  # (north, east) around the point
    best = math.inf
    for (n1, e1), (n2, e2) in itertools.pairwise(pts):
        dn, de = n2 - n1, e2 - e1
        seg2 = dn * dn + de * de
        t = 0.0 if seg2 == 0 else max(0.0, min(1.0, -(n1 * dn + e1 * de) / seg2))
        best = min(best, math.hypot(n1 + t * dn, e1 + t * de))
    if len(pts) == 1:
        best = math.hypot(*pts[0])
    return best


def segments_from_geojson(fc: Mapping[str, Any]) -> list[Segment]:
    """Segments of every LineString river in a FeatureCollection (see module docstring)."""
    out: list[Segment] = []
    for i, f in enumerate(fc.get("features", [])):
        geom, props = f.get("geometry") or {}, f.get("properties") or {}
        if geom.get("type") != "LineString":
            continue
        river = str(props.get("id") or f"river-{i}")
        name = str(props.get("name_en") or river)
        line = [tuple(c[:2]) for c in geom["coordinates"]]
        ids = props.get("segments") or [river]
        width = float(props["width_m"]) if props.get("width_m") else None
        for k, (sid, piece) in enumerate(zip(ids, split_line(line, len(ids)), strict=True)):
            out.append(Segment(str(sid), river, f"{name} {k + 1}/{len(ids)}", piece, width))
    return out


def bundled_segments() -> list[Segment]:
    """Segments of the centerlines shipped in ``contract/rivers/*.geojson`` (empty if none)."""
    root = resources.files("contract").joinpath("rivers")
    out: list[Segment] = []
    if not root.is_dir():
        return out
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".geojson"):
            out += segments_from_geojson(json.loads(entry.read_text(encoding="utf-8")))
    return out


def resolve_segments(
    configured: Iterable[Any], lines: Mapping[str, Sequence[LonLat]], bundled: Sequence[Segment]
) -> tuple[list[Segment], list[str]]:
    """(segments with geometry, ids of configured segments that have none).

    ``configured`` are ``SegmentConfig``-like (``id``, ``name``, ``river``). With none configured
    every bundled segment is used; configured lines override bundled ones of the same id.
    """
    by_id = {s.id: s for s in bundled}
    configured = list(configured)
    if not configured:
        extra = [Segment(sid, "", sid, tuple(tuple(p) for p in ln)) for sid, ln in lines.items()]  # type: ignore[misc]
        return [s for s in bundled if s.id not in lines] + extra, []
    out, missing = [], []
    for c in configured:
        base = by_id.get(c.id)
        if c.id in lines:
            line = tuple(tuple(p) for p in lines[c.id])
        elif base is not None:
            line = base.line
        else:
            missing.append(c.id)
            continue
        river, name = c.river or (base.river if base else ""), c.name or (base.name if base else c.id)
        out.append(Segment(c.id, river, name, line, base.width_m if base else None))  # type: ignore[arg-type]
    return out, missing


def _box(line: Sequence[LonLat], margin_m: float) -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) of ``line`` grown by ``margin_m`` (a little more, to be safe)."""
    lons, lats = [p[0] for p in line], [p[1] for p in line]
    dlat = margin_m / 110_000.0 * 1.05
    dlon = dlat / max(math.cos(math.radians(max(abs(min(lats)), abs(max(lats))))), 1e-6)
    return min(lons) - dlon, min(lats) - dlat, max(lons) + dlon, max(lats) + dlat


class SegmentIndex:
    """Nearest-segment lookup within ``max_distance_m``."""

    def __init__(self, segments: Sequence[Segment], max_distance_m: float) -> None:
        self.segments = list(segments)
        self.max_distance_m = max_distance_m
        self._boxes = [_box(s.line, max_distance_m) for s in self.segments]

    def nearest(self, lat: float, lon: float) -> tuple[Segment, float] | None:
        best: tuple[Segment, float] | None = None
        for s, (x0, y0, x1, y1) in zip(self.segments, self._boxes, strict=True):
            if not (x0 <= lon <= x1 and y0 <= lat <= y1):
                continue  # cheap reject: farther than max_distance_m from the whole line
            d = point_line_distance_m(lat, lon, s.line)
            if d <= self.max_distance_m and (best is None or d < best[1]):
                best = (s, d)
        return best

    def locate(self, lat: float, lon: float) -> tuple[str | None, str | None]:
        """(segment id, river) of the nearest segment, or (None, None) when none is close."""
        hit = self.nearest(lat, lon)
        return (hit[0].id, hit[0].river or None) if hit else (None, None)

    def get(self, segment_id: str) -> Segment | None:
        return next((s for s in self.segments if s.id == segment_id), None)
