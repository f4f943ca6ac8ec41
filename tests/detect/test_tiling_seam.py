"""Tiled inference on a 4K frame finds a small item cut by a tile seam exactly once (real onnxruntime)."""

from __future__ import annotations

import numpy as np
import pytest

from edge.detect import Detector, DetectorConfig
from edge.detect.nms import pairwise_overlap
from edge.detect.tiling import tile_grid
from tests.detect.onnx_builders import bright_blob_centernet

SIDE = 40  # item side in frame px; 20 px at the model's half scale


@pytest.fixture
def blob_model(tmp_path):
    return bright_blob_centernet(tmp_path / "blob.onnx", (272, 480), box_px=SIDE / 2)


def _frame_with_square(x: int, y: int) -> np.ndarray:
    frame = np.zeros((1080, 1920), np.uint8)
    frame[y : y + SIDE, x : x + SIDE] = 255
    return np.dstack([frame] * 3)


def test_item_on_a_seam_is_found_once(blob_model):
    det = Detector(DetectorConfig(model_path=blob_model, tile="auto", tile_overlap=0.2))
    assert det.native_frame_hw == (544, 960)
    frame = _frame_with_square(950, 502)  # straddles x = 960, the right edge of the first tile
    assert det._use_tiles(frame.shape[:2], det.view_hw())
    tiles = tile_grid(frame.shape[:2], det.native_frame_hw, 0.2)
    assert any(t[0] < 950 < t[2] < 990 for t in tiles)  # really cut by the first tile's border
    dets = det.detect(frame)
    assert len(dets) == 1, dets
    want = np.array([950, 502, 950 + SIDE, 502 + SIDE], np.float32)
    assert pairwise_overlap(want, np.array([dets[0].box], np.float32))[0] >= 0.6
    assert dets[0].class_name == "blob"


def test_without_tiles_the_same_item_is_too_small_to_find(blob_model):
    # one pass squeezes the 4K-like frame 4x: the 40 px item covers 2.5 cells and fades below
    # the threshold, which is exactly what tiling is for
    frame = _frame_with_square(950, 502)
    assert Detector(DetectorConfig(model_path=blob_model, tile="off")).detect(frame) == []


def test_two_items_far_apart_in_different_tiles(blob_model):
    frame = _frame_with_square(102, 102)
    frame[902:942, 1802:1842] = 255
    dets = Detector(DetectorConfig(model_path=blob_model, tile="on")).detect(frame)
    centres = sorted((round(d.center[0]), round(d.center[1])) for d in dets)
    assert len(centres) == 2
    assert abs(centres[0][0] - 122) <= 8 and abs(centres[1][0] - 1822) <= 8
