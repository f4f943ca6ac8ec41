"""A user's Ultralytics YOLOv8/YOLO11 export ([1, 4+nc, N], dict-string names) decodes correctly."""

from __future__ import annotations

import numpy as np
import pytest

from edge.detect import Detector, DetectorConfig
from tests.detect.onnx_builders import constant_output_model

NAMES = "{0: 'bottle', 1: 'bag'}"


def _yolo_output() -> np.ndarray:
    # columns: anchors; rows: cx, cy, w, h, score(bottle), score(bag)
    anchors = [
        (16, 16, 8, 8, 0.90, 0.10),  # bottle
        (17, 16, 8, 8, 0.80, 0.05),  # duplicate of the bottle: NMS removes it
        (48, 40, 10, 6, 0.10, 0.70),  # bag
        (30, 50, 6, 6, 0.10, 0.12),  # below threshold
    ]
    return np.asarray(anchors, np.float32).T[None]


@pytest.fixture
def yolo_model(tmp_path):
    return constant_output_model(
        tmp_path / "yolo.onnx", _yolo_output(), (64, 64), {"names": NAMES, "imgsz": "[64, 64]"}
    )


@pytest.mark.parametrize("fmt", ["auto", "ultralytics"])
def test_boxes_classes_scores_in_frame_pixels(yolo_model, fmt):
    det = Detector(DetectorConfig(model_path=yolo_model, model_format=fmt, score_threshold=0.25, tile="off"))
    assert det.spec.layout == "ultralytics"
    assert det.names == ("bottle", "bag")
    assert det.spec.input_hw == (64, 64)
    frame = np.zeros((128, 128, 3), np.uint8)  # letterbox scale 0.5, no padding
    dets = det.detect(frame)
    assert [(d.class_name, d.class_index) for d in dets] == [("bottle", 0), ("bag", 1)]
    assert dets[0].score == pytest.approx(0.9)
    assert dets[0].box == pytest.approx((24, 24, 40, 40))
    assert dets[1].box == pytest.approx((86, 74, 106, 86))


def test_padding_is_undone_for_a_portrait_frame(yolo_model):
    det = Detector(DetectorConfig(model_path=yolo_model, score_threshold=0.25, tile="off"))
    frame = np.zeros((128, 64, 3), np.uint8)  # scale 0.5 -> 32x64 placed at x 16..48 of the input
    dets = det.detect(frame)
    # bottle at input x 12..20 -> frame (12-16)*2 = -8 (clipped to 0) .. (20-16)*2 = 8
    assert dets[0].box == pytest.approx((0, 24, 8, 40))
    # bag at input x 43..53 -> frame 54..74, clipped to the 64 px wide frame
    assert dets[1].box == pytest.approx((54, 74, 64, 86))


def test_names_fall_back_to_indices_without_metadata(tmp_path):
    path = constant_output_model(tmp_path / "bare.onnx", _yolo_output(), (64, 64), {})
    det = Detector(DetectorConfig(model_path=path, model_format="ultralytics", score_threshold=0.5))
    assert det.names == ("class0", "class1")
    assert [d.class_name for d in det.detect(np.zeros((64, 64, 3), np.uint8))] == ["class0", "class1"]
