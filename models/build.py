"""Rebuild the shipped detector from scratch, reproducibly: data -> train -> export -> threshold -> scores.

    python -m models.build                 # defaults: the shipped model
    python -m models.build --steps 200 --out /tmp/m.onnx --data /tmp/d   # a quick smoke build

Everything is seeded (data splits, crops, weights). The operating threshold is chosen on the
validation splits (training look), never on the held-out ones; the held-out figures written to
``models/riverpatrol_debris.card.json`` are the same code path as ``bench/detector_bench.py``.
"""

from __future__ import annotations

import json
import logging
import platform
import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from contract.messages import DEBRIS_CLASSES

MODEL_DIR = Path(__file__).resolve().parent
DEFAULT_OUT = MODEL_DIR / "riverpatrol_debris.onnx"
DEFAULT_DATA = MODEL_DIR.parent / "data" / "riverpatrol_debris"
INPUT_HW = (544, 960)
NATIVE_HW = (1080, 1920)
VERSION = "1.1.0"

log = logging.getLogger("riverpatrol.models.build")
app = typer.Typer(add_completion=False)


@app.command()
def main(
    data: Annotated[Path, typer.Option(help="Data set folder (rendered if missing).")] = DEFAULT_DATA,
    out: Annotated[Path, typer.Option(help="ONNX file to write.")] = DEFAULT_OUT,
    seed: Annotated[int, typer.Option(help="Seed of data splits and training.")] = 7,
    steps: Annotated[int, typer.Option(help="Training steps.")] = 6000,
    batch: Annotated[int, typer.Option(help="Crops per step.")] = 16,
    crop: Annotated[int, typer.Option(help="Crop side at model scale, px.")] = 192,
    threads: Annotated[int, typer.Option(help="Torch / onnxruntime threads.")] = 2,
    workers: Annotated[int, typer.Option(help="Render processes for the data set.")] = 2,
) -> None:
    """Render data, train RiverNet-tiny, export ONNX with metadata, pick the threshold, score held-out."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from edge.detect import Detector, DetectorConfig
    from models.dataset import default_splits, generate
    from models.evaluate import choose_threshold
    from models.export import export_onnx
    from models.score import negative_scores, score_positive, summarize
    from models.train import TrainConfig, load_scaled, train
    from models.yolo_io import read_split

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    console = Console()
    started = time.monotonic()
    summaries = generate(data, default_splits(seed), workers)
    splits = {name: read_split(data, name) for name in summaries}

    scale = INPUT_HW[1] / NATIVE_HW[1]
    cfg = TrainConfig(steps=steps, batch=batch, crop=crop, seed=seed, threads=threads)
    train_data = load_scaled(splits["train"], scale)
    cols = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[loss]}"),
        TimeRemainingColumn(),
    )
    with Progress(*cols, console=console) as bar:
        task = bar.add_task("train", total=steps, loss="")
        net, train_info = train(
            train_data,
            len(DEBRIS_CLASSES),
            cfg,
            progress=lambda step, loss: bar.update(task, completed=step, loss=f"loss {loss:.3f}"),
        )

    def exported(threshold: float) -> Path:
        return export_onnx(
            net,
            out,
            DEBRIS_CLASSES,
            INPUT_HW,
            NATIVE_HW,
            threshold,
            VERSION,
            extra={
                "train_seed": seed,
                "train_steps": steps,
                "data": "synthetic sim.camera, see MODEL_CARD.md",
            },
        )

    exported(0.5)
    probe = Detector(DetectorConfig(model_path=out, threads=threads, score_threshold=0.05, tile="off"))
    val = score_positive(probe, splits["val"])
    val_neg = negative_scores(probe, splits["val_negative"])
    threshold = choose_threshold(val.matched, val_neg, len(splits["val_negative"]))
    exported(threshold)
    val_summary = summarize(val, val_neg, len(splits["val_negative"]), threshold, DEBRIS_CLASSES)
    held = score_positive(probe, splits["heldout"])
    held_neg = negative_scores(probe, splits["heldout_negative"])
    held_summary = summarize(held, held_neg, len(splits["heldout_negative"]), threshold, DEBRIS_CLASSES)
    card = {
        "model": out.name,
        "version": VERSION,
        "size_bytes": out.stat().st_size,
        "input_size": INPUT_HW,
        "native_frame_size": NATIVE_HW,
        "threshold": threshold,
        "train": {**asdict(cfg), **train_info},
        "data": {
            k: {"frames": v["frames"], "items": v["items"], "scenes": v["scenes"]}
            for k, v in summaries.items()
        },
        "val": val_summary,
        "heldout": held_summary,
        "build_seconds": round(time.monotonic() - started, 1),
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "threads": threads},
    }
    card_path = out.with_suffix(".card.json")
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    console.print(
        f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB), threshold {threshold:.2f}; "
        f"held-out >=0.3 m: P {held_summary['precision_ge_0.3m']} R {held_summary['recall_ge_0.3m']} "
        f"mAP50 {held_summary['map50_ge_0.3m']}; false alerts {held_summary['false_alerts']}"
        f"/{held_summary['negative_frames']} frames; card figures in {card_path}"
    )


if __name__ == "__main__":
    app()
