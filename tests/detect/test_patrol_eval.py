"""Alert-to-item assignment used by the alert benchmarks and the threshold choice."""

from __future__ import annotations

from contract.geo import offset
from models.patrol_eval import assign_alerts

LAT, LON = 22.52, 114.06


def _at(north: float, east: float) -> tuple[float, float]:
    return offset(LAT, LON, north, east)


def test_two_alerts_on_two_close_items_are_not_a_duplicate_even_when_both_are_shifted():
    items = {1: [_at(0, 0)], 2: [_at(0, 1.0)]}
    # a 1.5 m GNSS bias to the west puts both alerts nearer item 1 than item 2
    alerts = [_at(0, -1.5), _at(0, -0.5)]
    matched, duplicates, stray = assign_alerts(alerts, items, 5.0)
    assert sorted(matched.values()) == [1, 2]
    assert duplicates == {} and stray == []


def test_a_second_alert_on_one_item_is_a_duplicate_and_a_far_one_is_stray():
    items = {1: [_at(0, 0)], 2: [_at(40, 0)]}
    alerts = [_at(0, 0.2), _at(0.5, 0), _at(0, 20)]
    matched, duplicates, stray = assign_alerts(alerts, items, 5.0)
    assert matched == {0: 1}
    assert duplicates == {1: 1}  # the second alert, on item 1
    assert stray == [2]
