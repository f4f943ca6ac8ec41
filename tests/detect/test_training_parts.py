"""Pure parts of the training pipeline: heatmap targets, YOLO label round trip, metrics."""

from __future__ import annotations

import numpy as np
import pytest

from models.evaluate import FramePred, FrameTruth, Matched, average_precision, map50, match_frame, pr_at
from models.targets import make_targets
from models.yolo_io import parse_yolo, yolo_lines


def test_targets_peak_at_centre_with_size_and_offset():
    boxes = np.array([[10.0, 20.0, 30.0, 28.0]], np.float32)  # centre (20, 24) px -> cell (5, 6) at stride 4
    t = make_targets(boxes, np.array([2]), (64, 64), 5, 4)
    assert t.heat.shape == (5, 16, 16)
    assert t.heat[2, 6, 5] == pytest.approx(1.0)
    assert t.heat[[0, 1, 3, 4]].max() == 0
    assert t.mask.sum() == 1 and t.mask[6, 5] == 1
    assert t.box[:, 6, 5] == pytest.approx([np.log(5.0), np.log(2.0), 0.0, 0.0])


def test_yolo_round_trip_and_bad_line():
    boxes = np.array([[10, 20, 30, 28], [0, 0, 1920, 1080]], np.float32)
    text = yolo_lines(boxes, np.array([1, 4]), 1920, 1080)
    back, classes = parse_yolo(text, 1920, 1080, "x.txt")
    assert back == pytest.approx(boxes, abs=0.01)
    assert list(classes) == [1, 4]
    with pytest.raises(ValueError, match=r"x\.txt:2: expected 'class cx cy w h'"):
        parse_yolo("0 0.5 0.5 0.1 0.1\n0 0.5 0.5\n", 100, 100, "x.txt")


def _truth(boxes, classes, sizes, ignore=None):
    return FrameTruth(
        np.asarray(boxes, np.float32),
        np.asarray(classes),
        np.asarray(sizes, np.float32),
        None if ignore is None else np.asarray(ignore),
    )


def _pred(boxes, classes, scores):
    return FramePred(
        np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(classes), np.asarray(scores, np.float32)
    )


def test_matching_precision_recall_and_ignore():
    m = Matched()
    truth = _truth(
        [[0, 0, 10, 10], [50, 50, 60, 60], [100, 100, 104, 104], [200, 0, 210, 10]],
        [0, 1, 0, 0],
        [0.5, 0.4, 0.2, 0.5],
        ignore=[False, False, False, True],
    )
    pred = _pred(
        [[0, 0, 10, 10], [50, 50, 60, 60], [300, 300, 310, 310], [201, 0, 210, 10], [100, 100, 104, 104]],
        [0, 0, 0, 0, 0],  # second one has the wrong class
        [0.9, 0.8, 0.7, 0.6, 0.5],
    )
    match_frame(truth, pred, m)
    # items >= 0.3 m: #0 (hit), #1 (missed: wrong class); #3 ignored; #2 too small (pred on it ignored)
    p, r, tp, fp, fn = pr_at(m, 0.5, 0.3)
    assert (tp, fp, fn) == (1, 2, 1)
    assert p == pytest.approx(1 / 3) and r == pytest.approx(0.5)
    assert pr_at(m, 0.95, 0.3)[1] == 0.0
    m_any = Matched()
    match_frame(truth, pred, m_any, class_aware=False)
    assert pr_at(m_any, 0.5, 0.3)[1] == 1.0


def test_average_precision_perfect_and_half():
    assert average_precision(np.array([0.9, 0.8]), np.array([True, True]), 2) == pytest.approx(1.0)
    assert average_precision(np.array([0.9, 0.8]), np.array([False, True]), 2) == pytest.approx(0.25)
    m = Matched()
    match_frame(_truth([[0, 0, 10, 10]], [1], [1.0]), _pred([[0, 0, 10, 10]], [1], [0.9]), m)
    mean, aps = map50(m, 3)
    assert mean == pytest.approx(1.0) and np.isnan(aps[0]) and aps[1] == pytest.approx(1.0)
