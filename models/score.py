"""Score a detector on a rendered split: run it on every frame, match, and summarize (imperative shell).

Shared by ``models.build`` (threshold choice on val, card figures) and the benchmark, so the
card and ``bench/results/detector.json`` come from the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from edge.detect import Detector
from models.evaluate import (
    SIZE_BUCKETS,
    TARGET_MIN_SIZE_M,
    FramePred,
    FrameTruth,
    Matched,
    ap50_any_class,
    class_confusion,
    map50,
    match_frame,
    pr_at,
)
from models.yolo_io import Sample

MIN_VISIBLE = 0.5  # items less visible than this are "ignore" regions in scoring


@dataclass(slots=True)
class SplitScores:
    matched: Matched = field(default_factory=Matched)
    matched_any_class: Matched = field(default_factory=Matched)
    frames: int = 0

    def add(self, dets: list, truth: FrameTruth) -> None:
        """Match one frame's detections (``edge.detect.Detection``) to its truth, class-aware and not."""
        self.add_pred(frame_pred(dets), truth)

    def add_pred(self, pred: FramePred, truth: FrameTruth) -> None:
        """``add`` for detections already in arrays (``frame_pred``)."""
        match_frame(truth, pred, self.matched)
        match_frame(truth, pred, self.matched_any_class, class_aware=False)
        self.frames += 1


def frame_pred(dets: list) -> FramePred:
    """One frame's detections (``edge.detect.Detection``) as the arrays matching reads."""
    return FramePred(
        np.asarray([d.box for d in dets], np.float32).reshape(-1, 4),
        np.asarray([d.class_index for d in dets], np.int64),
        np.asarray([d.score for d in dets], np.float32),
    )


def frame_truth(sample: Sample) -> FrameTruth:
    """A labelled frame's truth for matching; items less visible than ``MIN_VISIBLE`` are ignored."""
    vis = np.asarray([o["visible_fraction"] for o in sample.meta["objects"]], np.float32).reshape(-1)
    return FrameTruth(sample.boxes, sample.classes, sample.sizes_m, vis < MIN_VISIBLE)


def score_positive(
    detector: Detector, samples: list[Sample], progress: Callable[[], None] | None = None
) -> SplitScores:
    """Run ``detector`` (at its own threshold; use a low one to trace the PR curve) on every frame."""
    out = SplitScores()
    for s in samples:
        image = cv2.imread(str(s.image_path), cv2.IMREAD_COLOR)
        dets = detector.detect(image, where=str(s.image_path))
        out.add(dets, frame_truth(s))
        if progress:
            progress()
    return out


def negative_scores(
    detector: Detector, samples: list[Sample], progress: Callable[[], None] | None = None
) -> np.ndarray:
    """Scores of every detection on debris-free frames (each one would be a false alert)."""
    scores: list[float] = []
    for s in samples:
        image = cv2.imread(str(s.image_path), cv2.IMREAD_COLOR)
        scores.extend(d.score for d in detector.detect(image, where=str(s.image_path)))
        if progress:
            progress()
    return np.asarray(scores, np.float32)


def _r(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and np.isnan(x)) else round(float(x), 4)


#: Thresholds at which the card lists the precision / recall / false-detection trade-off (the
#: operating threshold itself is always added: ``summarize``).
OPERATING_POINTS = (0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 0.985, 0.99, 0.992, 0.994)


def summarize(
    scores: SplitScores,
    negatives: np.ndarray,
    n_negative_frames: int,
    threshold: float,
    names: tuple[str, ...],
) -> dict:
    """The figures of the model card / benchmark at operating ``threshold``."""
    m, ma = scores.matched, scores.matched_any_class
    t = TARGET_MIN_SIZE_M
    p, r, tp, fp, fn = pr_at(m, threshold, t)
    pa, ra, *_ = pr_at(ma, threshold, t)
    map_all, aps = map50(m, len(names), 0.0)
    map_target, aps_t = map50(m, len(names), t)
    per_class = {}
    for c, name in enumerate(names):
        pc, rc, tpc, fpc, fnc = pr_at(m, threshold, t, cls=c)
        per_class[name] = {
            "ap50_ge_0.3m": _r(aps_t[c]),
            "ap50_all": _r(aps[c]),
            "precision": _r(pc),
            "recall": _r(rc),
            "tp": tpc,
            "fp": fpc,
            "fn": fnc,
        }
    per_size = {}
    for label, lo, hi in SIZE_BUCKETS:
        _, rb, tpb, _, fnb = pr_at(m, threshold, lo, hi)
        _, rba, *_ = pr_at(ma, threshold, lo, hi)
        per_size[label] = {"recall": _r(rb), "recall_any_class": _r(rba), "items": tpb + fnb}
    false_detections = int(np.sum(negatives >= threshold))
    map_any = ap50_any_class(ma, t)
    confusion = class_confusion(ma, threshold, len(names), t)
    operating_points = []
    for th in sorted({*OPERATING_POINTS, round(threshold, 4)}):
        pt, rt, *_ = pr_at(m, th, t)
        pta, rta, *_ = pr_at(ma, th, t)
        neg = int(np.sum(negatives >= th))
        operating_points.append(
            {
                "threshold": th,
                "precision": _r(pt),
                "recall": _r(rt),
                "precision_any_class": _r(pta),
                "recall_any_class": _r(rta),
                "false_detections_per_1000_frames": _r(1000 * neg / n_negative_frames)
                if n_negative_frames
                else None,
            }
        )
    return {
        "threshold": round(threshold, 4),
        "frames": scores.frames,
        "items_ge_0.3m": tp + fn,
        "items_all": len(m.gt_class),
        "map50_ge_0.3m": _r(map_target),
        "map50_all_sizes": _r(map_all),
        "precision_ge_0.3m": _r(p),
        "recall_ge_0.3m": _r(r),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision_any_class_ge_0.3m": _r(pa),
        "recall_any_class_ge_0.3m": _r(ra),
        "ap50_any_class_ge_0.3m": _r(map_any),
        "class_confusion_ge_0.3m": {
            "rows": "item's class",
            "columns": "class given",
            "names": list(names),
            "counts": confusion.tolist(),
        },
        "per_class": per_class,
        "per_size": per_size,
        "negative_frames": n_negative_frames,
        "false_detections": false_detections,
        "false_detections_per_1000_frames": _r(1000 * false_detections / n_negative_frames)
        if n_negative_frames
        else None,
        "operating_points": operating_points,
    }


def print_accuracy(console, acc: dict, title: str) -> None:
    """``summarize``'s figures as rich tables on ``console``: overall, per class, per size, confusion."""
    from rich.table import Table

    def f(x):
        return "-" if x is None else f"{x:.3f}"

    t = Table(title=title)
    for col in ("slice", "AP50", "precision", "recall", "items"):
        t.add_column(col, justify="left" if col == "slice" else "right")
    t.add_row(
        "all classes, >=0.3 m",
        f(acc["map50_ge_0.3m"]),
        f(acc["precision_ge_0.3m"]),
        f(acc["recall_ge_0.3m"]),
        str(acc["items_ge_0.3m"]),
    )
    t.add_row(
        "class-agnostic, >=0.3 m",
        f(acc["ap50_any_class_ge_0.3m"]),
        f(acc["precision_any_class_ge_0.3m"]),
        f(acc["recall_any_class_ge_0.3m"]),
        "",
    )
    for name, row in acc["per_class"].items():
        t.add_row(
            f"  {name}",
            f(row["ap50_ge_0.3m"]),
            f(row["precision"]),
            f(row["recall"]),
            str(row["tp"] + row["fn"]),
        )
    for key in ("per_size", "per_size_px"):
        for name, row in (acc.get(key) or {}).items():
            t.add_row(f"  size {name}", "", "", f(row["recall"]), str(row["items"]))
    console.print(t)
    conf = acc.get("class_confusion_ge_0.3m")
    if conf:
        names = conf["names"]
        ct = Table(title="boxes on items >= 0.3 m at the threshold: the item's class (rows), the class given")
        ct.add_column("item")
        for name in names:
            ct.add_column(name, justify="right")
        ct.add_column("right", justify="right")
        for i, (name, row) in enumerate(zip(names, conf["counts"], strict=True)):
            right = row[i] / sum(row) if sum(row) else float("nan")
            ct.add_row(name, *(str(n) for n in row), f"{right:.3f}")
        console.print(ct)
    console.print(
        f"per-frame false detections: {acc['false_detections']} in {acc['negative_frames']} "
        f"debris-free frames = {acc['false_detections_per_1000_frames']} per 1,000"
    )
