"""Pure pieces of the runtime: letterbox round trip, NMS, tile grid, CenterNet peak decoding."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from edge.detect.layouts import decode_centernet
from edge.detect.letterbox import letterbox
from edge.detect.nms import nms
from edge.detect.tiling import tile_grid


def test_letterbox_places_and_maps_back():
    frame = np.zeros((1080, 1920, 3), np.uint8)
    frame[100:110, 200:220] = (0, 0, 255)  # red in BGR
    tensor, lb = letterbox(frame, (544, 960))
    assert tensor.shape == (1, 3, 544, 960) and tensor.dtype == np.float32
    assert (lb.scale, lb.pad_x, lb.pad_y) == (0.5, 0, 2)
    assert tensor[0, 0, 2 + 52, 105] == pytest.approx(1.0)  # R channel first
    assert tensor[0, 2, 2 + 52, 105] == pytest.approx(0.0)
    assert tensor[0, 1, 0, 0] == pytest.approx(114 / 255)  # padding
    back = lb.to_frame(np.array([[100.0, 52.0, 110.0, 57.0]]))
    assert back[0] == pytest.approx([200, 100, 220, 110])


def test_nms_is_per_class_and_ios_merges_cut_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [0, 0, 10, 10], [0, 0, 5, 10]], np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.6], np.float32)
    classes = np.array([0, 0, 1, 0])
    assert list(nms(boxes, scores, classes, 0.5)) == [0, 2, 3]  # half box has IoU 0.5: kept
    assert list(nms(boxes, scores, classes, 0.5, mode="ios")) == [0, 2]


def test_tile_grid_covers_with_overlap():
    tiles = tile_grid((2160, 3840), (1080, 1920), 0.2)
    xs = sorted({t[0] for t in tiles})
    ys = sorted({t[1] for t in tiles})
    assert xs[0] == 0 and ys[0] == 0
    assert max(t[2] for t in tiles) == 3840 and max(t[3] for t in tiles) == 2160
    assert all(t[2] - t[0] == 1920 and t[3] - t[1] == 1080 for t in tiles)
    assert all(b - a <= 1920 - 384 for a, b in itertools.pairwise(xs))  # >= 20 % shared
    assert tile_grid((500, 500), (1080, 1920), 0.2) == [(0, 0, 500, 500)]
    with pytest.raises(ValueError, match="overlap"):
        tile_grid((100, 100), (50, 50), 1.0)


def test_centernet_peaks_give_boxes():
    nc, gh, gw, stride = 2, 20, 30, 4
    out = np.zeros((1, nc + 4, gh, gw), np.float32)
    out[0, 1, 5, 7] = 0.9
    out[0, 1, 5, 8] = 0.6  # shoulder of the same peak: not a local maximum
    out[0, 0, 15, 20] = 0.4
    out[0, nc : nc + 2] = 8.0  # w, h in input px
    out[0, nc + 2 :] = 0.5
    raw = decode_centernet(out, nc, stride, 0.3)
    order = np.argsort(-raw.scores)
    assert list(raw.classes[order]) == [1, 0]
    assert raw.boxes[order][0] == pytest.approx([(7.5 * 4) - 4, (5.5 * 4) - 4, 7.5 * 4 + 4, 5.5 * 4 + 4])
    assert len(decode_centernet(out, nc, stride, 0.95).boxes) == 0
