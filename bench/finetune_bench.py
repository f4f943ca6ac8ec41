"""Fine-tuning the shipped detector on "your own river": how much a few labelled frames buy.

    python bench/finetune_bench.py               # 60 frames to train, 30 to score, 800 steps (~8 min)
    python bench/finetune_bench.py --steps 200 --train-frames 20

Stands in for a user's labelled imagery with one river of water the model never trained on (the
renderer's "shift" look: neither the training nor the held-out colours), laid out as a plain
YOLO dataset: training frames over some of its items, validation frames over others of the same
river, as a user would split their own flights. Runs ``models.finetune`` on it (hard negatives
mined, BatchNorm frozen) and scores the result and the shipped detector (the baseline, detector
alone, both in this run) on the validation frames. Writes ``bench/results/finetune.json``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import cv2
import numpy as np
import typer

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as a script from anywhere
    sys.path.insert(0, str(ROOT))

from bench.machine import machine_info, versions  # noqa: E402
from contract.camera import CameraPose  # noqa: E402
from contract.messages import DEBRIS_CLASSES  # noqa: E402
from edge.detect import DEFAULT_MODEL  # noqa: E402
from models.finetune import finetune, prepare, print_tradeoffs, score_models  # noqa: E402
from models.yolo_io import yolo_lines  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "finetune.json"
app = typer.Typer(add_completion=False)


def write_river(root: Path, seed: int, train: int, val: int) -> float:
    """A plain YOLO dataset of one river in the "shift" look; returns its GSD (m per px)."""
    from sim.camera import RiverScene, render

    scene = RiverScene(seed=seed, n_debris=400, n_distractors=60, domain="shift")
    items = [d for d in scene.debris if d.size_m >= 0.3]
    gsd = 0.0
    for split, n, offset in (("train", train, 0), ("val", val, 3)):  # other items of the same river
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        for k in range(n):
            lat, lon = scene.to_lat_lon(*items[(7 * k + offset) % len(items)].position_ne(scene.river, 0.0))
            f = render(scene, CameraPose(lat=lat, lon=lon, alt_m=30.0, yaw_deg=37.0 * k), t=float(k))
            cv2.imwrite(
                str(root / "images" / split / f"{k:04d}.jpg"), f.image, [cv2.IMWRITE_JPEG_QUALITY, 92]
            )
            boxes = np.asarray([[b.x1, b.y1, b.x2, b.y2] for b in f.truth], np.float32).reshape(-1, 4)
            classes = np.asarray([b.class_index for b in f.truth], np.int64)
            h, w = f.image.shape[:2]
            (root / "labels" / split / f"{k:04d}.txt").write_text(yolo_lines(boxes, classes, w, h))
            gsd = f.gsd_m
    (root / "data.yaml").write_text(
        f"path: .\ntrain: images/train\nval: images/val\nnames: {list(DEBRIS_CLASSES)}\n"
    )
    return gsd


def _brief(res: dict) -> dict:
    keep = ("map50_ge_0.3m", "precision_ge_0.3m", "recall_ge_0.3m", "items_ge_0.3m", "threshold")
    return {**{k: res[k] for k in keep}, "operating_points": res["operating_points"]}


@app.command()
def main(
    train_frames: Annotated[int, typer.Option(min=1, help="Labelled frames to fine-tune on.")] = 60,
    val_frames: Annotated[int, typer.Option(min=1, help="Frames of the same river to score on.")] = 30,
    steps: Annotated[int, typer.Option(min=0, help="Fine-tuning steps (batch 16).")] = 800,
    lr: Annotated[float, typer.Option(help="Peak learning rate.")] = 2e-4,
    river_seed: Annotated[int, typer.Option(help="The river (a world no training split uses).")] = 101,
    threads: Annotated[int, typer.Option(help="Torch / onnxruntime threads.")] = 2,
    out: Annotated[Path, typer.Option(help="JSON result file.")] = RESULTS,
) -> None:
    """Fine-tune on one river's labelled frames; score it and the shipped detector on others of it."""
    from rich.console import Console

    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "river"
        t0 = time.monotonic()
        gsd = write_river(root, river_seed, train_frames, val_frames)
        rendered = time.monotonic() - t0
        data = root / "data.yaml"
        _, frames, _ = prepare(data, "train", DEFAULT_MODEL, gsd, "")
        tuned = Path(tmp) / "tuned.onnx"
        _, summary = finetune(frames, DEFAULT_MODEL, tuned, steps, lr, 16, 0, threads, None, {})
        pair = [("fine-tuned", tuned), ("shipped detector (baseline)", DEFAULT_MODEL)]
        results = score_models(data, "val", pair, gsd, "")
    print_tradeoffs(console, "val (other stretches of the same river)", results)
    result = {
        "what": "detector alone on validation frames of one river, after fine-tuning on other frames of it",
        "dataset": {
            "look": "shift (water neither trained on nor held out)",
            "river_seed": river_seed,
            "train_frames": len(frames),
            "train_items": int(sum(len(f.boxes) for f in frames)),
            "hard_negatives": int(sum(len(f.distractors) for f in frames)),
            "val_frames": val_frames,
            "gsd_cm": round(gsd * 100, 3),
            "render_s": round(rendered, 1),
        },
        "finetune": {
            "steps": summary["steps_done"],
            "lr": lr,
            "seconds": summary["seconds"],
            "loss": summary["loss_curve"],
        },
        "results": {name: _brief(res) for name, res in results.items()},
        "machine": machine_info(threads_used=threads, **versions("torch", "onnxruntime")),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    for name, res in results.items():
        console.print(f"{name}: AP50 {res['map50_ge_0.3m']} (items >= 0.3 m: {res['items_ge_0.3m']})")
    console.print(f"wrote {out}")


if __name__ == "__main__":
    app()
