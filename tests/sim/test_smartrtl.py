"""SmartRTL's return path (sim.vehicle.smartrtl): saving, simplifying, loop pruning, giving up."""

from __future__ import annotations

import itertools
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.vehicle.smartrtl import ReturnPath, prune_loops, simplify


def _dist_to_polyline(p, line) -> float:
    best = math.inf
    for a, b in itertools.pairwise(line):
        ab = [b[i] - a[i] for i in range(3)]
        ap = [p[i] - a[i] for i in range(3)]
        L2 = sum(v * v for v in ab)
        t = 0.0 if L2 == 0 else max(0.0, min(1.0, sum(ab[i] * ap[i] for i in range(3)) / L2))
        best = min(best, math.dist(p, [a[i] + t * ab[i] for i in range(3)]))
    return best


def test_simplify_keeps_the_corners_of_a_dense_l() -> None:
    leg1 = [(float(n), 0.0, 30.0) for n in range(0, 201, 2)]
    leg2 = [(200.0, float(e), 30.0) for e in range(2, 201, 2)]
    out = simplify(leg1 + leg2, 1.0)
    assert out == [(0.0, 0.0, 30.0), (200.0, 0.0, 30.0), (200.0, 200.0, 30.0)]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(*[st.floats(-500, 500)] * 3), min_size=2, max_size=60), st.floats(0.1, 20))
def test_simplify_stays_within_epsilon_of_every_point(points, eps) -> None:
    out = simplify(points, eps)
    assert out[0] == points[0] and out[-1] == points[-1]
    assert all(p in points for p in out)
    assert all(_dist_to_polyline(p, out) <= eps + 1e-6 for p in points)


def test_an_out_and_back_leg_is_pruned_to_the_way_back_only() -> None:
    out = [(float(n), 0.0, 30.0) for n in range(0, 101, 4)]  # 100 m north
    side = [(100.0, 50.0, 30.0), (0.5, 50.0, 30.0)]  # a loop out east and back south
    back = [(0.5, 1.0, 30.0)]  # ... and west to within 1 m of the first leg
    path = prune_loops(out + side + back, 1.98)
    assert len(path) < 4
    assert math.dist(path[-1], back[-1]) < 1e-9 and path[0] == out[0]


def test_a_path_that_never_comes_back_is_not_pruned() -> None:
    zig = [(float(10 * i), 20.0 * (i % 2), 30.0) for i in range(30)]
    assert prune_loops(zig, 1.98) == zig


def test_points_are_saved_three_times_a_second_at_most_and_only_after_moving() -> None:
    rp = ReturnPath(accuracy_m=2.0, max_points=300)
    assert rp.start(0.0, (0.0, 0.0, 0.0), True) is None and rp.active
    t = 0.0
    for k in range(1, 301):  # 10 m/s north for 10 s in 30 ms steps
        t = k * 0.03
        rp.update(t, (10.0 * t, 0.0, 30.0), True)
    assert 25 <= len(rp) <= 32  # ~3 a second, each ~3.3 m on
    rp2 = ReturnPath()
    rp2.start(0.0, (0.0, 0.0, 0.0), True)
    for k in range(1, 100):
        rp2.update(k * 0.5, (0.5, 0.5, 0.0), True)  # hovering within the accuracy
    assert len(rp2) == 1 and rp2.active


def test_the_path_is_given_up_after_15_s_of_bad_position_or_a_full_buffer() -> None:
    rp = ReturnPath()
    rp.start(0.0, (0.0, 0.0, 0.0), True)
    said = [rp.update(k * 0.5, (float(k), 0.0, 10.0), k < 10) for k in range(1, 60)]
    assert "SmartRTL deactivated: bad position" in said and not rp.active and len(rp) == 0

    full = ReturnPath(accuracy_m=2.0, max_points=12)
    full.start(0.0, (0.0, 0.0, 0.0), True)
    said = []
    for k in range(1, 200):  # a zigzag nothing simplifies: fills the 12 points
        said.append(full.update(k * 0.4, (10.0 * k, 30.0 * (k % 2), 30.0), True))
    assert "SmartRTL deactivated: buffer full" in said and not full.active

    assert ReturnPath().start(0.0, (0.0, 0.0, 0.0), False) == "SmartRTL deactivated: bad position"
    off = ReturnPath(max_points=0)
    assert off.start(0.0, (0.0, 0.0, 0.0), True) is None and not off.active


def test_pop_goes_newest_first_and_put_back_restores() -> None:
    rp = ReturnPath()
    rp.start(0.0, (0.0, 0.0, 0.0), True)
    rp.update(1.0, (0.0, 0.0, 10.0), True)
    rp.update(2.0, (50.0, 0.0, 10.0), True)
    assert rp.pop() == (50.0, 0.0, 10.0) and rp.peek() == (0.0, 0.0, 10.0)
    rp.put_back((50.0, 0.0, 10.0))
    assert [rp.pop(), rp.pop(), rp.pop(), rp.pop()] == [
        (50.0, 0.0, 10.0),
        (0.0, 0.0, 10.0),
        (0.0, 0.0, 0.0),
        None,
    ]
