"""Drift of a find on the water: the straight line through its fixes, and the tracker's use of it."""

from __future__ import annotations

import itertools
import math
import uuid
from datetime import UTC, datetime

import numpy as np

from contract.geo import offset
from contract.messages import AlertEvent
from edge.alerts import build_alert
from edge.drift import DriftConfig, DriftEstimator
from edge.tracker import Sighting, Tracker, TrackerConfig, TrackEvent
from tests.edge_alerts.scene import REF_LAT, REF_LON, Item, fly

T0 = 1_700_000_000.0  # epoch seconds, as the agent's frame times are


def _feed(est: DriftEstimator, times, east_of_t, north_of_t, unc=2.0, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    for t in times:
        n = north_of_t(t) + rng.normal(0, noise)
        e = east_of_t(t) + rng.normal(0, noise)
        est.add(T0 + t, *offset(REF_LAT, REF_LON, n, e), unc)


def test_fixes_on_a_straight_line_give_its_velocity():
    est = DriftEstimator()
    _feed(est, np.arange(0, 10, 0.2), lambda t: 0.3 * t, lambda t: -0.1 * t)
    d = est.estimate()
    assert d is not None
    assert math.isclose(d.east_mps, 0.3, abs_tol=1e-3) and math.isclose(d.north_mps, -0.1, abs_tol=1e-3)
    wire = build_alert(_event(d), "d1", "m1", datetime.now(UTC)).drift  # what the alert says of it
    assert wire is not None and math.isclose(wire.speed_mps, math.hypot(0.3, 0.1), abs_tol=1e-3)
    assert 105 < wire.toward_deg < 110  # east-south-east
    assert d.fixes == 50 and math.isclose(d.span_s, 9.8, abs_tol=1e-6)


def _event(drift):
    """A tracker event carrying ``drift``, for ``build_alert``."""
    return TrackEvent(
        event=AlertEvent.END, alert_id=uuid.UUID(int=1), revision=1, class_name="foam",
        lat=REF_LAT, lon=REF_LON, uncertainty_m=2.0, confidence=0.9, sightings=50, passes=2,
        first_seen=T0, last_seen=T0 + 10, top_score=0.9, median_score=0.8, best=None, drift=drift,
    )  # fmt: skip


def test_noisy_fixes_of_two_passes_give_the_drift_within_its_stated_error():
    """Two passes 90 s apart of an item going 0.25 m/s east, 0.8 m of scatter per fix: the error
    stated covers the truth, and is small enough to fly to."""
    misses = 0
    for seed in range(20):
        est = DriftEstimator()
        times = [*np.arange(0, 6, 0.2), *np.arange(90, 96, 0.2)]
        _feed(est, times, lambda t: 0.25 * t, lambda t: 0.0, unc=3.0, noise=0.8, seed=seed)
        d = est.estimate()
        assert d is not None and d.sigma_mps < 0.05
        misses += abs(d.east_mps - 0.25) > 3 * d.sigma_mps or abs(d.north_mps) > 3 * d.sigma_mps
    assert misses <= 1


def test_a_glimpse_says_no_drift():
    """Too few fixes, too short a time, or too noisy for their time: nothing is said."""
    cfg = DriftConfig(min_span_s=4.0, min_fixes=6, max_sigma_mps=0.15)
    few = DriftEstimator(cfg)
    _feed(few, [0, 5, 10], lambda t: 0.3 * t, lambda t: 0.0)
    short = DriftEstimator(cfg)
    _feed(short, np.arange(0, 3, 0.2), lambda t: 0.3 * t, lambda t: 0.0)
    noisy = DriftEstimator(cfg)
    _feed(noisy, np.arange(0, 5, 0.2), lambda t: 0.3 * t, lambda t: 0.0, unc=6.0, noise=3.0)
    assert few.estimate() is None and short.estimate() is None and noisy.estimate() is None


def test_the_radius_bounds_what_a_short_watch_can_tell():
    """Perfectly straight fixes over 5 s of a 3 m radius still carry the bias floor (0.5 * 3 / 5)."""
    est = DriftEstimator(DriftConfig(bias_floor=0.5, max_sigma_mps=1.0))
    _feed(est, np.arange(0, 5.01, 0.25), lambda t: 0.2 * t, lambda t: 0.0, unc=3.0)
    d = est.estimate()
    assert d is not None and math.isclose(d.sigma_mps, 0.3, rel_tol=0.01)


def _ids():
    counter = itertools.count(1)
    return lambda: uuid.UUID(int=next(counter))


def test_the_tracker_reports_an_items_drift_across_passes():
    """Two passes over a stretch: the styrofoam drifting 0.15 m/s east is reported so, the items
    at rest as at rest, each within its stated error."""
    items = [Item(-20, 6, "bag"), Item(12, -12, "styrofoam", drift_east_mps=0.15), Item(25, 3, "vegetation")]
    frames = fly(items, legs=[(-70, 70, 0.0), (70, -70, 180.0)], seed=11, p_glint=0.0)
    tr = Tracker(TrackerConfig(drone_id="d1"), new_id=_ids())
    events = [e for f in frames for e in tr.update(f.t, f.sightings, frame=f.t)]
    events += tr.flush(frames[-1].t + 10)
    last = {e.alert_id: e for e in events}
    assert len(last) == 3
    for e in last.values():
        assert e.passes == 2 and e.drift is not None, f"{e.class_name}: no drift over two passes"
        want = 0.15 if e.class_name == "styrofoam" else 0.0
        assert abs(e.drift.east_mps - want) < 3 * e.drift.sigma_mps + 0.02, (e.class_name, e.drift)
        assert abs(e.drift.north_mps) < 3 * e.drift.sigma_mps + 0.02, (e.class_name, e.drift)
        assert e.drift.sigma_mps < 0.1


def _sighting(t, east, cls, slant, box=(900, 500, 940, 540)):
    lat, lon = offset(REF_LAT, REF_LON, 0.0, east)
    return Sighting(box=box, score=0.9, class_name=cls, lat=lat, lon=lon, uncertainty_m=1.5, slant_m=slant)


def test_a_closer_look_where_the_drift_carried_the_find_renames_it_not_a_second_alert():
    """Seen as foam for 10 s from 30 m drifting 0.3 m/s east; two minutes later the operator
    flies down to where it drifted (36 m on) and sees a bag from 12 m: the same alert, renamed."""
    tr = Tracker(TrackerConfig(drone_id="d1"), new_id=_ids())
    ev = []
    for k in range(50):
        t = k / 5
        ev += tr.update(t, [_sighting(t, 0.3 * t, "foam", 30.0)])
    ev += tr.tick(30.0)
    assert ev[-1].event is AlertEvent.END and ev[-1].drift is not None
    assert math.isclose(ev[-1].drift.east_mps, 0.3, abs_tol=0.02)
    look = []
    for k in range(10):
        t = 130 + k / 5
        look += tr.update(t, [_sighting(t, 0.3 * t, "bag", 12.0, box=(900, 500, 990, 590))])
    assert [e.event for e in look] == [AlertEvent.UPDATE]
    assert look[0].alert_id == uuid.UUID(int=1) and look[0].class_name == "bag"
    assert tr.stats.renamed_by_closer_look == 1


def test_without_a_drift_the_rename_radius_stays_where_it_was_seen():
    """The same look at an item whose drift the tracker could not tell (one glimpse of 0.6 s):
    36 m from where it was seen is another item, a new alert."""
    tr = Tracker(TrackerConfig(drone_id="d1"), new_id=_ids())
    for k in range(4):
        tr.update(k / 5, [_sighting(k / 5, 0.3 * k / 5, "foam", 30.0)])
    tr.tick(30.0)
    look = []
    for k in range(10):
        t = 130 + k / 5
        look += tr.update(t, [_sighting(t, 0.3 * t, "bag", 12.0, box=(900, 500, 990, 590))])
    assert [e.event for e in look] == [AlertEvent.NEW]


def test_a_long_watch_tells_the_drift_of_now_not_the_average_of_the_patrol():
    """Along a bend the current turns from east to north over ten minutes; passes every 150 s:
    the drift said after the last pass is the northward one, not the chord of the whole bend."""
    est = DriftEstimator(DriftConfig(memory_s=300.0))

    def east(t):
        return 0.3 * min(t, 600.0)

    def north(t):
        return 0.3 * max(t - 600.0, 0.0)

    _feed(est, [t for p in range(0, 1201, 150) for t in np.arange(p, p + 6, 0.2)], east, north)
    d = est.estimate()
    assert d is not None and d.north_mps > 0.2 and d.east_mps < 0.12, d
