"""Going around no-fly zones: the shortest way past them, never nearer than the margin."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ground_station.planning.detour import NoWayAround, avoid, enters, grow, inside, shortest_path

XY = tuple[float, float]


def seg_dist(p: XY, a: XY, b: XY) -> float:
    dx, dy = b[0] - a[0], b[1] - a[1]
    t = max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy or 1.0)))
    return math.dist(p, (a[0] + t * dx, a[1] + t * dy))


def crosses(a: XY, b: XY, c: XY, d: XY) -> bool:
    o = lambda p, q, r: (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])  # noqa: E731
    return o(a, b, c) * o(a, b, d) < 0 and o(c, d, a) * o(c, d, b) < 0


def clearance(path: list[XY], ring: list[XY]) -> float:
    """How near the path comes to the polygon ``ring`` (0 when it enters it)."""
    edges = list(zip(ring, ring[1:] + ring[:1], strict=True))
    best = math.inf
    for a, b in itertools.pairwise(path):
        if any(crosses(a, b, c, d) for c, d in edges) or inside(a, ring[::-1] if _cw(ring) else ring):
            return 0.0
        best = min(
            best, *(seg_dist(c, a, b) for c in ring), *(seg_dist(p, c, d) for p in (a, b) for c, d in edges)
        )
    return best


def _cw(ring: list[XY]) -> bool:
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True)) < 0


def square(cx: float, cy: float, half: float) -> list[XY]:
    return [(cx - half, cy - half), (cx + half, cy - half), (cx + half, cy + half), (cx - half, cy + half)]


def length(path: list[XY]) -> float:
    return sum(math.dist(a, b) for a, b in itertools.pairwise(path))


def test_a_leg_across_a_zone_goes_round_its_nearer_side_a_margin_clear() -> None:
    zone = square(500.0, 10.0, 50.0)  # the straight line passes 40 m below its middle: north is longer
    path = shortest_path((0.0, 0.0), (1000.0, 0.0), [grow(zone, 20.0)])
    assert path[0] == (0.0, 0.0) and path[-1] == (1000.0, 0.0) and len(path) > 2
    assert max(y for _, y in path) <= 0.0  # round the south side
    assert 19.99 < clearance(path, zone) < 22.0  # the margin, and not much more
    assert length(path) < 1000.0 + 2 * 80.0  # no wide swing: the extra is the dogleg alone


def test_a_leg_clear_of_every_zone_is_left_alone_and_a_grazing_one_too() -> None:
    hull = grow(square(500.0, 100.0, 50.0), 20.0)
    assert shortest_path((0.0, 0.0), (1000.0, 0.0), [hull]) == [(0.0, 0.0), (1000.0, 0.0)]
    assert not enters(hull[0], hull[1], hull)  # along its boundary is outside
    assert enters((500.0, 0.0), (500.0, 200.0), hull)


def test_waypoints_in_a_zone_are_dropped_and_said_and_home_in_one_is_refused() -> None:
    route = [(0.0, 0.0), (200.0, 0.0), (500.0, 0.0), (800.0, 0.0), (0.0, 0.0)]
    out, labels, detours = avoid(route, [0, 1, 1, 1, 0], [("bridge", square(500.0, 0.0, 40.0))], 20.0)
    assert (500.0, 0.0) not in out and out[0] == out[-1] == (0.0, 0.0)
    assert len(out) == len(labels) and labels[0] == labels[-1] == 0 and set(labels[1:-1]) == {1}
    (d,) = detours
    assert d.zone == "bridge" and d.dropped == 1 and d.extra_m > 0
    assert clearance(out, square(500.0, 0.0, 40.0)) > 19.99
    with pytest.raises(NoWayAround, match="home is inside no-fly zone 'helipad' or within 20 m"):
        avoid(route, [0, 1, 1, 1, 0], [("helipad", square(10.0, 0.0, 5.0))], 20.0)


def test_zones_that_wall_the_way_off_are_refused() -> None:
    walls = [  # four walls around the start, their margins meeting at the corners
        [(-100.0, -100.0), (-80.0, -100.0), (-80.0, 100.0), (-100.0, 100.0)],
        [(80.0, -100.0), (100.0, -100.0), (100.0, 100.0), (80.0, 100.0)],
        [(-100.0, 80.0), (100.0, 80.0), (100.0, 100.0), (-100.0, 100.0)],
        [(-100.0, -100.0), (100.0, -100.0), (100.0, -80.0), (-100.0, -80.0)],
    ]
    with pytest.raises(NoWayAround):
        shortest_path((0.0, 0.0), (300.0, 0.0), [grow(r, 20.0) for r in walls])
    assert len(shortest_path((0.0, 0.0), (300.0, 0.0), [grow(r, 20.0) for r in walls[1:]])) > 2  # one open


@settings(max_examples=150, deadline=None)
@given(
    st.floats(-300, 300), st.floats(-300, 300), st.floats(5, 120),
    st.floats(-600, -400), st.floats(-300, 300), st.floats(400, 600), st.floats(-300, 300),
    st.floats(0, 40),
)  # fmt: skip
def test_the_way_round_never_comes_nearer_than_the_margin(cx, cy, half, ax, ay, bx, by, margin) -> None:
    zone = square(cx, cy, half)
    hull = grow(zone, margin)
    assume(not inside((ax, ay), hull) and not inside((bx, by), hull))
    path = shortest_path((ax, ay), (bx, by), [hull])
    assert path[0] == (ax, ay) and path[-1] == (bx, by)
    assert clearance(path, zone) >= margin - 1e-6
    assert length(path) >= math.dist((ax, ay), (bx, by)) - 1e-9


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-300, 300), st.floats(-200, 200), st.floats(5, 80)), min_size=2, max_size=7),
    st.floats(0, 30),
)
def test_among_many_zones_the_way_round_clears_every_one_or_there_is_none(squares, margin) -> None:
    zones = [square(*s) for s in squares]
    hulls = [grow(z, margin) for z in zones]
    a, b = (-600.0, 0.0), (600.0, 0.0)
    try:
        path = shortest_path(a, b, hulls)
    except NoWayAround:
        return
    assert path[0] == a and path[-1] == b
    assert all(clearance(path, z) >= margin - 1e-6 for z in zones)
