"""Tracker: one alert per physical item across frames, passes and drones; flickers never alert."""

from __future__ import annotations

import itertools
import json
import math
import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest

import contract.rivers as rivers
from contract.geo import distance_m, offset, to_local
from contract.messages import Alert, AlertEvent, TrackStats
from edge.tracker import Sighting, Tracker, TrackerConfig
from tests.edge_alerts.scene import REF_LAT, REF_LON, Item, fly, item_latlon

ITEMS = [
    Item(-30, -8, "bottle"),
    Item(-20, 6, "bag"),
    Item(-5, 0, "foam"),
    Item(4, 9, "bottle"),
    Item(12, -12, "styrofoam", drift_east_mps=0.15),
    Item(25, 3, "vegetation"),
    Item(33, -3, "bottle"),
]
WAKE = Item(0, -4, "foam", score=0.3)  # a boat wake: seen steadily, never confidently


def _ids():
    counter = itertools.count(1)
    return lambda: uuid.UUID(int=next(counter))


def _run(tracker: Tracker, frames):
    events = []
    for f in frames:
        events += tracker.update(f.t, f.sightings, frame=("frame", f.t), frame_size=(1920, 1080))
    events += tracker.flush(frames[-1].t + 60)
    return events


def _nearest_item(lat, lon):
    d = [distance_m(lat, lon, *item_latlon(it)) for it in ITEMS]
    return min(range(len(d)), key=d.__getitem__), min(d)


def test_n_items_two_passes_give_exactly_n_new_and_a_pass_2_update():
    frames = fly([*ITEMS, WAKE], legs=[(-70, 70, 0.0), (70, -70, 180.0)], seed=11)
    assert sum(1 for f in frames for i in f.truth if i == -1) > 20  # glints really were shown
    tr = Tracker(TrackerConfig(drone_id="d1"), new_id=_ids())
    events = _run(tr, frames)
    news = [e for e in events if e.event is AlertEvent.NEW]
    assert len(news) == len(ITEMS)
    matched = {}
    for e in news:
        idx, d = _nearest_item(e.lat, e.lon)
        assert d < 6.0, f"new alert {e.alert_id} is {d:.1f} m from the nearest item"
        matched[e.alert_id] = idx
    assert sorted(matched.values()) == list(range(len(ITEMS)))  # one alert per item, no wake
    for aid in matched:
        mine = [e for e in events if e.alert_id == aid]
        assert [e.revision for e in mine] == list(range(len(mine)))  # revisions strictly +1
        assert mine[0].event is AlertEvent.NEW and mine[-1].event is AlertEvent.END
        assert max(e.passes for e in mine) == 2, f"item {matched[aid]} not re-sighted on pass 2"
        resight = [e for e in mine if e.event is AlertEvent.UPDATE and e.passes == 2]
        assert resight, "pass 2 must announce itself with an update"
        assert mine[-1].sightings > 10 and mine[-1].best is not None
        assert mine[-1].best.snapshot[0] == "frame"
    assert tr.open_items == 0 and tr.active_tracks == 0


def test_glints_and_low_score_wakes_never_alert():
    frames = fly([WAKE], legs=[(-40, 40, 0.0)], seed=5, p_glint=0.9)
    tr = Tracker(TrackerConfig(drone_id="d1"))
    assert _run(tr, frames) == []
    assert tr.stats.tracks_started > 20 and tr.stats.tracks_confirmed == 0


def _sighting(north, east, score=0.8, cls="bottle", box=(900, 500, 940, 540), unc=3.0, slant=30.0):
    lat, lon = offset(REF_LAT, REF_LON, north, east)
    return Sighting(box=box, score=score, class_name=cls, lat=lat, lon=lon, uncertainty_m=unc, slant_m=slant)


def _hover(tr, t0, n, fps=5.0, **kw):
    events = []
    for k in range(n):
        events += tr.update(t0 + k / fps, [_sighting(0, 0, **kw)])
    return events


def test_re_sighting_after_end_is_an_update_with_passes_plus_one():
    tr = Tracker(TrackerConfig(drone_id="d1"), new_id=_ids())
    ev = _hover(tr, 0.0, 10)
    assert [e.event for e in ev] == [AlertEvent.NEW]
    ev = tr.tick(20.0)
    assert [(e.event, e.revision) for e in ev] == [(AlertEvent.END, 1)]
    ev = _hover(tr, 100.0, 10)
    assert [(e.event, e.revision, e.passes) for e in ev] == [(AlertEvent.UPDATE, 2, 2)]
    assert ev[0].alert_id == uuid.UUID(int=1)
    assert ev[0].first_seen == 0.0 and ev[0].last_seen == pytest.approx(100.0 + 2 / 5)


def test_drift_allowance_grows_the_gate_with_time():
    cfg = TrackerConfig(drone_id="d1", max_drift_mps=0.5)
    tr = Tracker(cfg, new_id=_ids())
    _hover(tr, 0.0, 5)
    tr.tick(20.0)
    # 15 m downstream 60 s later: within 0.5 m/s * 60 s of drift -> same item.
    ev = []
    for k in range(5):
        ev += tr.update(62.0 + k / 5, [_sighting(0, 15)])
    assert [e.event for e in ev] == [AlertEvent.UPDATE] and ev[0].alert_id == uuid.UUID(int=1)
    tr.tick(100.0)
    # 40 m away only 12 s after: farther than the current can carry it -> a different item.
    ev = []
    for k in range(5):
        ev += tr.update(112.0 + k / 5, [_sighting(0, 55)])
    assert [e.event for e in ev] == [AlertEvent.NEW] and ev[0].alert_id == uuid.UUID(int=2)


def test_a_single_frame_or_a_low_median_never_confirms():
    tr = Tracker(TrackerConfig(drone_id="d1"))
    assert tr.update(0.0, [_sighting(0, 0, score=0.99)]) == []
    assert tr.tick(5.0) == []
    scores = [0.95, 0.2, 0.3, 0.25, 0.9, 0.3, 0.2, 0.35]  # glinting wake: two high frames, low median
    ev = []
    for k, s in enumerate(scores):
        ev += tr.update(10.0 + k * 0.2, [_sighting(0, 0, score=s)])
    assert ev == [] and tr.stats.tracks_confirmed == 0


def _remote_alert(aid, revision=3, passes=1, drone="d2", cls="bottle", north=0.0, east=0.0):
    lat, lon = offset(REF_LAT, REF_LON, north, east)
    t = datetime(2026, 1, 1, tzinfo=UTC)
    return Alert(
        alert_id=aid,
        revision=revision,
        event=AlertEvent.END,
        drone_id=drone,
        mission_id="m1",
        captured_at=t,
        published_at=t,
        lat=lat,
        lon=lon,
        uncertainty_m=3.0,
        debris_class=cls,
        confidence=0.8,
        track=TrackStats(
            sightings=12, passes=passes, first_seen=t, last_seen=t, top_score=0.9, median_score=0.8
        ),
    )


def test_a_remote_alert_learned_makes_our_sighting_an_update_of_that_alert():
    remote_id = uuid.uuid4()
    tr = Tracker(TrackerConfig(drone_id="d1"), new_id=_ids())
    t0 = datetime(2026, 1, 1, tzinfo=UTC).timestamp() + 30
    assert tr.learn_remote(_remote_alert(remote_id, revision=3, north=1.0))
    assert not tr.learn_remote(_remote_alert(uuid.uuid4(), drone="d1"))  # our own echo
    ev = _hover(tr, t0, 10)
    assert [(e.event, e.alert_id, e.revision, e.passes) for e in ev] == [(AlertEvent.UPDATE, remote_id, 4, 2)]
    assert ev[0].sightings == 12 + 3


def test_better_views_update_at_most_once_per_interval_while_hovering():
    cfg = TrackerConfig(drone_id="d1", update_min_interval_s=5.0)
    tr = Tracker(cfg, new_id=_ids())
    events = []
    for k in range(150):  # 30 s hover, the view improving every frame
        t = k / 5
        events += tr.update(t, [_sighting(0, 0, score=min(0.55 + k * 0.003, 1.0))], frame=k)
    updates = [e for e in events if e.event is AlertEvent.UPDATE]
    assert 4 <= len(updates) <= 6
    times = [e.last_seen for e in events]
    assert all(b - a >= 5.0 - 1e-9 for a, b in itertools.pairwise(times))
    assert updates[-1].best.snapshot > updates[0].best.snapshot  # newer, better frame kept
    assert updates[-1].confidence > updates[0].confidence


def test_a_closer_look_is_the_better_photo_even_at_a_slightly_lower_score():
    """The operator sent the drone down over a find (``gcs mission goto --alt 12``): the item
    is seen 2.5x larger at a score a little under its patrol view's; that view is what the
    re-sighting's update carries to the inspector. The same size at that score is not better."""
    tr = Tracker(TrackerConfig(drone_id="d1"), new_id=_ids())
    patrol = (950, 520, 970, 540)  # 20 px from 30 m
    ev = _run_hover(tr, 0.0, box=patrol, score=0.97)
    assert [e.event for e in ev] == [AlertEvent.NEW] and ev[0].best.box == patrol
    tr.tick(20.0)  # it ended: the drone flew on
    same_size = _run_hover(tr, 100.0, box=patrol, score=0.94)
    assert [e.event for e in same_size] == [AlertEvent.UPDATE] and same_size[0].best.box == patrol
    tr.tick(120.0)
    close = (935, 515, 985, 565)  # 50 px from 12 m
    ev = _run_hover(tr, 200.0, box=close, score=0.94)
    assert [(e.event, e.passes) for e in ev] == [(AlertEvent.UPDATE, 3)]
    assert ev[0].best.box == close and ev[0].best.snapshot == 200.0
    tr.tick(220.0)
    unsure = _run_hover(tr, 300.0, box=(900, 500, 1000, 600), score=0.8)  # larger, far less sure
    assert unsure[0].best.box == close


def test_a_position_fixed_by_a_closer_look_is_announced_and_jitter_is_not():
    """Seen first in a descent (3 m off), then held over: the fixes from the hover move the item's
    estimate 2 m or more from the one announced, and an update says where it is."""
    tr = Tracker(TrackerConfig(drone_id="d1", update_min_interval_s=5.0), new_id=_ids())
    ev = [e for k in range(10) for e in tr.update(k / 5, [_sighting(0, 0, score=0.95, unc=4.0)], frame=k)]
    assert [e.event for e in ev] == [AlertEvent.NEW]
    said = (ev[0].lat, ev[0].lon)
    jitter = [
        e
        for k in range(10, 50)
        for e in tr.update(k / 5, [_sighting(0, 0.6 * (-1) ** k, score=0.95, unc=4.0)], frame=k)
    ]
    assert jitter == []  # the same view, the estimate within a metre: nothing to say
    held = [
        e for k in range(50, 100) for e in tr.update(k / 5, [_sighting(0, 3.5, score=0.95, unc=1.0)], frame=k)
    ]
    (moved,) = held
    assert moved.event is AlertEvent.UPDATE and moved.passes == 1
    assert distance_m(*said, moved.lat, moved.lon) > 2.0
    assert distance_m(moved.lat, moved.lon, *offset(REF_LAT, REF_LON, 0, 3.5)) < 1.5


def test_an_item_drifting_under_a_hovering_drone_is_placed_where_it_is_not_where_it_was():
    """Held over for 20 s while the current carries it 0.35 m/s east: the item's position follows
    it (the plain mean of the look's 100 fixes would trail it by 3.5 m)."""
    tr = Tracker(TrackerConfig(drone_id="d1", update_min_interval_s=5.0), new_id=_ids())
    fps, v = 5.0, 0.35
    ev = []
    for k in range(100):
        t = k / fps
        jitter = 0.3 * (-1) ** k  # per-frame fix noise, averaged by the fading mean
        ev += tr.update(t, [_sighting(jitter, v * t, score=0.95, unc=2.0)], frame=k)
    ev += tr.flush(30.0)
    assert [e.event for e in ev].count(AlertEvent.NEW) == 1 and ev[0].event is AlertEvent.NEW
    last = ev[-1]
    assert distance_m(last.lat, last.lon, *offset(REF_LAT, REF_LON, 0, v * 99 / fps)) < 1.0
    assert any(e.event is AlertEvent.UPDATE for e in ev)  # it moved 7 m: the updates said so


def _run_hover(tr, t0, n=10, fps=5.0, **kw):
    events = []
    for k in range(n):
        events += tr.update(t0 + k / fps, [_sighting(0, 0, **kw)], frame=t0 + k / fps)
    return events


def test_class_confusions_within_a_group_merge_others_do_not():
    tr = Tracker(TrackerConfig(drone_id="d1"), new_id=_ids())
    _hover(tr, 0.0, 5, cls="foam")
    tr.tick(20.0)
    ev = _hover(tr, 30.0, 5, cls="styrofoam")
    assert [e.event for e in ev] == [AlertEvent.UPDATE]
    tr.tick(60.0)
    ev = _hover(tr, 70.0, 5, cls="bag")
    assert [e.event for e in ev] == [AlertEvent.NEW]


def test_a_closer_look_that_names_an_item_anew_renames_its_alert_and_starts_no_second():
    """From 30 m a 0.3 m bag (13 px) was called foam; held over at 12 m (32 px) it is a bag, and the
    current moved it a metre: the same alert, now a bag, not a second one beside the first."""
    tr = Tracker(TrackerConfig(drone_id="d1"), new_id=_ids())
    far = _hover(tr, 0.0, 5, cls="foam", score=0.95, box=(900, 500, 913, 513))
    far += tr.tick(10.0)
    near = [
        e
        for k in range(10)
        for e in tr.update(
            20.0 + k / 5, [_sighting(0, 1.0, cls="bag", score=0.96, box=(900, 500, 932, 532), slant=12.0)]
        )
    ]
    assert [e.event for e in far] == [AlertEvent.NEW, AlertEvent.END]
    assert [(e.event, e.alert_id, e.class_name) for e in near] == [
        (AlertEvent.UPDATE, far[0].alert_id, "bag")
    ]
    assert tr.stats.renamed_by_closer_look == 1
    tr.tick(30.0)
    patrol_again = _hover(tr, 40.0, 5, cls="foam", score=0.95, box=(900, 500, 913, 513), slant=30.0)
    assert [(e.event, e.alert_id, e.class_name) for e in patrol_again] == [
        (AlertEvent.UPDATE, far[0].alert_id, "bag")  # the patrol's name from 30 m does not undo it
    ]


def test_an_item_of_another_class_beside_one_seen_closer_is_a_second_alert():
    """The closer look's other name is taken only from much nearer and at the same spot: another
    class seen there from the same height (its box larger: the first was clipped by the frame's
    edge), or from nearer 4 m off, is another item."""
    tr = Tracker(TrackerConfig(drone_id="d1"), new_id=_ids())
    first = _hover(tr, 0.0, 5, cls="foam", score=0.95, box=(900, 500, 913, 513))
    tr.tick(10.0)
    same_height = _hover(tr, 20.0, 5, cls="bag", score=0.95, box=(900, 500, 940, 540))
    tr.tick(30.0)
    beside = [
        e
        for k in range(5)
        for e in tr.update(
            40.0 + k / 5, [_sighting(0, 4.0, cls="bottle", score=0.96, box=(900, 500, 932, 532), slant=12.0)]
        )
    ]
    ids = {e.alert_id for e in first + same_height + beside if e.event is AlertEvent.NEW}
    assert len(ids) == 3 and tr.stats.renamed_by_closer_look == 0


def test_two_items_side_by_side_in_one_frame_are_two_alerts():
    tr = Tracker(TrackerConfig(drone_id="d1"), new_id=_ids())
    events = []
    for k in range(6):
        a = _sighting(0, 0, box=(900, 500, 940, 540))
        b = _sighting(0, 1.5, box=(960, 500, 1000, 540))
        events += tr.update(k / 5, [a, b])
    assert [e.event for e in events] == [AlertEvent.NEW, AlertEvent.NEW]
    assert events[0].alert_id != events[1].alert_id


def test_one_object_boxed_twice_in_every_frame_is_one_alert():
    """The detector names a piece of styrofoam twice, as styrofoam and as foam, with two boxes
    over it in each frame: one item, one alert, its sightings counted once a frame."""
    tr = Tracker(TrackerConfig(drone_id="d1"), new_id=_ids())
    events = []
    for k in range(10):
        a = _sighting(0, 0, score=0.9, cls="styrofoam", box=(900, 500, 940, 540))
        b = _sighting(0, 0.3, score=0.8, cls="foam", box=(902, 503, 941, 542))
        events += tr.update(k / 5, [a, b])
    events += tr.flush(30.0)
    assert [e.event for e in events] == [AlertEvent.NEW, AlertEvent.END]
    assert events[-1].sightings == 10 and events[-1].class_name == "styrofoam"
    tr = Tracker(TrackerConfig(drone_id="d1"), new_id=_ids())  # its first box missed now and then
    events = []
    for k in range(20):
        a = [_sighting(0, 0, score=0.9, cls="styrofoam", box=(900, 500, 940, 540))] if k % 4 != 3 else []
        b = _sighting(0, 0.3, score=0.8, cls="foam", box=(902, 503, 941, 542))
        events += tr.update(k / 5, [*a, b])
    events += tr.flush(30.0)
    assert [e.event for e in events] == [AlertEvent.NEW, AlertEvent.END]
    assert events[-1].class_name == "styrofoam" and events[-1].sightings == 20  # the second box's
    # frames count, and its name does not replace the object's
    tr = Tracker(TrackerConfig(drone_id="d1"), new_id=_ids())  # named a bag too: still one object
    events = []
    for k in range(10):
        a = _sighting(0, 0, score=0.9, cls="styrofoam", box=(900, 500, 940, 540))
        b = _sighting(0, 0.3, score=0.7, cls="bag", box=(903, 501, 942, 541))
        events += tr.update(k / 5, [a, b])
    assert [e.event for e in events] == [AlertEvent.NEW]


def test_an_item_called_two_names_takes_a_track_of_either():
    """Coming down over a find, the detector calls it a bag where it had called it styrofoam (the
    item's track now votes bag); the track lapses and a styrofoam one picks it up again: one
    item the whole time, not a second alert when the first name returns."""
    tr = Tracker(TrackerConfig(drone_id="d1"), new_id=_ids())
    events = []
    for k in range(50):  # frames 30-39: nothing, its track lapses (the item stays open)
        cls = "styrofoam" if k < 10 or k >= 40 else "bag"
        seen = [] if 30 <= k < 40 else [_sighting(0, 0, score=0.9, cls=cls)]
        events += tr.update(k / 5, seen)
    assert [e.event for e in events] == [AlertEvent.NEW]
    assert tr.items == 1


def test_a_box_leaving_the_frame_ends_the_item_early():
    cfg = TrackerConfig(drone_id="d1", end_after_s=10.0, left_frame_end_s=1.0)
    tr = Tracker(cfg, new_id=_ids())
    events = []
    for k in range(6):  # moving up 50 px per frame towards the top edge
        y = 300 - 50 * k
        events += tr.update(k / 5, [_sighting(0, 0, box=(900, y, 940, y + 40))], frame_size=(1920, 1080))
    assert [e.event for e in events] == [AlertEvent.NEW]
    events = []
    for k in range(6, 20):
        events += tr.update(k / 5, [], frame_size=(1920, 1080))
    assert [e.event for e in events] == [AlertEvent.END]
    assert events[0].last_seen == pytest.approx(1.0)


def test_bad_input_is_rejected_counted_and_the_tracker_carries_on():
    tr = Tracker(TrackerConfig(drone_id="d1"))
    bad = [
        _sighting(0, 0, score=1.7),
        _sighting(0, 0, box=(10, 10, 5, 20)),
        _sighting(0, 0, unc=float("nan")),
    ]
    assert tr.update(1.0, bad) == []
    assert tr.stats.rejected == 3 and "non-finite" in tr.stats.last_rejection
    with pytest.raises(ValueError, match="older than"):
        tr.update(0.5, [])
    _hover(tr, 2.0, 5)
    assert tr.items == 1


def test_sighting_from_a_detector_detection_and_a_fix():
    from contract.camera import CameraModel, CameraPose
    from edge.detect.detection import Detection
    from edge.geolocate import GeoConfig, geolocate_box

    det = Detection(900.0, 500.0, 940.0, 540.0, 0.8, 1, "bag")
    fix = geolocate_box(
        det.box, CameraPose(lat=REF_LAT, lon=REF_LON, alt_m=30.0), GeoConfig(CameraModel.default())
    )
    s = Sighting.of(det, fix)
    assert s.box == det.box and s.class_name == "bag" and s.uncertainty_m == fix.uncertainty_m
    assert s.off_nadir_deg == fix.off_nadir_deg and (s.lat, s.lon) == (fix.lat, fix.lon)


def test_forgetting_beyond_max_items_keeps_memory_bounded():
    tr = Tracker(TrackerConfig(drone_id="d1", max_items=3), new_id=_ids())
    news = []
    for n in range(6):  # six items 100 m apart, one after another
        for k in range(4):
            news += [e for e in tr.update(n * 20.0 + k / 5, [_sighting(100.0 * n, 0)]) if e.event == "new"]
        tr.tick(n * 20.0 + 10)
    assert len(news) == 6 and tr.items == 3 and tr.stats.items_forgotten == 3


def test_a_small_item_sweeping_fast_through_the_frame_is_one_alert():
    """8 m/s at 5 fps moves a 15-px bottle ~70 px a frame: the image gate alone never matches
    before the track has a velocity, so the same spot on the water must carry the track."""
    tr = Tracker(TrackerConfig(drone_id="d1"), new_id=_ids())
    events = []
    for k in range(12):
        y = 60 + 70 * k
        jitter = 0.3 * (-1) ** k  # geolocation noise between frames, metres
        events += tr.update(k / 5, [_sighting(jitter, 0, box=(950, y, 965, y + 15))])
    events += tr.flush(10.0)
    assert [e.event for e in events].count(AlertEvent.NEW) == 1
    assert tr.stats.tracks_started == 1


def test_fast_sweep_keeps_two_items_two_metres_apart_apart():
    tr = Tracker(TrackerConfig(drone_id="d1"), new_id=_ids())
    events = []
    for k in range(8):
        y = 60 + 70 * k
        a = _sighting(0, 0, box=(950, y, 965, y + 15))
        b = _sighting(0, 2.0, box=(1040, y, 1055, y + 15))
        events += tr.update(k / 5, [a, b])
    assert [e.event for e in events].count(AlertEvent.NEW) == 2


NEVER_TURNS = tuple(replace(r, tidal=False) for r in rivers.rivers().values())


def _on_shenzhen(along_m: float, across_m: float) -> tuple[float, float]:
    """A point ``along_m`` downstream of the middle of a straight stretch of the Shenzhen River
    and ``across_m`` to the right of its flow (lat, lon)."""
    (lon0, lat0), (lon1, lat1) = rivers.river("shenzhen").coords[3:5]
    n, e = to_local(lat0, lon0, lat1, lon1)
    length = math.hypot(n, e)
    dn, de = n / length, e / length
    mid = offset(lat0, lon0, n / 2, e / 2)
    return offset(*mid, along_m * dn - across_m * de, along_m * de + across_m * dn)


def _pass_over(tr, t0, lat, lon, n=6):
    """A pass over one item: ``n`` frames at 5 fps, then the item ends."""
    events = []
    for k in range(n):
        s = Sighting(
            box=(900, 500, 940, 540), score=0.8, class_name="bottle", lat=lat, lon=lon, uncertainty_m=3.0
        )
        events += tr.update(t0 + k / 5, [s])
    return events + tr.tick(t0 + 20.0)


@pytest.mark.parametrize(
    ("along", "across", "cfg", "same", "kept_apart"),
    [
        (0.0, 25.0, {}, False, 1),  # a look-alike across the water five minutes later: another item
        (0.0, 25.0, {"river_frame": False}, True, 0),  # the plain gate took it for the first
        (90.0, 3.0, {}, True, 0),  # carried 90 m down the river (0.3 m/s): itself
        (-90.0, 3.0, {}, True, 0),  # or up it: a tidal river turns
        (-90.0, 3.0, {"rivers": NEVER_TURNS}, False, 1),  # not on a river that never does
        (160.0, 0.0, {}, False, 0),  # farther than the fastest current carries it: the plain gate says so
    ],
)
def test_a_re_sighting_minutes_later_must_fit_the_rivers_current(along, across, cfg, same, kept_apart):
    tr = Tracker(TrackerConfig(drone_id="d1", **cfg), new_id=_ids())
    first = _pass_over(tr, 0.0, *_on_shenzhen(0.0, 0.0))
    assert [e.event for e in first] == [AlertEvent.NEW, AlertEvent.END]
    again = _pass_over(tr, 300.0, *_on_shenzhen(along, across))
    assert again[0].alert_id == (uuid.UUID(int=1) if same else uuid.UUID(int=2))
    assert again[0].event is (AlertEvent.UPDATE if same else AlertEvent.NEW)
    assert tr.stats.kept_apart_by_river == kept_apart


def test_off_the_bundled_rivers_the_plain_gate_holds():
    lat, lon = offset(*_on_shenzhen(0.0, 0.0), 3000.0, 0.0)  # 3 km north: no river we know
    assert rivers.on_river(lat, lon) is None
    tr = Tracker(TrackerConfig(drone_id="d1"), new_id=_ids())
    _pass_over(tr, 0.0, lat, lon)
    again = _pass_over(tr, 300.0, *offset(lat, lon, 25.0, 0.0))
    assert again[0].event is AlertEvent.UPDATE and again[0].alert_id == uuid.UUID(int=1)


def test_a_sites_own_rivers_give_the_frame_where_the_bundled_ones_do_not(tmp_path):
    lat, lon = offset(*_on_shenzhen(0.0, 0.0), 3000.0, 0.0)  # off the bundled rivers
    west, east = offset(lat, lon, 0.0, -500.0), offset(lat, lon, 0.0, 500.0)
    path = tmp_path / "our_rivers.geojson"
    line = {"type": "LineString", "coordinates": [[east[1], east[0]], [west[1], west[0]]]}
    props = {"id": "canal", "width_m": 30, "tidal": False}
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [{"type": "Feature", "properties": props, "geometry": line}],
            }
        )
    )
    ours = rivers.read_rivers(path)
    tr = Tracker(TrackerConfig(drone_id="d1", rivers=ours), new_id=_ids())
    _pass_over(tr, 0.0, lat, lon)
    across = _pass_over(tr, 300.0, *offset(lat, lon, 25.0, 0.0))  # across the canal: another
    assert across[0].event is AlertEvent.NEW and tr.stats.kept_apart_by_river == 1
    down = _pass_over(tr, 600.0, *offset(lat, lon, 0.0, -120.0))  # 120 m down it, 10 min on: the first
    assert down[0].event is AlertEvent.UPDATE and down[0].alert_id == uuid.UUID(int=1)


@pytest.mark.parametrize(("wind", "same"), [(0.0, False), (5.0, True), (None, False)])
def test_a_breeze_widens_the_rivers_frame_across(wind, same):
    """Styrofoam blown 40 m across the river in five minutes (0.13 m/s: about 3 % of a 5 m/s
    breeze) is itself when the autopilot says the wind blows; in calm air (or none said) the
    current alone never carries it that far across, and it is another item."""
    tr = Tracker(TrackerConfig(drone_id="d1"), new_id=_ids())
    tr.set_wind(wind)
    _pass_over(tr, 0.0, *_on_shenzhen(0.0, 0.0))
    again = _pass_over(tr, 300.0, *_on_shenzhen(20.0, 40.0))
    assert again[0].alert_id == (uuid.UUID(int=1) if same else uuid.UUID(int=2))
