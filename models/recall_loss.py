"""Where frame recall is lost: the detector's proposals against the pair's verdict, per class and size.

    python -m models.recall_loss                    # held-out frames (rendered by the detector bench)
    python -m models.recall_loss --split val_far    # a validation look's (models.class_weights.CLASS_LOOKS)

The pair (detector + verifier) can alert only on what the detector proposes at or above the
proposal floor (s >= t^(1/w): below it s^w x p^(1-w) cannot reach the threshold t whatever the
verifier says). So for every item >= 0.3 m this says whether the detector put a box on it at the
floor, and whether the pair kept one at its threshold, class ignored, at IoU 0.3 and 0.5 (the
detector's boxes come from the halved frame and the verifier redraws them, so IoU 0.5 alone
charges the detector with the box tightness the verifier restores). The floor is the operating
point's, not the detector's: a last column gives what the detector proposes at the verifier's own
proposal threshold, the most any operating point (a smaller w) lets the verifier see. Then the
pair's best combined score on each item: how far under the threshold the missed ones are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from contract.messages import DEBRIS_CLASSES
from models.build import DEFAULT_DATA, DEFAULT_OUT
from models.evaluate import TARGET_MIN_SIZE_M, Matched

#: Item sizes (m) the table splits recall by.
SIZE_BINS = ((0.3, 0.5), (0.5, 1.0), (1.0, float("inf")))
#: Where the histogram of each item's best combined score is cut, below the threshold (probe at 0.05).
SCORE_CUTS = (0.05, 0.5, 0.9, 0.97, 0.99)


def score_edges(threshold: float) -> tuple[float, ...]:
    """Histogram edges: 0 (no box), the cuts under ``threshold``, the threshold, past 1."""
    return (0.0, *(c for c in SCORE_CUTS if c < threshold), threshold, 1.0 + 1e-9)


def slices(m: Matched, names: tuple[str, ...] = DEBRIS_CLASSES) -> list[tuple[str, np.ndarray]]:
    """``(label, mask over m's items)``: every item >= 0.3 m, each class, each size bin."""
    gc, gs = np.asarray(m.gt_class), np.asarray(m.gt_size_m)
    target = gs >= TARGET_MIN_SIZE_M
    out = [("all >= 0.3 m", target)]
    out += [(n, target & (gc == c)) for c, n in enumerate(names)]
    out += [
        (f"{lo:g}-{hi:g} m" if hi < 1e9 else f">= {lo:g} m", (gs >= lo) & (gs < hi)) for lo, hi in SIZE_BINS
    ]
    return out


def found(m: Matched, threshold: float, mask: np.ndarray) -> float:
    """Share of the masked items whose best matched score is >= ``threshold`` (nan if none)."""
    best = np.asarray(m.gt_best_score)
    return float(np.mean(best[mask] >= threshold)) if mask.any() else float("nan")


def score_shares(m: Matched, mask: np.ndarray, edges: tuple[float, ...]) -> list[float]:
    """Share of the masked items per bin of their best score (0 = no box at all)."""
    best = np.asarray(m.gt_best_score)[mask]
    return (np.histogram(best, bins=edges)[0] / max(len(best), 1)).tolist()


def main(
    split: Annotated[
        str, typer.Option(help="Rendered split to read (heldout, val, val_shift, val_far).")
    ] = "heldout",
    data: Annotated[Path, typer.Option(help="Data folder the split was rendered in.")] = DEFAULT_DATA,
    model: Annotated[Path, typer.Option(help="Detector (its verifier from its metadata).")] = DEFAULT_OUT,
    verifier: Annotated[
        Path | None, typer.Option(help="A verifier other than the model's own (at its own operating point).")
    ] = None,
    threads: Annotated[int, typer.Option(help="onnxruntime threads.")] = 2,
) -> None:
    """Print where the pair's frame recall is lost on one rendered split."""
    import cv2
    from rich.console import Console
    from rich.table import Table

    from edge.detect import Detector, DetectorConfig
    from edge.detect.verify import proposal_floor
    from models.evaluate import match_frame
    from models.score import frame_pred, frame_truth
    from models.yolo_io import read_split

    samples = read_split(data, split)
    if not samples:
        raise typer.BadParameter(f"no frames of split {split!r} in {data} (render it first)")
    base = {"model_path": model, "threads": threads, "tile": "off"}
    probe = Detector(DetectorConfig(**base, verifier_path=verifier, score_threshold=0.05))
    if probe.verifier is None:
        raise typer.BadParameter(f"{model} names no verifier: there is no pair to look at")
    spec = probe.verifier.spec
    t = spec.score_threshold
    # what the runtime sends for a second look (edge.detect.Detector): never below the verifier's own floor
    floor = max(proposal_floor(t, spec.detector_weight), spec.proposal_threshold)
    alone = Detector(DetectorConfig(**base, verifier="off", score_threshold=spec.proposal_threshold))
    matched = {key: Matched() for key in ("cand .3", "cand .5", "pair .3", "pair .5")}
    for s in samples:
        frame, truth = cv2.imread(str(s.image_path), cv2.IMREAD_COLOR), frame_truth(s)
        cand, pair = frame_pred(alone.detect(frame)), frame_pred(probe.detect(frame))
        for key, pred in (("cand .3", cand), ("cand .5", cand), ("pair .3", pair), ("pair .5", pair)):
            match_frame(truth, pred, matched[key], iou=float(key[-2:]), class_aware=False)

    console = Console()
    table = Table(
        title=f"{split} ({len(samples)} frames): detector at the floor {floor:.3f} vs the pair at {t:g}, "
        "any class",
        title_justify="left",
    )
    table.add_column("items")
    proposed = f"detector IoU .3 at {spec.proposal_threshold:g}"
    for col in ("n", "detector IoU .3", "detector IoU .5", "pair IoU .3", "pair IoU .5", proposed):
        table.add_column(col, justify="right")
    for label, mask in slices(matched["cand .3"]):
        cells = [found(matched[k], floor if k.startswith("cand") else t, mask) for k in matched]
        cells.append(found(matched["cand .3"], spec.proposal_threshold, mask))
        table.add_row(label, str(int(mask.sum())), *(f"{v:.3f}" for v in cells))
    console.print(table)
    edges = score_edges(t)
    hist = Table(
        title="the pair's best combined score on each item >= 0.3 m (share of items; IoU .3)",
        title_justify="left",
    )
    hist.add_column("items")
    for label in ["no box", *(f"<{b:g}" for b in edges[2:-1])]:
        hist.add_column(label, justify="right")
    hist.add_column(f">={t:g}", justify="right")
    for label, mask in slices(matched["pair .3"])[: 1 + len(DEBRIS_CLASSES)]:
        hist.add_row(label, *(f"{v:.2f}" for v in score_shares(matched["pair .3"], mask, edges)))
    console.print(hist)


if __name__ == "__main__":
    typer.run(main)
