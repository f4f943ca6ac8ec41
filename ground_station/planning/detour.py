"""Routes around no-fly zones: the shortest way past them, a margin clear of each.

A leg of a patrol that would cross a zone (a helipad on the bank, a bridge with a school on it,
an airport's approach) is flown around it instead: the shortest path from one end of the leg to
the other that keeps ``margin`` metres clear of every zone, through the corners of the zones'
grown convex hulls (a visibility graph: the shortest path past convex obstacles bends only at
their corners). A concave zone is kept out of by its hull, which is never nearer. Patrol
waypoints inside a zone or its margin cannot be flown: they are dropped, and said, since that
water goes unpatrolled. Pure, in the planner's local metres (``geometry.Projection``).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from ground_station.planning.geometry import XY, orient

#: Sides of the polygon that stands for a zone grown by its margin: one supporting line each
#: 15 degrees, so a zone of any number of corners costs the search the same, and the margin is
#: kept everywhere (less than 1 % more at the polygon's corners).
_SIDES = 24
#: Distance, m, under which a point counts as on a hull's boundary, not inside it.
_ON_EDGE_M = 1e-6


class NoWayAround(ValueError):
    """Zones that close every way between two points (or one of them is inside a zone)."""


@dataclass(frozen=True)
class Detour:
    """What keeping out of one zone did to a plan: metres added to the route, waypoints dropped."""

    zone: str
    extra_m: float = 0.0
    dropped: int = 0


def grow(ring: Sequence[XY], margin: float) -> list[XY]:
    """A convex polygon around ``ring`` grown by ``margin``: the ``_SIDES`` lines that support
    it (its points no farther than ``margin`` beyond each), met two by two. It holds every point
    within ``margin`` of the zone's convex hull, counter-clockwise."""
    normals = [
        (math.cos(2 * math.pi * k / _SIDES), math.sin(2 * math.pi * k / _SIDES)) for k in range(_SIDES)
    ]
    reach = [max(nx * x + ny * y for x, y in ring) + margin for nx, ny in normals]
    corners: list[XY] = []
    for k in range(_SIDES):
        (a1, b1), c1 = normals[k], reach[k]
        (a2, b2), c2 = normals[(k + 1) % _SIDES], reach[(k + 1) % _SIDES]
        det = a1 * b2 - a2 * b1
        corner = ((c1 * b2 - c2 * b1) / det, (a1 * c2 - a2 * c1) / det)
        # lines met in order of their angle: convex and counter-clockwise already; where several
        # meet at one of the zone's corners (a small margin), that corner is kept once
        if not corners or math.dist(corner, corners[-1]) > _ON_EDGE_M:
            corners.append(corner)
    while len(corners) > 1 and math.dist(corners[0], corners[-1]) <= _ON_EDGE_M:
        corners.pop()
    return corners


def inside(p: XY, hull: Sequence[XY]) -> bool:
    """Strictly inside the convex CCW ``hull`` (its boundary is outside)."""
    n = len(hull)
    return n >= 3 and all(
        orient(hull[i], hull[(i + 1) % n], p) > _ON_EDGE_M * math.dist(hull[i], hull[(i + 1) % n])
        for i in range(n)
    )


def enters(a: XY, b: XY, hull: Sequence[XY]) -> bool:
    """Whether the segment ``a``-``b`` passes through the inside of the convex CCW ``hull``
    (running along its boundary or touching a corner does not): Cyrus-Beck clipping."""
    n = len(hull)
    if n < 3:
        return False
    t_lo, t_hi = 0.0, 1.0
    d = (b[0] - a[0], b[1] - a[1])
    for i in range(n):
        p, q = hull[i], hull[(i + 1) % n]
        e = (q[0] - p[0], q[1] - p[1])
        # inside this edge's half-plane: cross(e, a + t d - p) > tolerance
        num = e[0] * (a[1] - p[1]) - e[1] * (a[0] - p[0]) - _ON_EDGE_M * math.hypot(*e)
        den = e[0] * d[1] - e[1] * d[0]
        if den == 0.0:
            if num <= 0.0:
                return False
        elif den > 0.0:
            t_lo = max(t_lo, -num / den)
        else:
            t_hi = min(t_hi, -num / den)
        if t_hi <= t_lo:
            return False
    return (t_hi - t_lo) * math.hypot(*d) > _ON_EDGE_M


def shortest_path(a: XY, b: XY, hulls: Sequence[Sequence[XY]]) -> list[XY]:
    """The shortest path from ``a`` to ``b`` that enters no hull, corners included;
    ``NoWayAround`` when there is none.

    A district has dozens of zones, most far from any one leg: the search starts with the hulls
    the straight leg enters (and those overlapping them: one obstacle), and takes in each hull
    its way round then enters, until none does."""
    active = _with_overlapping([h for h in hulls if enters(a, b, h)], hulls)
    while active:
        path = _shortest_among(a, b, active, hulls)
        legs = list(itertools.pairwise(path))
        more = [h for h in hulls if h not in active and any(enters(u, v, h) for u, v in legs)]
        if not more:
            return path
        active = _with_overlapping(active + more, hulls)
    return [a, b]


def _overlap(h: Sequence[XY], o: Sequence[XY]) -> bool:
    """Whether two convex hulls share some inside (a corner in the other, or an edge through it)."""
    n = len(h)
    return (
        any(inside(c, o) for c in h)
        or any(inside(c, h) for c in o)
        or any(enters(h[i], h[(i + 1) % n], o) for i in range(n))
    )


def _with_overlapping(active: list[Sequence[XY]], hulls: Sequence[Sequence[XY]]) -> list[Sequence[XY]]:
    """``active`` and every hull overlapping one of them, and so on: zones whose margins meet are
    one obstacle, and the way round one runs round all of it."""
    out = list(active)
    grew = True
    while grew:
        grew = False
        for h in hulls:
            if h not in out and any(_overlap(h, o) for o in out):
                out.append(h)
                grew = True
    return out


def _shortest_among(a: XY, b: XY, active: Sequence[Sequence[XY]], hulls: Sequence[Sequence[XY]]) -> list[XY]:
    """Dijkstra over the visibility graph of ``a``, ``b`` and the ``active`` hulls' corners
    (none inside any of ``hulls``)."""
    nodes = [a, b] + [c for h in active for c in h if not any(inside(c, o) for o in hulls)]
    clear = lambda u, v: not any(enters(nodes[u], nodes[v], h) for h in active)  # noqa: E731
    best = {0: 0.0}
    back: dict[int, int] = {}
    queue = [(0.0, 0)]
    done: set[int] = set()
    while queue:
        dist, u = heapq.heappop(queue)
        if u in done:
            continue
        if u == 1:
            path = [1]
            while path[-1] != 0:
                path.append(back[path[-1]])
            return [nodes[k] for k in reversed(path)]
        done.add(u)
        for v in range(len(nodes)):
            if v in done or v == u:
                continue
            nd = dist + math.dist(nodes[u], nodes[v])
            if nd < best.get(v, math.inf) and clear(u, v):
                best[v], back[v] = nd, u
                heapq.heappush(queue, (nd, v))
    raise NoWayAround("no way around the no-fly zones between these points")


def avoid(
    route: Sequence[XY], labels: Sequence[int], zones: Sequence[tuple[str, Sequence[XY]]], margin: float
) -> tuple[list[XY], list[int], list[Detour]]:
    """``route`` (home first and last, each point with its ``labels``: the pass it belongs to)
    kept ``margin`` clear of every zone (name, ring): points inside a grown zone dropped, each leg
    that would still enter one replaced by the shortest way around; its new corners take the
    label of the leg's end (of its start on a leg home: home's label is 0). Returns the route,
    its labels and what each zone cost, by zone. ``NoWayAround`` when home is inside a zone's
    margin or the zones close the way."""
    hulls = [grow(ring, margin) for _, ring in zones]
    for end in (route[0], route[-1]):
        for (name, _), h in zip(zones, hulls, strict=True):
            if inside(end, h):
                raise NoWayAround(f"home is inside no-fly zone {name!r} or within {margin:g} m of it")
    dropped = [0] * len(zones)
    kept: list[tuple[XY, int]] = []
    for k, (p, label) in enumerate(zip(route, labels, strict=True)):
        hit = next((z for z, h in enumerate(hulls) if inside(p, h)), None)
        if hit is not None and 0 < k < len(route) - 1:
            dropped[hit] += 1
            continue
        kept.append((p, label))
    extra = [0.0] * len(zones)
    out, out_labels = [kept[0][0]], [kept[0][1]]
    for (a, start), (b, label) in itertools.pairwise(kept):
        blocking = [z for z, h in enumerate(hulls) if enters(a, b, h)]
        path = shortest_path(a, b, hulls) if blocking else [a, b]
        added = sum(math.dist(u, v) for u, v in itertools.pairwise(path)) - math.dist(a, b)
        for z in blocking:
            extra[z] += added / len(blocking)
        out.extend(path[1:])
        corners = label or start  # a leg home's corners belong to the pass it leaves
        out_labels.extend([corners] * (len(path) - 2) + [label])
    detours = [
        Detour(name, round(extra[z], 1), dropped[z])
        for z, (name, _) in enumerate(zones)
        if extra[z] > 0 or dropped[z]
    ]
    return out, out_labels, detours
