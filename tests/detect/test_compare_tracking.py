"""Track-confirmation rules tried on the validation patrols (``models.compare_tracking``)."""

from __future__ import annotations

import pytest

from edge.tracker import Sighting, Tracker
from models.compare_tracking import CARD_RULES, EvidenceTracker, parse_rule

LAT, LON = 22.52, 114.06


def _news(tracker: Tracker, scores: list[float]) -> int:
    """New alerts from one item seen in consecutive frames (5 fps) at these scores."""
    events = []
    for k, score in enumerate(scores):
        y = 900.0 - 60.0 * k  # the drone flies on: the item moves up the frame
        s = Sighting((950.0, y, 970.0, y + 20.0), score, "bottle", LAT, LON, 1.0)
        events += tracker.update(k / 5, [s], frame_size=(1920, 1080))
    return sum(1 for e in events if e.event.value == "new")


def test_evidence_confirms_a_steady_weak_item_the_median_rule_misses_and_not_a_short_one():
    threshold, factory = parse_rule("threshold=0.95,evidence=14")
    assert threshold == 0.95 and factory.func is EvidenceTracker
    # logit(0.95) = 2.94: three sightings give 8.8, five give 14.7
    assert _news(factory(None), [0.95] * 3) == 0
    assert _news(factory(None), [0.95] * 5) == 1
    # the agent's rule at a 0.992 per-frame threshold never sees these sightings at all, and at
    # 0.95 it confirms on the third, whatever the evidence: the two rules really differ
    _, agents = parse_rule("")
    assert _news(agents(None), [0.95] * 3) == 1
    # evidence_ref makes each sighting count only its log-odds above the reference
    _, strict = parse_rule("evidence=14,evidence_ref=2")
    assert _news(strict(None), [0.95] * 5) == 0 and _news(strict(None), [0.95] * 16) == 1


def test_a_rule_sets_tracker_fields_and_a_bad_rule_says_which_pair_is_wrong():
    threshold, factory = parse_rule("min_hits=4, confirm_median=0.99")
    assert threshold is None and factory.func is Tracker  # no threshold: the grid is swept
    cfg = factory.args[0]
    assert (cfg.min_hits, cfg.confirm_median) == (4, 0.99) and isinstance(cfg.min_hits, int)
    assert _news(factory(None), [0.995] * 3) == 0 and _news(factory(None), [0.995] * 4) == 1
    for bad, says in [
        ("speed=3", "unknown key 'speed'"),
        ("threshold=high", "'threshold=high' is not key=number"),
        ("threshold=1.2", "threshold must be in (0, 1)"),
        ("min_hits=2.5", "min_hits takes a whole number"),
        ("min_hits=0", "min_hits and score_window must be >= 1"),
        ("evidence_ref=1", "evidence_ref needs evidence"),
    ]:
        with pytest.raises(ValueError, match="rule ") as err:
            parse_rule(bad)
        assert says in str(err.value)
    for text in CARD_RULES:  # the card's rules all parse
        parse_rule(text)
