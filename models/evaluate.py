"""Detection metrics (pure numpy): matching at IoU 0.5, AP, precision/recall by class and size.

Used by ``models.build`` (threshold choice on val, card figures) and ``bench/detector_bench.py``.
Ground truth carries each item's physical size, so recall can be reported per size bucket
(``<0.3 m``, ``0.3-0.6 m``, ``>0.6 m``); the targets are stated for items >= 0.3 m, where
predictions matched to smaller items are neither credited nor charged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from edge.detect.nms import pairwise_overlap

SIZE_BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("<0.3m", 0.0, 0.3),
    ("0.3-0.6m", 0.3, 0.6),
    (">0.6m", 0.6, float("inf")),
)
TARGET_MIN_SIZE_M = 0.3
THRESHOLD_GRID = tuple(round(0.3 + 0.05 * k, 2) for k in range(13))  # 0.30 .. 0.90


@dataclass(frozen=True, slots=True)
class FrameTruth:
    boxes: np.ndarray  # [N, 4] xyxy px
    classes: np.ndarray  # [N]
    sizes_m: np.ndarray  # [N]
    ignore: np.ndarray | None = None  # [N] bool: mostly out of frame / under a bridge; neither hit nor miss


@dataclass(frozen=True, slots=True)
class FramePred:
    boxes: np.ndarray  # [M, 4]
    classes: np.ndarray  # [M]
    scores: np.ndarray  # [M]


@dataclass(slots=True)
class Matched:
    """Per-prediction outcome and per-truth detection score across a whole set."""

    pred_score: list[float] = field(default_factory=list)
    pred_class: list[int] = field(default_factory=list)
    pred_tp: list[bool] = field(default_factory=list)
    pred_size_m: list[float] = field(default_factory=list)  # size of the matched item, or nan
    pred_item_class: list[int] = field(default_factory=list)  # class of the matched item, or -1
    gt_class: list[int] = field(default_factory=list)
    gt_size_m: list[float] = field(default_factory=list)
    gt_best_score: list[float] = field(default_factory=list)  # score of the match, 0 if missed


def match_frame(
    truth: FrameTruth, pred: FramePred, out: Matched, iou: float = 0.5, class_aware: bool = True
) -> None:
    """Greedy match by descending score: each prediction takes the best-overlapping free item.

    Items flagged ``ignore`` (cut by the frame edge or hidden under a bridge) are matched too,
    so a box on them is not a false positive, but they count neither as hits nor misses.
    """
    ignore = truth.ignore if truth.ignore is not None else np.zeros(len(truth.boxes), bool)
    order = np.argsort(-pred.scores, kind="stable")
    taken = np.zeros(len(truth.boxes), dtype=bool)
    best = np.zeros(len(truth.boxes), dtype=np.float64)
    for i in order:
        score, cls = float(pred.scores[i]), int(pred.classes[i])
        j_best = -1
        if len(truth.boxes):
            ov = pairwise_overlap(pred.boxes[i], truth.boxes, "iou")
            ok = ~taken & (ov >= iou)
            if class_aware:
                ok &= truth.classes == cls
            if ok.any():
                j_best = int(np.argmax(np.where(ok, ov, -1)))
        if j_best >= 0 and ignore[j_best]:
            taken[j_best] = True
            continue
        out.pred_score.append(score)
        out.pred_class.append(cls)
        if j_best >= 0:
            taken[j_best] = True
            best[j_best] = score
            out.pred_tp.append(True)
            out.pred_size_m.append(float(truth.sizes_m[j_best]))
            out.pred_item_class.append(int(truth.classes[j_best]))
        else:
            out.pred_tp.append(False)
            out.pred_size_m.append(float("nan"))
            out.pred_item_class.append(-1)
    keep = ~ignore
    out.gt_class.extend(int(c) for c in truth.classes[keep])
    out.gt_size_m.extend(float(s) for s in truth.sizes_m[keep])
    out.gt_best_score.extend(best[keep].tolist())


def average_precision(scores: np.ndarray, tp: np.ndarray, n_gt: int) -> float:
    """All-point interpolated AP (VOC 2010+/COCO style) of ranked predictions."""
    if n_gt == 0:
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    tp = tp[order].astype(np.float64)
    ctp, cfp = np.cumsum(tp), np.cumsum(1 - tp)
    recall = ctp / n_gt
    precision = ctp / np.maximum(ctp + cfp, 1e-9)
    r = np.concatenate([[0.0], recall, [1.0]])
    p = np.concatenate([[1.0], precision, [0.0]])
    p = np.maximum.accumulate(p[::-1])[::-1]
    return float(np.sum((r[1:] - r[:-1]) * p[1:]))


def pr_at(m: Matched, threshold: float, min_size_m: float = 0.0, max_size_m: float = float("inf"), cls=None):
    """``(precision, recall, tp, fp, fn)`` at ``threshold`` for items sized in [min, max) (and ``cls``).

    Predictions matched to items outside the size range are ignored; unmatched ones are false
    positives whatever their size (conservative: we cannot tell what size a false box "is").
    """
    ps, pc, psz = (np.asarray(a) for a in (m.pred_score, m.pred_class, m.pred_size_m))
    ptp = np.asarray(m.pred_tp, dtype=bool)  # typed: a model that boxed nothing gives an empty list
    gc, gs, gb = (np.asarray(a) for a in (m.gt_class, m.gt_size_m, m.gt_best_score))
    sel_p = ps >= threshold if len(ps) else np.zeros(0, bool)
    sel_g = (gs >= min_size_m) & (gs < max_size_m) if len(gs) else np.zeros(0, bool)
    if cls is not None:
        sel_p = sel_p & (pc == cls)
        sel_g = sel_g & (gc == cls)
    in_range = (psz >= min_size_m) & (psz < max_size_m) if len(psz) else np.zeros(0, bool)
    tp = int(np.sum(sel_p & ptp & in_range))
    fp = int(np.sum(sel_p & ~ptp))
    n_gt = int(np.sum(sel_g))
    found = int(np.sum(sel_g & (gb >= threshold) & (gb > 0)))
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = found / n_gt if n_gt else float("nan")
    return precision, recall, tp, fp, n_gt - found


def class_confusion(m: Matched, threshold: float, num_classes: int, min_size_m: float = 0.0) -> np.ndarray:
    """``[true, predicted]`` counts of the predictions at ``threshold`` on an item >= ``min_size_m``.

    Meant for a class-agnostic ``Matched`` (``match_frame(class_aware=False)``): every box on an
    item is there, with the class it was given, so the off-diagonal is what class-aware precision
    loses to a wrong name rather than to a box on nothing.
    """
    out = np.zeros((num_classes, num_classes), np.int64)
    for score, pred, item, size in zip(
        m.pred_score, m.pred_class, m.pred_item_class, m.pred_size_m, strict=True
    ):
        if score >= threshold and item >= 0 and size >= min_size_m:
            out[item, pred] += 1
    return out


def map50(m: Matched, num_classes: int, min_size_m: float = 0.0) -> tuple[float, list[float]]:
    """Mean over classes of AP at IoU 0.5 (items >= ``min_size_m``; predictions on smaller ones ignored)."""
    ps, pc, psz = (np.asarray(a) for a in (m.pred_score, m.pred_class, m.pred_size_m))
    ptp = np.asarray(m.pred_tp, dtype=bool)  # typed: a model that boxed nothing gives an empty list
    gc, gs = np.asarray(m.gt_class), np.asarray(m.gt_size_m)
    aps = []
    for c in range(num_classes):
        keep = (pc == c) & ~(ptp & (psz < min_size_m)) if len(pc) else np.zeros(0, bool)
        n_gt = int(np.sum((gc == c) & (gs >= min_size_m))) if len(gc) else 0
        aps.append(average_precision(ps[keep], ptp[keep], n_gt) if len(pc) else float("nan"))
    valid = [a for a in aps if not np.isnan(a)]
    return (float(np.mean(valid)) if valid else float("nan")), aps


def ap50_any_class(m: Matched, min_size_m: float = 0.0) -> float:
    """AP at IoU 0.5 of "is there debris" (class ignored; ``m`` matched with ``class_aware=False``)."""
    ps, ptp, psz = (np.asarray(a) for a in (m.pred_score, m.pred_tp, m.pred_size_m))
    n_gt = int(np.sum(np.asarray(m.gt_size_m) >= min_size_m))
    if not len(ps):
        return float("nan")
    keep = ~(ptp & (psz < min_size_m))
    return average_precision(ps[keep], ptp[keep], n_gt)


def f1_score(precision: float, recall: float) -> float:
    """Harmonic mean of precision and recall; 0 when both are 0."""
    return 2 * precision * recall / max(precision + recall, 1e-9)


def best_threshold(
    alerts_at: Callable[[float], tuple[int, float, float]],
    n_negative_frames: int,
    max_false_per_1000: float = 1.0,
    min_precision: float = 0.9,
    grid: tuple[float, ...] = THRESHOLD_GRID,
) -> OperatingPoint:
    """Operating threshold chosen on what reaches an inspector: alerts on validation patrols.

    ``alerts_at(t)`` flies the validation patrols through the edge agent's pipeline at detector
    threshold ``t`` and returns (false alerts over ``n_negative_frames`` debris-free frames,
    alert precision, alert recall on littered patrols). The threshold is the best alert F1 with
    at most ``max_false_per_1000`` false alerts per 1,000 debris-free frames (rounded down, so
    the rate is never above the target: 2,400 frames tolerate 2; fewer than 1,000 frames cannot
    resolve the rate and tolerate one; the held-out ``bench/alert_bench.py`` reports the rate
    reached) and alert precision >= ``min_precision``; equal F1 goes to fewer false alerts, then
    to the lower threshold.
    Per-frame detections are not the budget: the tracker's confirmation already drops one-frame
    glints and birds in flight, and IoU-0.5 box precision on 6-px items measures box tightness
    more than false alarms.
    Returns the point with its F1 and false alerts; when no threshold meets both budgets, the top
    of ``grid`` with F1 -1.
    """
    allowed = max(1, int(np.floor(max_false_per_1000 * n_negative_frames / 1000)))
    best = OperatingPoint(max(grid), -1.0, n_negative_frames + 1)
    for t in sorted(grid):
        false_alerts, precision, recall = alerts_at(float(t))
        if false_alerts > allowed or np.isnan(precision) or precision < min_precision:
            continue
        point = OperatingPoint(float(t), f1_score(precision, recall), false_alerts)
        if point.better_than(best):
            best = point
    return best


@dataclass(frozen=True, slots=True)
class OperatingPoint:
    """A threshold with its alert F1 and false alerts on the validation patrols."""

    threshold: float
    f1: float
    false_alerts: int

    def better_than(self, other: OperatingPoint) -> bool:
        return (self.f1, -self.false_alerts) > (other.f1, -other.false_alerts)
