"""Alert-to-item assignment used by the alert benchmarks and the threshold choice."""

from __future__ import annotations

import numpy as np

from contract.geo import offset
from contract.messages import DebrisClass
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


def test_recall_counts_items_passed_apart_from_glimpses_at_a_patrols_ends():
    from types import SimpleNamespace

    from models.patrol_eval import PASSED_MIN_FRAMES, score_alerts

    def seen(item_id: int, north: float, size_m: float = 0.5, visible: float = 1.0):
        lat, lon = _at(north, 0)
        return SimpleNamespace(
            item_id=item_id, lat=lat, lon=lon, size_m=size_m, visible_fraction=visible, class_index=1
        )  # a bag

    # item 1 passes through 5 frames, item 2 is glimpsed in the last 2, item 3 is too small,
    # item 4 never fully in view; 5 frames of (jpeg, pose, t, truth, distractors)
    truth = [[seen(1, 0), seen(3, 20, size_m=0.2), seen(4, 40, visible=0.5)] for _ in range(5)]
    truth[3].append(seen(2, 60))
    truth[4].append(seen(2, 60))
    data = [(b"", None, float(i), t, []) for i, t in enumerate(truth)]
    assert PASSED_MIN_FRAMES == 3
    alert = SimpleNamespace(lat=_at(0.5, 0)[0], lon=_at(0.5, 0)[1], debris_class=DebrisClass.BAG)
    score = score_alerts(data, [alert])
    assert (score.items_seen, score.items_alerted) == (2, 1)  # items 1 and 2 count as seen
    assert (score.items_passed, score.items_passed_alerted) == (1, 1)  # only item 1 was passed
    assert score.recall == 0.5 and score.recall_passed == 1.0
    assert score.items_passed_alerted_class == 1 and score.class_right == 1.0
    # an alert that finds the bag but calls it foam: found, but the inspector reads the wrong "what"
    foam = SimpleNamespace(lat=alert.lat, lon=alert.lon, debris_class=DebrisClass.FOAM)
    score = score_alerts(data, [foam])
    assert (score.items_passed_alerted, score.items_passed_alerted_class, score.class_right) == (1, 0, 0.0)
    # an alert on the glimpsed item counts for "seen" only
    glimpse = SimpleNamespace(lat=_at(60, 0)[0], lon=_at(60, 0)[1], debris_class=DebrisClass.BAG)
    score = score_alerts(data, [glimpse])
    assert (score.items_alerted, score.items_passed_alerted, score.unmatched) == (1, 0, 0)
    assert np.isnan(score.class_right)  # nothing passed was alerted


def test_a_rendered_patrol_is_cached_by_its_parameters_and_a_torn_file_is_rendered_again(tmp_path, caplog):
    from models.patrol_eval import cached_patrol, patrol_key, render_patrol, render_patrols

    args = (8200, 2, 5.0, 8.0, 30.0, 3, 2, "train")
    first = cached_patrol(tmp_path, *args)
    path = tmp_path / patrol_key(*args)
    assert path.is_file() and [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left
    again = cached_patrol(tmp_path, *args)
    assert [f[0] for f in again] == [f[0] for f in first]  # the same JPEG bytes
    assert [f[0] for f in render_patrol(*args, progress=False)] == [f[0] for f in first]  # as rendered
    # every parameter is in the key: another seed, look or item count is another patrol
    keys = {patrol_key(*args), patrol_key(8201, *args[1:]), patrol_key(*args[:7], "shift")}
    keys.add(patrol_key(*args[:5], 4, *args[6:]))
    assert len(keys) == 4
    path.write_bytes(b"not a pickle")  # a run killed mid-write elsewhere, a foreign file
    with caplog.at_level("WARNING"):
        torn = cached_patrol(tmp_path, *args)
    assert "unreadable" in caplog.text and [f[0] for f in torn] == [f[0] for f in first]
    # the pool's results come back in job order, cached ones included
    both = render_patrols([args, (8201, *args[1:])], tmp_path, workers=2)
    assert [f[0] for f in both[0]] == [f[0] for f in first] and len(both[1]) == 2


def test_the_false_alert_budget_holds_on_each_look_not_on_their_sum():
    """A point with 3 false alerts in the shift look's 2,400 frames and 1 in the training look's
    passes a pooled budget (4 in 4,800) but not the per-look one (2 in 2,400)."""
    from types import SimpleNamespace

    from models.build import ValidationPatrols
    from models.evaluate import best_threshold
    from models.patrol_eval import AlertScore

    def look(fa_by_t: dict[float, int]):
        def at(t: float, tracker=None) -> tuple[int, AlertScore]:
            found = 10 if t < 0.95 else 8  # the lower threshold alerts more items
            return fa_by_t[t], AlertScore(found, 0, 10, found, 10, found)

        return SimpleNamespace(clean_frames=2400, at=at)

    patrols = object.__new__(ValidationPatrols)
    patrols.looks = {"train": look({0.9: 1, 0.95: 1}), "shift": look({0.9: 3, 0.95: 2})}
    patrols.frames, patrols.frames_per_look = 4800, 2400
    patrols.record, patrols.label = {}, ""
    assert patrols(0.9)[0] == 3  # the worst look's
    assert patrols.record["0.9"]["false_alerts_debris_free"] == 4 <= 4800 // 1000  # pooled, it would pass
    assert patrols.record["0.9"]["by_look"]["shift"]["false_alerts"] == 3
    point = best_threshold(patrols, patrols.frames_per_look, grid=(0.9, 0.95))
    assert (point.threshold, point.false_alerts) == (0.95, 2)
