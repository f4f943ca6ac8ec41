"""What the demo patrol found, scored against the simulator's exact ground truth (pure).

The definitions are the alert benchmark's (``bench/alert_bench.py``), so the demo's figures read
as the model card's: an item counts as *passed* when the camera had it in full view in at least
``min_frames`` frames (what the agent's tracker needs to confirm a find); alerts are assigned one
to one to items within ``radius_m`` of where they really were, closest pairs first; an alert near
no debris item at all, passed or glimpsed, is a false alert.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace

from models.patrol_eval import MATCH_M, PASSED_MIN_FRAMES, match_alerts

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


def score_patrol(
    frames: Iterable[dict],
    finds: Sequence[Find],
    radius_m: float = MATCH_M,
    min_frames: int = PASSED_MIN_FRAMES,
) -> PatrolScore:
    """The alert benchmark's scoring (``models.patrol_eval.match_alerts``) of the feed's truth
    records (``truth.jsonl`` lines), broken down by class."""
    truth = ([SimpleNamespace(**box) for box in frame["truth"]] for frame in frames)
    m = match_alerts(truth, list(finds), MIN_SIZE_M, radius_m, min_frames)
    found = m.hit & m.passed
    return PatrolScore(
        items_passed=len(m.passed),
        items_found=len(found),
        class_right=len(m.named & m.passed),
        false_alerts=m.stray,
        alerts=len(finds),
        passed_by_class=dict(Counter(m.item_class[i] for i in m.passed)),
        found_by_class=dict(Counter(m.item_class[i] for i in found)),
        frames_per_item=statistics.median(m.frames_in_view[i] for i in m.passed) if m.passed else None,
    )
