"""How many mirrored/turned views of a crop the verifier's class is averaged over (``class_views``),
chosen on validation frames.

Why: at the shipped point nearly every detection is on an item (held-out, any class: precision
0.967) but one in fourteen has the wrong class (0.895), mostly a bag called foam or styrofoam.
From straight above, a crop mirrored or turned is as good a look at the item as the crop itself,
and the verifier's class wavers between such views where it is unsure. Averaging the class over
them (``edge.detect.verify.dihedral_views``) costs one bigger verifier batch and leaves the score,
and so the operating point and the false alerts, as they were. The number of views is chosen on
validation frames of the training look and the shift look (water neither trained on nor held
out), never on held-out.

    python -m models.class_views            # sweep 1, 2, 4, 8 views; print the table
    python -m models.class_views --write    # ... and store the best in the shipped verifier
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import cv2
import numpy as np
import typer

from edge.detect.verify import CLASS_VIEWS
from models.evaluate import TARGET_MIN_SIZE_M, FrameTruth, pr_at
from models.score import MIN_VISIBLE, SplitScores
from models.yolo_io import Sample

#: Validation frame splits the views are chosen on (``models.dataset.default_splits``).
VAL_FRAME_SPLITS = ("val", "val_shift")


@dataclass(frozen=True, slots=True)
class ClassPoint:
    """Class-aware figures (items >= 0.3 m) at the operating threshold with ``views`` class views."""

    views: int
    precision: float
    recall: float
    tp: int
    fp: int
    fn: int

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 0.0 if np.isnan(p) or np.isnan(r) or not p + r else 2 * p * r / (p + r)

    def row(self) -> dict:
        return {
            "class_views": self.views,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


def class_point(
    detector, samples: list[Sample], views: int, progress: Callable[[], None] | None = None
) -> ClassPoint:
    """``detector`` (its verifier set to ``views`` class views) scored on ``samples`` at its threshold."""
    scores = SplitScores()
    for s in samples:
        image = cv2.imread(str(s.image_path), cv2.IMREAD_COLOR)
        vis = np.asarray([o["visible_fraction"] for o in s.meta["objects"]], np.float32).reshape(-1)
        scores.add(
            detector.detect(image, str(s.image_path)),
            FrameTruth(s.boxes, s.classes, s.sizes_m, vis < MIN_VISIBLE),
        )
        if progress:
            progress()
    p, r, tp, fp, fn = pr_at(scores.matched, detector.score_threshold, TARGET_MIN_SIZE_M)
    return ClassPoint(views, p, r, tp, fp, fn)


def choose_class_views(
    verifier: Path,
    detector_for: Callable[[Path], object],
    samples: list[Sample],
    progress: Callable[[int], None] | None = None,
    choices: tuple[int, ...] = CLASS_VIEWS,
) -> tuple[int, list[ClassPoint]]:
    """Each number of views tried on ``samples`` with a scratch copy of ``verifier`` (the file
    itself is not touched); the best class-aware F1 at the operating threshold wins, ties to
    fewer views (less work on the drone). ``detector_for(path)``: a detector using that verifier."""
    from models.export import set_metadata

    points = []
    with tempfile.TemporaryDirectory(prefix="riverpatrol-class-views-") as tmp:
        scratch = Path(tmp) / verifier.name
        shutil.copyfile(verifier, scratch)
        for views in choices:
            set_metadata(scratch, class_views=str(views))
            tick = (lambda v=views: progress(v)) if progress else None
            points.append(class_point(detector_for(scratch), samples, views, tick))
    best = max(points, key=lambda pt: (round(pt.f1, 6), -pt.views))
    return best.views, points


app = typer.Typer(add_completion=False)


@app.command()
def main(
    data: Annotated[Path, typer.Option(help="Data folder (validation splits rendered if missing).")] = Path(
        "data/riverpatrol_debris"
    ),
    seed: Annotated[int, typer.Option(help="Base seed of the data splits.")] = 7,
    threads: Annotated[int, typer.Option(help="onnxruntime threads.")] = 2,
    write: Annotated[bool, typer.Option(help="Store the chosen views in the shipped verifier.")] = False,
) -> None:
    """Sweep the verifier's class views on validation frames of two looks."""
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
    shipped = Detector(DetectorConfig(model_path=DEFAULT_MODEL, threads=threads))
    assert shipped.verifier is not None, "the shipped detector names no verifier"

    def detector_for(path: Path) -> Detector:
        return Detector(DetectorConfig(model_path=DEFAULT_MODEL, verifier_path=path, threads=threads))

    with Progress(console=console) as bar:
        task = bar.add_task("validation frames x views", total=len(samples) * len(CLASS_VIEWS))
        views, points = choose_class_views(
            shipped.verifier.path, detector_for, samples, lambda _: bar.advance(task)
        )
    title = f"class over crop views, {len(samples)} validation frames, threshold {shipped.score_threshold}"
    table = Table(title=title)
    for col in ("views", "precision", "recall", "F1", "tp", "fp", "fn"):
        table.add_column(col)
    for pt in points:
        mark = " *" if pt.views == views else ""
        row = pt.row()
        table.add_row(
            f"{pt.views}{mark}", *(str(row[k]) for k in ("precision", "recall", "f1", "tp", "fp", "fn"))
        )
    console.print(table)
    if write:
        set_metadata(shipped.verifier.path, class_views=str(views))
        console.print(f"stored class_views {views} in {shipped.verifier.path}")


if __name__ == "__main__":
    app()
