"""Box overlap and class-aware non-maximum suppression in numpy (no NMS lives in the ONNX graph)."""

from __future__ import annotations

import numpy as np


def pairwise_overlap(box: np.ndarray, boxes: np.ndarray, mode: str = "iou") -> np.ndarray:
    """Overlap of one xyxy ``box`` with ``[N, 4]`` ``boxes``: IoU, or intersection over the smaller box."""
    ix1 = np.maximum(box[0], boxes[:, 0])
    iy1 = np.maximum(box[1], boxes[:, 1])
    ix2 = np.minimum(box[2], boxes[:, 2])
    iy2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    if mode == "ios":
        denom = np.minimum(area, areas)
    elif mode == "iou":
        denom = area + areas - inter
    else:
        raise ValueError(f"overlap mode must be 'iou' or 'ios', got {mode!r}")
    return inter / np.maximum(denom, 1e-9)


def nms(
    boxes: np.ndarray,
    scores: np.ndarray,
    classes: np.ndarray,
    iou_threshold: float,
    mode: str = "iou",
    max_det: int = 300,
) -> np.ndarray:
    """Indices kept by greedy per-class NMS, best score first.

    ``mode="ios"`` (intersection over the smaller box) also merges a box cut at a tile seam
    with the whole box seen by the neighbouring tile, which plain IoU would keep as two.
    """
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    suppressed = np.zeros(len(boxes), dtype=bool)
    for pos, i in enumerate(order):
        if suppressed[i]:
            continue
        keep.append(int(i))
        if len(keep) >= max_det:
            break
        rest = order[pos + 1 :]
        rest = rest[~suppressed[rest] & (classes[rest] == classes[i])]
        if len(rest):
            suppressed[rest[pairwise_overlap(boxes[i], boxes[rest], mode) > iou_threshold]] = True
    return np.asarray(keep, dtype=np.int64)
