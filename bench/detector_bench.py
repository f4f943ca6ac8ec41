"""Detector benchmark: held-out accuracy and full-frame speed, with a same-run YOLOv8n baseline.

    python bench/detector_bench.py                  # full: held-out accuracy + speed
    python bench/detector_bench.py --speed-only     # only the timing table

Accuracy: the shipped model on the held-out synthetic splits (``models.dataset``: a different
seed and water/light ranges never used in training), at the operating threshold stored in the
model: mAP@0.5, precision/recall overall, per class and per size bucket, and false alerts per
1,000 debris-free frames. Speed: ms per full 1920x1080 BGR frame through ``edge.detect.Detector``
(letterbox, inference, decoding, NMS) on N onnxruntime threads, next to YOLOv8n (rebuilt from
Ultralytics' ``yolov8n.yaml`` in plain torch, random weights, ONNX at 640) single-pass and tiled.
Writes ``bench/results/detector.json`` and prints a rich table.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as a script from anywhere
    sys.path.insert(0, str(ROOT))

from bench.machine import machine_info as shared_machine_info  # noqa: E402
from contract.messages import DEBRIS_CLASSES  # noqa: E402
from edge.detect import DEFAULT_MODEL, Detector, DetectorConfig  # noqa: E402
from models.score import print_accuracy  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "detector.json"
app = typer.Typer(add_completion=False)


def machine_info(threads: int) -> dict:
    import onnxruntime

    return shared_machine_info(
        threads_used=threads, load_average_at_start=os.getloadavg(), onnxruntime=onnxruntime.__version__
    )


def time_detector(detector: Detector, frames: list[np.ndarray], repeats: int) -> dict:
    """Median / p90 / min ms per frame over ``repeats`` passes of ``frames`` (after a warm-up)."""
    for f in frames[:2]:
        detector.detect(f)
    times = []
    for _ in range(repeats):
        for f in frames:
            t = time.perf_counter()
            detector.detect(f)
            times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 2),
        "p90_ms": round(times[int(0.9 * (len(times) - 1))], 2),
        "min_ms": round(times[0], 2),
        "runs": len(times),
    }


def speed(
    model: Path, threads: int, frames: list[np.ndarray], repeats: int, verifier: bool = True
) -> tuple[dict, str | None]:
    """Timings of ours (with its verifier, then alone) and of the YOLOv8n baseline, in one run."""
    from models.yolov8_rebuild import export_yolov8n

    use = "auto" if verifier else "off"
    ours = Detector(DetectorConfig(model_path=model, threads=threads, tile="off", verifier=use))
    label = "riverpatrol (1 pass, 960x544" + (" + verifier)" if ours.verifier else ")")
    rows = {label: time_detector(ours, frames, repeats)}
    if ours.verifier:
        alone = Detector(DetectorConfig(model_path=model, threads=threads, tile="off", verifier="off"))
        rows["riverpatrol detector alone (1 pass, 960x544)"] = time_detector(alone, frames, repeats)
        del alone
    note = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = export_yolov8n(Path(tmp) / "yolov8n.onnx", 640)
            single = Detector(
                DetectorConfig(model_path=path, model_format="ultralytics", threads=threads, tile="off")
            )
            tiled = Detector(
                DetectorConfig(
                    model_path=path,
                    model_format="ultralytics",
                    threads=threads,
                    tile="on",
                    tile_size=(640, 640),
                    tile_overlap=0.2,
                )
            )
            from edge.detect.tiling import tile_grid

            n_tiles = len(tile_grid(frames[0].shape[:2], (640, 640), 0.2))
            rows["yolov8n (1 pass, 640x640)"] = time_detector(single, frames, repeats)
            rows[f"yolov8n (tiled 1080p, {n_tiles} x 640)"] = time_detector(
                tiled, frames, max(1, repeats // 2)
            )
            # Drop the baseline's sessions first: their idle onnxruntime threads spin for a while
            # after each run and would steal the 2 cores from the drift check.
            del single, tiled
            gc.collect()
            rows["riverpatrol (repeat, drift check)"] = time_detector(ours, frames, repeats)
    except (FileNotFoundError, ImportError) as exc:
        note = f"YOLOv8n baseline skipped: {exc}"
    return rows, note


def accuracy(
    model: Path, data: Path, threads: int, seed: int, heldout: int, negative: int, verifier: bool = True
) -> dict:
    from rich.progress import Progress

    from models.dataset import default_splits, generate
    from models.score import negative_scores, score_positive, summarize
    from models.yolo_io import read_split

    specs = [
        s for s in default_splits(seed, heldout=heldout, negative=negative) if s.name.startswith("heldout")
    ]
    generate(data, specs)
    pos, neg = read_split(data, "heldout"), read_split(data, "heldout_negative")
    use = "auto" if verifier else "off"
    shipped = Detector(DetectorConfig(model_path=model, threads=threads, verifier=use))
    probe = Detector(
        DetectorConfig(model_path=model, threads=threads, score_threshold=0.05, tile="off", verifier=use)
    )
    with Progress() as bar:
        t1 = bar.add_task("held-out frames", total=len(pos))
        t2 = bar.add_task("debris-free frames", total=len(neg))
        scores = score_positive(probe, pos, lambda: bar.advance(t1))
        negs = negative_scores(probe, neg, lambda: bar.advance(t2))
    out = summarize(scores, negs, len(neg), shipped.score_threshold, DEBRIS_CLASSES)
    out["data"] = {"folder": str(data), "seed": seed, "domain": "heldout"}
    out["verifier"] = str(shipped.verifier.path.name) if shipped.verifier else None
    return out


def print_tables(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    sp = Table(title=f"ms per 1920x1080 frame, {result['machine']['threads_used']} threads")
    for col in ("detector", "median", "p90", "min"):
        sp.add_column(col, justify="left" if col == "detector" else "right")
    for name, row in result["speed"].items():
        sp.add_row(name, f"{row['median_ms']:.1f}", f"{row['p90_ms']:.1f}", f"{row['min_ms']:.1f}")
    console.print(sp)
    acc = result.get("accuracy")
    if acc:
        print_accuracy(console, acc, f"held-out accuracy at threshold {acc['threshold']} (IoU 0.5)")


@app.command()
def main(
    model: Annotated[Path, typer.Option(help="ONNX detector under test.")] = DEFAULT_MODEL,
    data: Annotated[Path, typer.Option(help="Data folder (held-out splits rendered if missing).")] = ROOT
    / "data"
    / "riverpatrol_debris",
    seed: Annotated[int, typer.Option(help="Base seed of the data splits (held-out = seed+3, seed+4).")] = 7,
    heldout: Annotated[int, typer.Option(help="Held-out frames with debris (the card's: 300).")] = 300,
    negative: Annotated[int, typer.Option(help="Held-out debris-free frames (the card's: 1000).")] = 1000,
    threads: Annotated[int, typer.Option(help="onnxruntime intra-op threads.")] = 2,
    repeats: Annotated[int, typer.Option(help="Timing passes over the timing frames.")] = 5,
    speed_only: Annotated[bool, typer.Option(help="Skip the accuracy part.")] = False,
    verifier: Annotated[
        bool, typer.Option(help="Run the model's second-look verifier, as the edge agent does.")
    ] = True,
    out: Annotated[Path, typer.Option(help="JSON result file.")] = RESULTS,
) -> None:
    """Benchmark the shipped detector: held-out accuracy and ms per 1080p frame vs YOLOv8n."""
    import cv2

    from models.yolo_io import read_split

    result: dict = {"model": str(model), "machine": machine_info(threads)}
    if not speed_only:
        result["accuracy"] = accuracy(model, data, threads, seed, heldout, negative, verifier)
    samples = read_split(data, "heldout")[:8] if (data / "heldout" / "meta").is_dir() else []
    frames = [cv2.imread(str(s.image_path)) for s in samples]
    if not frames:  # no rendered data: time on noise-free grey frames of the right size
        frames = [np.full((1080, 1920, 3), 100, np.uint8) for _ in range(4)]
    result["speed_frames"] = len(frames)
    result["speed"], note = speed(model, threads, frames, repeats, verifier)
    if note:
        result["note"] = note
    result["machine"]["load_average_at_end"] = os.getloadavg()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print_tables(result)
    print(f"wrote {out}")


if __name__ == "__main__":
    app()
