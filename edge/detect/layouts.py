"""Decode raw ONNX outputs into boxes in model-input pixels (pure numpy; NMS is applied later).

Two layouts:

* ``centernet`` (the shipped RiverPatrol model): one output ``[1, nc + 4, H/s, W/s]``; channels
  ``0..nc-1`` are per-class centre heatmaps (sigmoid applied), ``nc, nc+1`` box width and height
  in input pixels, ``nc+2, nc+3`` the centre's sub-cell offset x, y in cells. A detection is a
  3x3 local maximum of a heatmap above the threshold.
* ``ultralytics`` (YOLOv8/YOLO11 exports): one output ``[1, 4 + nc, N]``; rows ``cx, cy, w, h``
  in input pixels then per-class scores, no objectness.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class RawDetections(NamedTuple):
    """Boxes ``[N, 4]`` xyxy in model-input pixels, scores ``[N]``, class indices ``[N]``."""

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray

    @staticmethod
    def empty() -> RawDetections:
        return RawDetections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))


def decode_centernet(out: np.ndarray, num_classes: int, stride: int, threshold: float) -> RawDetections:
    """Heatmap peaks above ``threshold`` with their boxes.

    Peaks are 3x3 local maxima of the best class score at each cell, so one floating item gives
    one peak even where its class scores are split (a bag that looks half like styrofoam).
    """
    best = out[0, :num_classes].max(axis=0)
    cand = np.nonzero(best > threshold)
    if len(cand[0]) == 0:
        return RawDetections.empty()
    y, x = cand
    vals = best[y, x]
    padded = np.pad(best, ((1, 1), (1, 1)), constant_values=-np.inf)
    is_peak = np.ones(len(vals), dtype=bool)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            if dy == 1 and dx == 1:
                continue
            # Strictly above neighbours earlier in raster order, at least equal to later ones:
            # a flat plateau yields exactly one peak instead of one per cell.
            earlier = dy == 0 or (dy == 1 and dx == 0)
            neighbour = padded[y + dy, x + dx]
            is_peak &= (vals > neighbour) if earlier else (vals >= neighbour)
    y, x, vals = y[is_peak], x[is_peak], vals[is_peak]
    c = out[0, :num_classes, y, x].argmax(axis=1) if len(y) else np.zeros(0, np.int64)
    w = out[0, num_classes, y, x]
    h = out[0, num_classes + 1, y, x]
    cx = (x + out[0, num_classes + 2, y, x]) * stride
    cy = (y + out[0, num_classes + 3, y, x]) * stride
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float32)
    return RawDetections(boxes, vals.astype(np.float32), c.astype(np.int64))


def decode_ultralytics(out: np.ndarray, num_classes: int, threshold: float) -> RawDetections:
    """Candidates whose best class score exceeds ``threshold`` (before NMS)."""
    pred = out[0]
    if pred.shape[0] != 4 + num_classes:
        raise ValueError(f"expected {4 + num_classes} rows (4 box + {num_classes} classes), got {len(pred)}")
    cls_scores = pred[4:]
    classes = np.argmax(cls_scores, axis=0)
    scores = cls_scores[classes, np.arange(pred.shape[1])]
    keep = scores > threshold
    if not keep.any():
        return RawDetections.empty()
    cx, cy, w, h = pred[0, keep], pred[1, keep], pred[2, keep], pred[3, keep]
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float32)
    return RawDetections(boxes, scores[keep].astype(np.float32), classes[keep].astype(np.int64))
