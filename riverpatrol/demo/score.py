"""What the demo patrol found, scored against the simulator's exact ground truth (pure).

An item counts as *passed* when the camera had it in full view in at least ``min_frames`` frames
(what the agent's tracker needs to confirm a find); an alert *found* an item when it lies within
``radius_m`` of where that item really was in some frame. An alert near no debris item at all,
passed or glimpsed, is a false alert.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from contract.geo import distance_m

#: Fully in view: at least this fraction of the item inside the frame and not under a bridge.
FULL_VIEW = 0.8
#: Items smaller than this are not scored (the detector's target size, as in the model card).
MIN_SIZE_M = 0.3


@dataclass(frozen=True, slots=True)
class Find:
    """One alert as the cloud holds it."""

    alert_id: str
    debris_class: str
    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class PatrolScore:
    items_passed: int
    items_found: int
    class_right: int
    false_alerts: int
    alerts: int
    passed_by_class: dict[str, int]
    found_by_class: dict[str, int]
    #: Median frames an item passed was in full view in: the tracker's evidence (a real camera at
    #: 30 fps gives many more than a simulator rendering on the same 2 cores as the agent).
    frames_per_item: float | None = None

    @property
    def recall(self) -> float | None:
        return self.items_found / self.items_passed if self.items_passed else None


Sightings = dict[int, tuple[str, list[tuple[float, float]]]]


def sightings(frames: Iterable[dict], min_visible: float = 0.0, min_size_m: float = 0.0) -> Sightings:
    """Debris items in the frames (at least ``min_visible`` of them in view): id -> (class, positions)."""
    seen: Sightings = {}
    for frame in frames:
        for box in frame["truth"]:
            if box["visible_fraction"] >= min_visible and box["size_m"] >= min_size_m:
                seen.setdefault(box["item_id"], (box["kind"], []))[1].append((box["lat"], box["lon"]))
    return seen


def nearest(find: Find, items: Sightings, radius_m: float) -> int | None:
    """The item whose truth came closest to ``find``, if within ``radius_m``."""
    best, best_d = None, radius_m
    for item_id, (_kind, positions) in items.items():
        d = min(distance_m(find.lat, find.lon, la, lo) for la, lo in positions)
        if d <= best_d:
            best, best_d = item_id, d
    return best


def score_patrol(
    frames: Sequence[dict], finds: Sequence[Find], radius_m: float = 5.0, min_frames: int = 3
) -> PatrolScore:
    """Match each alert to the nearest passed item (>= 0.3 m) within ``radius_m``; one item counts once."""
    passed = sightings(frames, FULL_VIEW, MIN_SIZE_M)
    items = {k: v for k, v in passed.items() if len(v[1]) >= min_frames}
    glimpsed = sightings(frames)
    found: dict[int, Find] = {}
    false_alerts = 0
    for f in finds:
        best = nearest(f, items, radius_m)
        if best is not None:
            found.setdefault(best, f)
        elif nearest(f, glimpsed, radius_m) is None:
            false_alerts += 1
    passed_by_class: dict[str, int] = {}
    for kind, _ in items.values():
        passed_by_class[kind] = passed_by_class.get(kind, 0) + 1
    found_by_class: dict[str, int] = {}
    for item_id in found:
        kind = items[item_id][0]
        found_by_class[kind] = found_by_class.get(kind, 0) + 1
    return PatrolScore(
        items_passed=len(items),
        items_found=len(found),
        class_right=sum(items[i][0] == f.debris_class for i, f in found.items()),
        false_alerts=false_alerts,
        alerts=len(finds),
        passed_by_class=passed_by_class,
        found_by_class=found_by_class,
        frames_per_item=statistics.median(len(p) for _, p in items.values()) if items else None,
    )
