"""SmartRTL's return path: the way the vehicle came, kept short enough to fly back.

Over a city the only airspace known to be clear is the one the patrol just flew: the river
corridor inside its geofence. A plain RTL flies the straight line home over whatever is in the
way (and through a no-fly zone the fence keeps out); SmartRTL retraces the path flown instead.

As ArduCopter's ``AP_SmartRTL`` does, the path starts at arming (if the position is good), a
point is saved at most 3 times a second and only once the vehicle has moved ``SRTL_ACCURACY``
from the last one, and the buffer of ``SRTL_POINTS`` is cleaned up every 50 new points (and
whenever it is nearly full, and before the return): straight runs become one segment
(Ramer-Douglas-Peucker, half the accuracy) and loops are cut where the path comes back within
the accuracy of itself. The path is lost ("SmartRTL deactivated: ...") after 15 s without a
good position, or 15 s unable to save a point into a full buffer. Pure: positions in, texts out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Point = tuple[float, float, float]  # north, east, up (m, the EKF's local frame)

SAVE_INTERVAL_S = 1.0 / 3.0  # at most 3 points a second
TIMEOUT_S = 15.0  # bad position, or a full buffer, this long: the path is given up
CLEANUP_EVERY = 50  # new points between routine cleanups
CLEANUP_MARGIN = 10  # clean up when fewer than this many slots are left
SIMPLIFY_SHARE = 0.5  # simplification tolerance, share of the accuracy
PRUNE_SHARE = 0.99  # loop pruning distance, share of the accuracy


def simplify(points: Sequence[Point], epsilon: float) -> list[Point]:
    """Ramer-Douglas-Peucker in 3D: drop every point within ``epsilon`` of the segment that
    would replace it; the ends are kept."""
    n = len(points)
    if n < 3:
        return list(points)
    p = np.asarray(points, dtype=float)
    keep = np.zeros(n, dtype=bool)
    keep[0] = keep[-1] = True
    stack = [(0, n - 1)]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        mid = p[a + 1 : b]
        d = p[b] - p[a]
        length2 = float(d @ d)
        if length2 < 1e-12:
            dist = np.linalg.norm(mid - p[a], axis=1)
        else:
            t = np.clip((mid - p[a]) @ d / length2, 0.0, 1.0)
            dist = np.linalg.norm(mid - (p[a] + t[:, None] * d), axis=1)
        k = int(np.argmax(dist))
        if dist[k] > epsilon:
            keep[a + 1 + k] = True
            stack += [(a, a + 1 + k), (a + 1 + k, b)]
    return [points[int(i)] for i in np.flatnonzero(keep)]


def _closest(p0: np.ndarray, p1: np.ndarray, q0: np.ndarray, q1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Closest points between segment ``p0-p1`` and each segment ``q0[j]-q1[j]`` (Ericson,
    Real-Time Collision Detection 5.1.9), vectorised over j."""
    d1, d2, r = p1 - p0, q1 - q0, p0 - q0
    a = float(d1 @ d1)
    e = np.einsum("ij,ij->i", d2, d2)
    f = np.einsum("ij,ij->i", d2, r)
    c = r @ d1
    b = d2 @ d1
    denom = a * e - b * b
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(denom > 1e-12, np.clip((b * f - c * e) / denom, 0.0, 1.0), 0.0)
        t = np.where(e > 1e-12, (b * s + f) / e, 0.0)
        a_safe = a if a > 1e-12 else 1.0
        s = np.where(
            t < 0.0, np.clip(-c / a_safe, 0.0, 1.0), np.where(t > 1.0, np.clip((b - c) / a_safe, 0.0, 1.0), s)
        )
    t = np.clip(t, 0.0, 1.0)
    return p0 + s[:, None] * d1, q0 + t[:, None] * d2


def prune_loops(points: Sequence[Point], delta: float) -> list[Point]:
    """Cut every loop: where a later, non-adjacent segment passes within ``delta`` of an
    earlier one, the points between go and one point halfway between the two closest points
    joins them (the latest such segment first, so the largest loop goes at once)."""
    path = list(points)
    p = np.asarray(path, dtype=float)
    i = 0
    while i < len(path) - 3:
        q0, q1 = p[i + 2 : -1], p[i + 3 :]
        near_p, near_q = _closest(p[i], p[i + 1], q0, q1)
        dist = np.linalg.norm(near_p - near_q, axis=1)
        hits = np.flatnonzero(dist < delta)
        if hits.size:
            k = int(hits[-1])
            j = i + 2 + k  # the later segment is path[j] - path[j + 1]
            jn, je, ju = ((near_p[k] + near_q[k]) / 2.0).tolist()
            path = [*path[: i + 1], (jn, je, ju), *path[j + 1 :]]
            p = np.asarray(path, dtype=float)  # only a cut changes it
        i += 1
    return path


class ReturnPath:
    """The breadcrumbs SmartRTL flies home along, newest last."""

    def __init__(self, accuracy_m: float = 2.0, max_points: int = 300) -> None:
        self.accuracy = max(0.0, accuracy_m)
        #: ``SRTL_POINTS`` 0 turns SmartRTL off; any other size holds at least a few points
        self.max_points = 0 if max_points <= 0 else max(CLEANUP_MARGIN + 2, int(max_points))
        self.points: list[Point] = []
        self.active = False
        self._since_cleanup = 0
        self._next_save = -math.inf
        self._last_good = -math.inf
        self._last_saved = -math.inf

    def __len__(self) -> int:
        return len(self.points)

    def start(self, t: float, here: Point, position_ok: bool) -> str | None:
        """At arming: a new path from ``here`` (home), or none without a good position."""
        self.points = []
        self._since_cleanup = 0
        self._next_save = -math.inf
        self.active = position_ok and self.max_points > 0
        if not self.max_points:
            return None
        if not position_ok:
            return "SmartRTL deactivated: bad position"
        self.points.append(here)
        self._last_good = self._last_saved = t
        return None

    def update(self, t: float, here: Point, position_ok: bool, save: bool = True) -> str | None:
        """One position while armed (``save`` False while SmartRTL flies the path back: nothing
        is saved, and that is no failure to save); a text when the path is given up."""
        if not self.active or t < self._next_save:
            return None
        self._next_save = t + SAVE_INTERVAL_S
        if position_ok:
            self._last_good = t
            if not save or self._add(here):
                self._last_saved = t
        if t - self._last_good > TIMEOUT_S:
            return self._give_up("bad position")
        if t - self._last_saved > TIMEOUT_S:
            return self._give_up("buffer full")
        return None

    def _add(self, here: Point) -> bool:
        if self.points and math.dist(self.points[-1], here) < self.accuracy:
            return True  # not moved far enough: nothing to save, nothing lost
        if self._since_cleanup >= CLEANUP_EVERY or len(self.points) >= self.max_points - CLEANUP_MARGIN:
            self.cleanup()
        if len(self.points) >= self.max_points:
            return False
        self.points.append(here)
        self._since_cleanup += 1
        return True

    def _give_up(self, why: str) -> str:
        self.active = False
        self.points = []
        return f"SmartRTL deactivated: {why}"

    def cleanup(self) -> None:
        """Simplify the straight runs, then cut the loops."""
        self._since_cleanup = 0
        path = simplify(self.points, self.accuracy * SIMPLIFY_SHARE)
        self.points = prune_loops(path, self.accuracy * PRUNE_SHARE)

    def pop(self) -> Point | None:
        """The next point home (the newest), taken off the path."""
        return self.points.pop() if self.points else None

    def peek(self) -> Point | None:
        """What :meth:`pop` would give next, without taking it (the leg after the one flown)."""
        return self.points[-1] if self.points else None

    def put_back(self, point: Point) -> None:
        """A point popped but not reached, when SmartRTL is left for another mode."""
        if self.active and len(self.points) < self.max_points:
            self.points.append(point)
