"""The detector's share of the class decision, chosen on validation frames (``class_detector_weight``).

Why: at the shipped point nearly every detection is on an item (held-out, any class: precision
0.967) but one in fourteen has the wrong class (0.895), mostly a bag called foam or styrofoam.
The verifier takes the class from the full-resolution crop; the detector has its own opinion
from the halved frame with metres of water around the item. ``edge.detect.verify.fuse_classes``
weighs the two (``p_v ** (1 - a) * p_d ** a``); ``a`` is chosen here on validation frames of the
training look and the shift look (water neither trained on nor held out), never on held-out.

    python -m models.class_fusion            # sweep a on the validation frames, print the table
    python -m models.class_fusion --write    # ... and store the best a in the shipped verifier
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import cv2
import numpy as np
import typer

from models.evaluate import TARGET_MIN_SIZE_M, FrameTruth, pr_at
from models.score import MIN_VISIBLE, SplitScores
from models.yolo_io import Sample

#: Weights tried, the verifier alone (0, the behaviour before) first: ties keep the smaller.
CLASS_WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)
#: Validation frame splits the weight is chosen on (``models.dataset.default_splits``).
VAL_FRAME_SPLITS = ("val", "val_shift")


@dataclass(frozen=True, slots=True)
class ClassPoint:
    """Class-aware figures at the operating threshold with one class weight (items >= 0.3 m)."""

    weight: float
    precision: float
    recall: float
    tp: int
    fp: int
    fn: int

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 0.0 if not (p + r) or np.isnan(p) or np.isnan(r) else 2 * p * r / (p + r)

    def row(self) -> dict:
        return {
            "class_detector_weight": self.weight,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


class ValidationFrames:
    """Each validation frame run once through both looks; ``point(a)`` re-decides its classes."""

    def __init__(self, detector, samples: list[Sample], progress: Callable[[], None] | None = None) -> None:
        self.detector = detector
        self._cached = []
        for s in samples:
            image = cv2.imread(str(s.image_path), cv2.IMREAD_COLOR)
            vis = np.asarray([o["visible_fraction"] for o in s.meta["objects"]], np.float32).reshape(-1)
            truth = FrameTruth(s.boxes, s.classes, s.sizes_m, vis < MIN_VISIBLE)
            self._cached.append((detector.candidates(image, str(s.image_path)), truth))
            if progress:
                progress()

    def point(self, class_weight: float) -> ClassPoint:
        scores = SplitScores()
        for cands, truth in self._cached:
            scores.add(self.detector.decide(cands, class_weight=class_weight), truth)
        p, r, tp, fp, fn = pr_at(scores.matched, self.detector.score_threshold, TARGET_MIN_SIZE_M)
        return ClassPoint(class_weight, p, r, tp, fp, fn)


def choose_class_weight(
    frames: ValidationFrames, weights: tuple[float, ...] = CLASS_WEIGHTS
) -> tuple[float, list[ClassPoint]]:
    """The weight of best class-aware F1 at the operating threshold (ties: the smaller weight)."""
    points = [frames.point(a) for a in weights]
    best = max(points, key=lambda pt: (round(pt.f1, 6), -pt.weight))
    return best.weight, points


app = typer.Typer(add_completion=False)


@app.command()
def main(
    data: Annotated[Path, typer.Option(help="Data folder (validation splits rendered if missing).")] = Path(
        "data/riverpatrol_debris"
    ),
    seed: Annotated[int, typer.Option(help="Base seed of the data splits.")] = 7,
    threads: Annotated[int, typer.Option(help="onnxruntime threads.")] = 2,
    write: Annotated[bool, typer.Option(help="Store the chosen weight in the shipped verifier.")] = False,
) -> None:
    """Sweep the detector's share of the class decision on validation frames of two looks."""
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from edge.detect import DEFAULT_MODEL, Detector, DetectorConfig
    from models.dataset import default_splits, generate
    from models.export import set_metadata
    from models.yolo_io import read_split

    console = Console()
    generate(data, [s for s in default_splits(seed) if s.name in VAL_FRAME_SPLITS])
    samples = [s for name in VAL_FRAME_SPLITS for s in read_split(data, name)]
    detector = Detector(DetectorConfig(model_path=DEFAULT_MODEL, threads=threads))
    with Progress(console=console) as bar:
        task = bar.add_task("validation frames", total=len(samples))
        frames = ValidationFrames(detector, samples, lambda: bar.advance(task))
    weight, points = choose_class_weight(frames)
    table = Table(
        title=f"class decision on {len(samples)} validation frames, threshold {detector.score_threshold}"
    )
    for col in ("class weight a", "precision", "recall", "F1", "tp", "fp", "fn"):
        table.add_column(col)
    for pt in points:
        mark = " *" if pt.weight == weight else ""
        table.add_row(
            f"{pt.weight:.1f}{mark}",
            f"{pt.precision:.4f}",
            f"{pt.recall:.4f}",
            f"{pt.f1:.4f}",
            str(pt.tp),
            str(pt.fp),
            str(pt.fn),
        )
    console.print(table)
    if write:
        assert detector.verifier is not None, "the shipped detector names no verifier"
        set_metadata(detector.verifier.path, class_detector_weight=f"{weight:.2f}")
        console.print(f"stored class_detector_weight {weight:.2f} in {detector.verifier.path}")


if __name__ == "__main__":
    app()
