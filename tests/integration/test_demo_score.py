"""The demo's scoring of finds against ground truth (pure)."""

from __future__ import annotations

from contract.geo import offset
from contract.messages import DEBRIS_CLASSES
from riverpatrol.demo.score import Find, score_patrol

LAT, LON = 22.52, 114.06


def _box(item_id: int, kind: str, north: float, visible: float = 1.0, size: float = 0.5) -> dict:
    lat, lon = offset(LAT, LON, north, 0.0)
    box = {"item_id": item_id, "kind": kind, "class_index": DEBRIS_CLASSES.index(kind), "size_m": size}
    return {**box, "visible_fraction": visible, "lat": lat, "lon": lon}  # as the feed's truth.jsonl


def _find(alert_id: str, kind: str, north: float) -> Find:
    return Find(alert_id, kind, *offset(LAT, LON, north, 0.0))


def test_items_passed_found_false_and_class() -> None:
    frames = [
        {"truth": [_box(1, "bag", 0.0), _box(2, "foam", 50.0), _box(3, "bottle", 100.0, size=0.25)]}
        for _ in range(3)
    ] + [{"truth": [_box(4, "styrofoam", 200.0, visible=0.5)]}]  # glimpsed once, half in view
    finds = [
        _find("a", "bag", 1.0),  # item 1, class right
        _find("b", "bag", -2.0),  # item 1 again: counts once
        _find("c", "vegetation", 52.0),  # item 2, wrong class
        _find("d", "bottle", 100.5),  # item 3: under 0.3 m, not scored, not false
        _find("e", "styrofoam", 201.0),  # item 4: glimpsed only, not scored, not false
        _find("f", "foam", 400.0),  # nothing there: false
    ]
    s = score_patrol(frames, finds)
    assert (s.items_passed, s.items_found, s.class_right, s.false_alerts, s.alerts) == (2, 2, 1, 1, 6)
    assert s.passed_by_class == {"bag": 1, "foam": 1} and s.found_by_class == {"bag": 1, "foam": 1}
    assert s.recall == 1.0 and s.frames_per_item == 3


def test_an_item_in_view_in_fewer_frames_than_the_tracker_needs_is_not_passed() -> None:
    frames = [{"truth": [_box(1, "bag", 0.0)]} for _ in range(2)]
    s = score_patrol(frames, [], min_frames=3)
    assert s.items_passed == 0 and s.recall is None


def test_a_find_farther_than_the_radius_does_not_count() -> None:
    frames = [{"truth": [_box(1, "bag", 0.0)]} for _ in range(3)]
    s = score_patrol(frames, [_find("a", "bag", 6.0)], radius_m=5.0)
    assert (s.items_found, s.false_alerts) == (0, 1)
