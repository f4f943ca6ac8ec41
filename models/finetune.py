"""Fine-tune the shipped detector on labelled imagery of your own river; score it beside the shipped one.

    python -m models.finetune my_river/data.yaml --gsd-cm 2.4 --steps 2000 --out models/my_river.onnx
    python -m models.finetune data.yaml --class-map "plastic_bottle=bottle,tyre=" --val-split val

The shipped RiverNet has only seen renders. A few hundred labelled frames of real water teach it
more than any render can, and its small size trains on a laptop CPU (~1 s a step at batch 16 on
2 cores). The network is read back out of the shipped ONNX (``models.onnx_import``), trained
with its BatchNorm statistics frozen (few images), and exported with the same metadata; it keeps
the contract's five classes, so the edge agent alerts from it without a class map (the dataset's
own names are mapped onto them: ``--class-map``; a class left out is trained as background).
Frames are seen at the scale the runtime will see them: with ``--gsd-cm`` at the model's
trained ground scale, without it as they come.

It does not re-fit the verifier (trained on the shipped detector's candidates): the export runs
alone, at the detector threshold stored (``--threshold``). With a validation split it scores the
new model and the shipped detector alone on it, in one run, and prints their precision/recall
trade-offs so you can pick the threshold (``score_threshold`` in the edge settings).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from contract.messages import DEBRIS_CLASSES
from edge.detect.classes import parse_name_map
from edge.detect.config import DEFAULT_MODEL
from models.yolo_folder import YoloFolder, class_mapping, labelled_images, map_classes, open_folder

log = logging.getLogger("riverpatrol.models.finetune")
app = typer.Typer(add_completion=False)
MINE_THRESHOLD = 0.3  # the source's boxes from this score on, where no item is, are hard negatives


def load_dataset(
    folder: YoloFolder,
    mapping: dict[int, int | None],
    source,
    gsd_m: float | None,
    photo_scale: bool = True,
    altitude_m: float | None = None,
) -> tuple[list, list[dict]]:
    """``models.train.Scaled`` frames of ``folder`` at the scale the runtime runs them
    (``source.input_scale`` at ``gsd_m``, else at each photo's own GSD: ``frame_gsd``), boxes in
    the model's classes (items of a class left out dropped: background); and what was skipped, and why.

    ``source``: an ``edge.detect.Detector`` of the model to fine-tune (verifier off, low
    threshold). Its boxes on no labelled item become the frame's hard negatives, which training
    crops around as it does around the renders' birds and glints
    (``TrainConfig.distractor_crop_fraction``); a real dataset labels no distractors, and without
    them fine-tuning trades precision away.
    """
    import cv2

    from edge.detect.photo_scale import frame_gsd
    from models.train import Scaled

    data, skipped = [], []
    n_classes = len(folder.names) if folder.names else len(DEBRIS_CLASSES)
    for image, frame, boxes, classes in labelled_images(folder, n_classes, skipped):
        mapped = map_classes(classes, mapping)
        keep = mapped >= 0
        h, w = frame.shape[:2]
        gsd = frame_gsd(image, gsd_m, photo_scale, altitude_m)
        s = source.input_scale((h, w), gsd)
        small = cv2.resize(frame, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
        negatives = hard_negatives(source, frame, boxes, gsd)
        data.append(Scaled(small, boxes[keep] * s, mapped[keep], negatives * s))
    return data, skipped


def prepare(
    data: Path,
    split: str,
    source: Path,
    gsd_m: float | None,
    class_map: str,
    photo_scale: bool = True,
    altitude_m: float | None = None,
) -> tuple[YoloFolder, list, list[dict]]:
    """The training frames of ``data``'s ``split`` for ``source`` (``load_dataset``, its hard
    negatives mined by ``source`` itself), and what was skipped; ``ValueError`` on a bad dataset,
    class map or source model."""
    from edge.detect.config import DetectorConfig
    from edge.detect.detector import Detector

    folder = open_folder(data, split)
    mapping = class_mapping(folder.names, DEBRIS_CLASSES, parse_name_map(class_map))
    detector = Detector(DetectorConfig(model_path=source, score_threshold=MINE_THRESHOLD, verifier="off"))
    if detector.spec.layout != "centernet":
        raise ValueError(
            f"{source}: not a RiverNet export ({detector.spec.layout} layout): nothing to fine-tune"
        )
    frames, skipped = load_dataset(folder, mapping, detector, gsd_m, photo_scale, altitude_m)
    return folder, frames, skipped


def hard_negatives(
    miner, frame: np.ndarray, labelled: np.ndarray, gsd_m: float | None = None, overlap: float = 0.1
) -> np.ndarray:
    """The ``miner``'s boxes in ``frame`` (run at its ground scale ``gsd_m``, as the runtime
    would) that touch no ``labelled`` box (xyxy, frame pixels)."""
    if miner is None:
        return np.zeros((0, 4), np.float32)
    from edge.detect.nms import pairwise_overlap

    found = np.asarray([d.box for d in miner.detect(frame, gsd_m=gsd_m)], np.float32).reshape(-1, 4)
    if not len(found) or not len(labelled):
        return found
    free = [pairwise_overlap(b, labelled, "ios").max() < overlap for b in found]
    return found[np.asarray(free, bool)]


def finetune(
    data: list,
    source: Path,
    out: Path,
    steps: int,
    lr: float,
    batch: int,
    seed: int,
    threads: int,
    threshold: float | None,
    provenance: dict[str, str],
    progress=None,
) -> tuple[Path, dict]:
    """Train the network of ``source`` on ``data`` for ``steps`` and export it to ``out``."""
    from models.export import export_onnx
    from models.onnx_import import rivernet_from_onnx
    from models.train import TrainConfig, train

    net, meta = rivernet_from_onnx(source)
    cfg = TrainConfig(steps=steps, batch=batch, lr=lr, seed=seed, threads=threads, freeze_bn=True)
    trained, summary = train(
        data, len(DEBRIS_CLASSES), cfg, progress, init={"config": net.config, "state_dict": net.state_dict()}
    )
    export_onnx(
        trained,
        out,
        tuple(json.loads(meta["names"])),
        tuple(json.loads(meta["input_size"])),
        tuple(json.loads(meta.get("native_frame_size", meta["input_size"]))),
        threshold if threshold is not None else float(meta.get("score_threshold", 0.5)),
        f"{meta.get('model_version', '0')}+finetuned",
        extra={
            "finetuned_from": f"{source.name} {meta.get('model_version', '')}".strip(),
            "train_steps": str(summary["steps_done"]),
            **provenance,
        },
        gsd_m=float(meta["gsd_m"]) if "gsd_m" in meta else None,
    )
    return out, summary


@app.command()
def main(
    data: Annotated[
        Path, typer.Argument(help="data.yaml, a dataset folder (images/ + labels/) or an image folder.")
    ],
    split: Annotated[str, typer.Option(help="Split to train on.")] = "train",
    val_split: Annotated[
        str | None, typer.Option(help="Split to score on after training (both models, one run); none: skip.")
    ] = None,
    source: Annotated[Path, typer.Option("--from", help="RiverNet ONNX to start from.")] = DEFAULT_MODEL,
    out: Annotated[Path, typer.Option(help="ONNX to write.")] = Path("finetuned.onnx"),
    gsd_cm: Annotated[
        float | None,
        typer.Option(min=0.01, help="Ground sample distance of the imagery, cm per pixel at the water."),
    ] = None,
    metadata: Annotated[
        bool,
        typer.Option(
            help="Without --gsd-cm: each drone photo's GSD from its EXIF/XMP (height over focal length)."
        ),
    ] = True,
    altitude_m: Annotated[
        float | None,
        typer.Option(
            min=0.1, help="Photos: the camera's height above the water, m (default: XMP RelativeAltitude)."
        ),
    ] = None,
    class_map: Annotated[
        str, typer.Option(help="Dataset name = debris class pairs, e.g. 'plastic_bag=bag,tyre='.")
    ] = "",
    steps: Annotated[int, typer.Option(min=0, help="Training steps (batch --batch).")] = 2000,
    lr: Annotated[
        float, typer.Option(help="Peak learning rate (the shipped model ended near 1.5e-3).")
    ] = 5e-4,
    batch: Annotated[int, typer.Option(min=1, help="Crops per step.")] = 16,
    threshold: Annotated[
        float | None, typer.Option(help="Detector threshold stored; default the source's.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the crop stream and of training.")] = 0,
    threads: Annotated[int, typer.Option(help="Torch / onnxruntime threads.")] = 2,
) -> None:
    """Fine-tune the detector on your own labelled imagery and export it (the verifier is not re-fitted)."""
    from rich.console import Console
    from rich.progress import Progress

    console = Console()
    logging.basicConfig(level=logging.WARNING)
    try:
        import onnx  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        console.print(
            f"[red]error:[/] fine-tuning needs the training extra ({exc}): pip install -e '.\\[train]'",
        )
        raise typer.Exit(2) from exc
    gsd_m = gsd_cm / 100 if gsd_cm else None
    try:
        folder, frames, skipped = prepare(data, split, source, gsd_m, class_map, metadata, altitude_m)
    except (ValueError, OSError) as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    for s in skipped:
        console.print(f"[yellow]skipped[/] {s['file']}: {s['error']}")
    if not frames:
        console.print(f"[red]error:[/] no usable images in {data} ({split})")
        raise typer.Exit(2)
    items = sum(len(f.boxes) for f in frames)
    negatives = sum(len(f.distractors) for f in frames)
    console.print(
        f"{len(frames)} images, {items} items, {negatives} hard negatives (the source's boxes on no item) "
        f"({folder.root}, {split}); {steps} steps from {source.name}"
    )
    provenance = {
        "train_data": str(data),
        "train_images": str(len(frames)),
        "train_items": str(items),
        "train_hard_negatives": str(negatives),
    }
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("fine-tune", total=steps)
        _, summary = finetune(
            frames,
            source,
            out,
            steps,
            lr,
            batch,
            seed,
            threads,
            threshold,
            provenance,
            lambda step, loss, total: bar.update(
                task, completed=step, total=total, description=f"loss {loss:.3f}"
            ),
        )
    curve = summary["loss_curve"]
    loss = f", loss {curve[0][1]} -> {curve[-1][1]}" if curve else ""
    done = f"{summary['steps_done']} steps in {summary['seconds']:.0f} s on {summary['device']}"
    console.print(f"wrote {out}: {done}{loss}")
    if val_split:
        pair = [("fine-tuned", out), ("source, detector alone", source)]
        scored = score_models(data, val_split, pair, gsd_m, class_map, metadata, altitude_m)
        print_tradeoffs(console, val_split, scored)


def score_models(
    data: Path,
    split: str,
    models: list[tuple[str, Path]],
    gsd_m: float | None,
    class_map: str,
    photo_scale: bool = True,
    altitude_m: float | None = None,
) -> dict[str, dict]:
    """Each model, detector alone, scored on ``split`` (``models.score_folder``), by name."""
    from edge.detect.config import DetectorConfig
    from edge.detect.detector import Detector
    from models.score_folder import PROBE_THRESHOLD, score_folder, summary

    folder = open_folder(data, split)
    out = {}
    for name, path in models:
        probe = Detector(DetectorConfig(model_path=path, score_threshold=PROBE_THRESHOLD, verifier="off"))
        mapping = class_mapping(folder.names, probe.names, parse_name_map(class_map))
        tallies = score_folder(probe, folder, mapping, gsd_m, None, photo_scale, altitude_m)
        out[name] = summary(tallies, probe.model_threshold, probe.names, folder, mapping, gsd_m)
    return out


def print_tradeoffs(console, split: str, results: dict[str, dict]) -> None:
    """Precision / recall by threshold of each scored model, side by side."""
    from rich.table import Table

    table = Table(title=f"{split}: precision / recall (items >= 0.3 m) by threshold, detector alone")
    table.add_column("threshold", justify="right")
    rows: dict[float, list[str]] = {}
    for name, res in results.items():
        table.add_column(f"{name} (AP50 {res['map50_ge_0.3m']})", justify="right")
        for op in res["operating_points"]:
            rows.setdefault(op["threshold"], []).append(f"{op['precision']} / {op['recall']}")
    for th in sorted(rows):
        if len(rows[th]) == len(results):  # thresholds every model was scored at
            table.add_row(f"{th:g}", *rows[th])
    console.print(table)


if __name__ == "__main__":
    app()
