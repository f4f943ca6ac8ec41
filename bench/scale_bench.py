"""Ground-scale benchmark: the detector on frames from other altitudes and cameras, run as they
come and at the model's trained ground scale (``Detector.detect(gsd_m=)``), side by side.

    python bench/scale_bench.py                      # 4 cases x 40 held-out-look frames
    python bench/scale_bench.py --frames 10 --cases 4k@30,1080p@60

The model was trained on 1080p frames at 20-45 m (2.3 cm per pixel at 30 m). A 4K camera, or
the same camera 60 m up or 15 m down, shows a 0.3 m bottle at twice or half the pixels. Each case
renders frames of held-out-look rivers straight down over the litter (``sim.camera``, exact
truth), runs the shipped detector (+ verifier, at its operating point) on each frame twice -
without a GSD (the frame fitted to the model input, or tiled at native size when it is much
larger: the runtime's behaviour before it knew the ground scale) and with the frame's GSD (the
altitude over the camera's focal length) - and scores both on the same truth: recall and
precision at IoU 0.5 for items >= 0.3 m (class must match, and any class), ms per frame.
Writes ``bench/results/scale.json``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as a script from anywhere
    sys.path.insert(0, str(ROOT))

from bench.machine import machine_info  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "scale.json"
CASES = {  # name -> (width, height, altitude m); the default camera's 73 deg HFOV throughout
    "1080p@30": (1920, 1080, 30.0),
    "1080p@60": (1920, 1080, 60.0),
    "1080p@15": (1920, 1080, 15.0),
    "4k@30": (3840, 2160, 30.0),
}
app = typer.Typer(add_completion=False)


def render_case(
    width: int, height: int, alt_m: float, frames: int, seed: int, domain: str, camera=None
) -> list:
    """``(image, truth boxes, classes, sizes, visible, gsd_m)`` per frame: nadir over an item, seen
    by ``camera`` (``contract.camera.CameraModel``; default: the default lens at ``width`` x ``height``)."""
    from contract.camera import CameraModel, CameraPose
    from sim.camera import Renderer, RiverScene

    camera = camera or CameraModel.default().scaled(width, height)
    rng = np.random.default_rng(seed)
    scenes = [RiverScene(seed=seed + k, domain=domain, n_debris=300) for k in range(max(1, frames // 10))]
    renderers = [Renderer(s) for s in scenes]
    out = []
    for k in range(frames):
        r = renderers[k % len(renderers)]
        scene = r.scene
        item = scene.debris[int(rng.integers(len(scene.debris)))]
        t = float(rng.uniform(0, 60))
        n, e = item.position_ne(scene.river, t)
        lat, lon = scene.to_lat_lon(float(n + rng.normal(0, 3)), float(e + rng.normal(0, 3)))
        pose = CameraPose(lat=lat, lon=lon, alt_m=alt_m, yaw_deg=float(rng.uniform(0, 360)))
        try:
            f = r.render(pose, camera, t, jpeg_quality=scene.appearance.jpeg_quality)
        except ValueError:
            continue
        truth = f.truth
        out.append(
            (
                f.image,
                np.asarray([[b.x1, b.y1, b.x2, b.y2] for b in truth], np.float32).reshape(-1, 4),
                np.asarray([b.class_index for b in truth], np.int64),
                np.asarray([b.size_m for b in truth], np.float32),
                np.asarray([b.visible_fraction for b in truth], np.float32),
                alt_m / camera.fx,
            )
        )
    return out


def score(detector, frames: list, gsds: list[float | None]) -> dict:
    """Recall / precision at the detector's threshold (items >= 0.3 m) and ms per frame, each frame
    run at its GSD in ``gsds`` (None: as it comes)."""
    from models.evaluate import TARGET_MIN_SIZE_M, FrameTruth, pr_at
    from models.score import MIN_VISIBLE, SplitScores

    scores, ms = SplitScores(), []
    for (image, boxes, classes, sizes, visible, _), gsd in zip(frames, gsds, strict=True):
        t0 = time.perf_counter()
        dets = detector.detect(image, gsd_m=gsd)
        ms.append((time.perf_counter() - t0) * 1000)
        scores.add(dets, FrameTruth(boxes, classes, sizes, visible < MIN_VISIBLE))
    matched, any_class = scores.matched, scores.matched_any_class
    t = detector.score_threshold
    p, r, *_ = pr_at(matched, t, TARGET_MIN_SIZE_M)
    pa, ra, _, fpa, _ = pr_at(any_class, t, TARGET_MIN_SIZE_M)
    return {
        "precision": round(p, 4),
        "recall": round(r, 4),
        "precision_any_class": round(pa, 4),
        "recall_any_class": round(ra, 4),
        "items_ge_0.3m": int(sum(s >= TARGET_MIN_SIZE_M for s in matched.gt_size_m)),
        "false_detections_any_class": fpa,
        "ms_median": round(statistics.median(ms), 1),
    }


COLUMNS = ("case", "GSD cm/px", "run", "recall", "precision", "any class R / P", "false", "ms")


def pick_cases(cases: str, known: dict) -> list[str]:
    """The comma-separated ``cases`` to run, each one of ``known``; ``BadParameter`` otherwise."""
    chosen = [c.strip() for c in cases.split(",") if c.strip()]
    unknown = [c for c in chosen if c not in known]
    if unknown:
        raise typer.BadParameter(f"unknown cases {unknown}; known: {', '.join(known)}")
    return chosen


def table_row(name: str, gsd_cm: str, run: str, r: dict) -> list[str]:
    """One row of ``COLUMNS`` for ``score``'s figures ``r``."""
    return [
        name,
        gsd_cm,
        run,
        f"{r['recall']:.3f}",
        f"{r['precision']:.3f}",
        f"{r['recall_any_class']:.3f} / {r['precision_any_class']:.3f}",
        str(r["false_detections_any_class"]),
        f"{r['ms_median']:.1f}",
    ]


@app.command()
def main(
    frames: Annotated[int, typer.Option(help="Frames per case.")] = 40,
    cases: Annotated[str, typer.Option(help=f"Comma-separated, of {', '.join(CASES)}.")] = ",".join(CASES),
    seed: Annotated[int, typer.Option(help="First river seed (one river per 10 frames).")] = 9600,
    domain: Annotated[str, typer.Option(help="Look of the rivers (sim.camera.appearance).")] = "heldout",
    threads: Annotated[int, typer.Option(help="onnxruntime threads.")] = 2,
    out: Annotated[Path, typer.Option(help="JSON results.")] = RESULTS,
) -> None:
    """Each case's figures run as it comes and at the trained ground scale, from the same frames."""
    import onnxruntime
    from rich.console import Console
    from rich.table import Table

    from edge.detect import Detector, DetectorConfig

    chosen = pick_cases(cases, CASES)
    console = Console()
    detector = Detector(DetectorConfig(threads=threads))
    results: dict[str, dict] = {}
    table = Table(title=f"held-out-look frames, {frames} per case, threshold {detector.score_threshold:g}")
    for col in COLUMNS:
        table.add_column(col)
    for name in chosen:
        w, h, alt = CASES[name]
        with console.status(f"rendering {name}"):
            data = render_case(w, h, alt, frames, seed, domain)
        gsd = data[0][5] if data else float("nan")
        results[name] = {"width": w, "height": h, "altitude_m": alt, "gsd_m": round(gsd, 5)}
        results[name]["frames"] = len(data)
        for run, use_gsd in (("as it comes", False), ("at trained scale", True)):
            with console.status(f"{name}: {run}"):
                r = score(detector, data, [f[5] if use_gsd else None for f in data])
            results[name][run] = r
            table.add_row(*table_row(name, f"{gsd * 100:.2f}", run, r))
            console.print(f"{name} {run}: {r}")
    console.print(table)
    summary = {
        "bench": "scale",
        "model_gsd_m": detector.model_gsd_m,
        "threshold": detector.score_threshold,
        "domain": domain,
        "seed": seed,
        "cases": results,
        "machine": machine_info(
            threads_used=threads, load_average_at_start=os.getloadavg(), onnxruntime=onnxruntime.__version__
        ),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n")
    console.print(f"wrote {out}")


if __name__ == "__main__":
    app()
