"""The class prior's rule (``models.class_weights``): chosen on validation looks, ties to no change."""

from __future__ import annotations

import pytest

from models.class_weights import as_class_weights, choose_weight, sweep


def test_the_best_mean_f1_over_the_looks_wins_and_ties_go_to_no_change():
    f1 = {"train": {0.6: 0.80, 1.0: 0.79}, "far": {0.6: 0.81, 1.0: 0.80}}
    assert choose_weight(f1) == 0.6
    # one look better, another as much worse: a tie, so the verifier stays as trained
    assert choose_weight({"train": {0.6: 0.81, 1.0: 0.80}, "far": {0.6: 0.79, 1.0: 0.80}}) == 1.0
    # among equals, the one nearest 1
    assert choose_weight({"a": {0.5: 0.7, 0.9: 0.7, 1.25: 0.6}}) == 0.9
    # only weights scored on every look count
    assert choose_weight({"a": {0.5: 0.9, 1.0: 0.8}, "b": {1.0: 0.8}}) == 1.0
    with pytest.raises(ValueError, match="no weight was scored on every look"):
        choose_weight({"a": {0.5: 0.9}, "b": {1.0: 0.8}})


def test_only_bag_is_weighted():
    names = ("bottle", "bag", "foam", "styrofoam", "vegetation")
    assert as_class_weights(names, 0.6) == (1.0, 0.6, 1.0, 1.0, 1.0)


def test_the_sweep_at_weight_one_is_the_shipped_detector_s_own_figures(tmp_path):
    """Re-deciding cached candidates with a class weight of 1 must score what the detector
    itself detects, frame by frame (``models.score.score_positive``)."""
    from edge.detect import Detector, DetectorConfig
    from models.dataset import SplitSpec, generate_split
    from models.evaluate import TARGET_MIN_SIZE_M, pr_at
    from models.score import score_positive
    from models.yolo_io import read_split

    generate_split(tmp_path, SplitSpec("val_far", 15, 3, "far", frames_per_scene=3), workers=1)
    samples = read_split(tmp_path, "val_far")
    detector = Detector(DetectorConfig(threads=2, tile="off"))
    rows = sweep(detector, samples, weights=(0.6, 1.0))
    own = score_positive(detector, samples).matched
    p, r, tp, fp, _ = pr_at(own, detector.score_threshold, TARGET_MIN_SIZE_M)
    assert tp > 0, "the shipped detector found nothing in three littered frames"
    assert (rows[1.0]["tp"], rows[1.0]["fp"]) == (tp, fp)
    assert rows[1.0]["precision"] == round(p, 4) and rows[1.0]["recall"] == round(r, 4)
    assert rows[0.6]["tp"] + rows[0.6]["fp"] > 0
