"""The verifier's class prior for unfamiliar water: how much "bag" must win by to be named.

Why: on water unlike the training look the verifier over-calls the thin, any-coloured film
("bag"): on held-out frames 58 foam, styrofoam and vegetation items were called bag, and the
far validation look shows the same. A multiplier on p(bag) before the class is read
(``edge.detect.verify.decide_class``) is a prior correction; scores, and so detections and alerts,
do not move, only the names. It is chosen on validation frames of the rule's three looks
(training, shift and far water; held-out is never seen), by the mean class-aware F1 over the
looks, ties to the weight nearest 1, and written to the verifier's metadata ``class_weights``.

    python -m models.class_weights            # the table, and the weight the rule picks
    python -m models.class_weights --write    # ... and writes it into the shipped verifier
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from models.build import DEFAULT_DATA, DEFAULT_OUT, VERIFIER_NAME
from models.dataset import SplitSpec

#: Validation frames per look (seeds used nowhere else); "val" is the build's training-look split.
CLASS_LOOKS: dict[str, SplitSpec] = {
    "train": SplitSpec("val", 8, 120, "train"),
    "shift": SplitSpec("val_shift", 14, 120, "shift"),
    "far": SplitSpec("val_far", 15, 120, "far"),
}
SHIPPED_VERIFIER = DEFAULT_OUT.with_name(VERIFIER_NAME)
#: Multipliers tried on p(bag); 1 is the verifier as trained.
BAG_WEIGHTS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25)
BAG = "bag"


def choose_weight(f1_by_look: dict[str, dict[float, float]]) -> float:
    """The weight with the best mean F1 over the looks; ties go to the weight nearest 1 (no change)."""
    weights = sorted(set.intersection(*(set(v) for v in f1_by_look.values())))
    if not weights:
        raise ValueError("no weight was scored on every look")

    def mean_f1(w: float) -> float:
        return sum(look[w] for look in f1_by_look.values()) / len(f1_by_look)

    return max(weights, key=lambda w: (round(mean_f1(w), 6), -abs(w - 1.0)))


def as_class_weights(names: tuple[str, ...], bag_weight: float) -> tuple[float, ...]:
    """One multiplier per class: ``bag_weight`` on bag, 1 on the rest."""
    return tuple(bag_weight if n == BAG else 1.0 for n in names)


def sweep(detector, samples: list, weights: tuple[float, ...] = BAG_WEIGHTS) -> dict[float, dict]:
    """Class-aware precision / recall / F1 (items >= 0.3 m) at the detector's threshold, per bag
    weight; both networks run once per frame, each weight only re-decides (``Detector.decide``)."""
    import cv2

    from models.evaluate import TARGET_MIN_SIZE_M, f1_score, pr_at
    from models.score import SplitScores, frame_truth

    names = detector.spec.names
    # the operating threshold: a probe built for tracing curves runs at a lower one
    threshold = detector.verifier.spec.score_threshold if detector.verifier else detector.score_threshold
    scores = {w: SplitScores() for w in weights}
    for s in samples:
        cands = detector.candidates(cv2.imread(str(s.image_path), cv2.IMREAD_COLOR), where=str(s.image_path))
        truth = frame_truth(s)
        for w in weights:
            scores[w].add(detector.decide(cands, class_weights=as_class_weights(names, w)), truth)
    out = {}
    for w in weights:
        p, r, tp, fp, _ = pr_at(scores[w].matched, threshold, TARGET_MIN_SIZE_M)
        f1 = f1_score(p, r)
        out[w] = {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4), "tp": tp, "fp": fp}
    return out


def choose_class_weights(
    detector, data: Path, console, workers: int = 2, frames: int | None = None
) -> tuple[tuple[float, ...], dict]:
    """Render the looks' frames if missing, sweep, choose: ``(class_weights, record for the card)``.
    ``frames``: per look, instead of ``CLASS_LOOKS``' own (a smoke build's)."""
    from dataclasses import replace

    from models.dataset import generate
    from models.yolo_io import read_split

    looks = {look: replace(s, frames=frames) if frames else s for look, s in CLASS_LOOKS.items()}
    generate(data, list(looks.values()), workers)
    table: dict[str, dict[float, dict]] = {}
    with console.status("choosing the class prior on validation frames of every look"):
        for look, spec in looks.items():
            table[look] = sweep(detector, read_split(data, spec.name))
    bag = choose_weight({look: {w: r["f1"] for w, r in rows.items()} for look, rows in table.items()})
    record = {
        "bag_weight": bag,
        "rule": "best mean class-aware F1 (items >= 0.3 m) over the looks' validation frames, ties to 1",
        "frames": {look: f"{s.name} (seed {s.seed}, {s.frames})" for look, s in looks.items()},
        "by_look": {look: {str(w): r for w, r in rows.items()} for look, rows in table.items()},
    }
    return as_class_weights(detector.spec.names, bag), record


def main(
    verifier: Annotated[Path, typer.Option(help="Verifier whose class prior is chosen.")] = SHIPPED_VERIFIER,
    data: Annotated[Path, typer.Option(help="Data folder (frames rendered if missing).")] = DEFAULT_DATA,
    write: Annotated[bool, typer.Option(help="Write the chosen class_weights into the verifier.")] = False,
    threads: Annotated[int, typer.Option(help="onnxruntime threads.")] = 2,
) -> None:
    """Sweep the weight on p(bag) over the looks' validation frames and say which the rule picks."""
    from rich.console import Console
    from rich.table import Table

    from edge.detect import Detector, DetectorConfig
    from models.export import set_metadata

    console = Console()
    detector = Detector(DetectorConfig(verifier_path=verifier, threads=threads, tile="off"))
    weights, record = choose_class_weights(detector, data, console)
    table = Table(title=f"class-aware P / R / F1 at {detector.score_threshold:g}, per weight on p(bag)")
    table.add_column("bag weight")
    for look in record["by_look"]:
        table.add_column(look)
    for w in BAG_WEIGHTS:
        cells = [record["by_look"][look][str(w)] for look in record["by_look"]]
        mark = " (chosen)" if w == record["bag_weight"] else ""
        prf = (f"{c['precision']:.3f} / {c['recall']:.3f} / {c['f1']:.3f}" for c in cells)
        table.add_row(f"{w:g}{mark}", *prf)
    console.print(table)
    if write:
        set_metadata(verifier, class_weights=json.dumps(list(weights)))
        console.print(f"wrote class_weights {list(weights)} into {verifier}")


if __name__ == "__main__":
    typer.run(main)
