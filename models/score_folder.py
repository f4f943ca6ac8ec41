"""Score a detector on your own labelled imagery: any Ultralytics/YOLO dataset, no project meta needed.

    riverpatrol model score data.yaml                       # the shipped model, the val split
    python -m models.score_folder data.yaml                 # the same
    riverpatrol model score my_river/ --split test --gsd-cm 2.4 --class-map "plastic_bag=bag,tyre="
    riverpatrol model score data.yaml --model best.onnx --out my_river.json   # your own model

The same figures as the model card and ``bench/detector_bench.py`` (``models.score.summarize``):
AP50, precision and recall at the model's operating threshold, per class, class confusion and
false detections per 1,000 debris-free images (images with no or an empty label file), plus
recall by box size in pixels. Physical sizes (the targets are stated for items >= 0.3 m) need the
imagery's ground sample distance: ``--gsd-cm``, else each drone photo's own (its height over its
lens, from EXIF/XMP: ``edge.detect.photo_scale``), which also runs it at the model's trained
scale; an image with neither counts its items at any size. A file that is not an image, or a
label file with a bad line, is reported with its path and skipped.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from edge.detect.classes import parse_name_map
from edge.detect.config import DEFAULT_MODEL
from models.evaluate import FrameTruth, Matched, match_frame, pr_at
from models.yolo_folder import (
    YoloFolder,
    class_mapping,
    label_path,
    labelled_images,
    map_classes,
    open_folder,
)

PROBE_THRESHOLD = 0.05  # detections down to this score are kept so AP traces the whole curve
#: The size given an item when the imagery's GSD is unknown: large and finite, so it counts as a
#: target (>= 0.3 m) in every figure (``pr_at`` takes sizes in [min, max), max = inf).
UNKNOWN_SIZE_M = 1e6
#: Recall by the box's longer side in image pixels (what the network sees, whatever the GSD).
PX_BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("<16px", 0.0, 16.0),
    ("16-32px", 16.0, 32.0),
    ("32-64px", 32.0, 64.0),
    (">=64px", 64.0, float("inf")),
)

app = typer.Typer(add_completion=False)


def frame_truth(
    boxes: np.ndarray, classes: np.ndarray, mapping: dict[int, int | None], gsd_m: float | None
) -> tuple[FrameTruth, FrameTruth]:
    """One image's truth in the model's classes, sized in metres (``UNKNOWN_SIZE_M`` without a
    GSD) and in pixels.

    Items of a class the model lacks are "ignore" regions: a box on one is neither credited nor charged.
    """
    cls = map_classes(classes, mapping)
    ignore = cls < 0
    side_px = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]).astype(np.float32)
    size_m = side_px * gsd_m if gsd_m else np.full(len(boxes), UNKNOWN_SIZE_M, np.float32)
    return FrameTruth(boxes, cls, size_m, ignore), FrameTruth(boxes, cls, side_px, ignore)


def score_folder(
    detector,
    folder: YoloFolder,
    mapping: dict[int, int | None],
    gsd_m: float | None = None,
    progress: Callable[[], None] | None = None,
    photo_scale: bool = False,
    altitude_m: float | None = None,
) -> dict:
    """Run ``detector`` (``edge.detect.Detector``, at a low threshold) over every image of ``folder``,
    each at ``gsd_m``, else (``photo_scale``) at the GSD its own metadata gives, else as it comes.

    Returns the raw tallies ``summary`` reads: matches in metres and in pixels, the scores on
    debris-free images, the GSDs read from photos, what was skipped and why, and the time per image.
    """
    from edge.detect.errors import FrameError
    from edge.detect.photo_scale import frame_gsd
    from models.score import SplitScores, frame_pred

    scores, px = SplitScores(), Matched()
    negatives: list[float] = []
    n_negative, skipped, ms, photo_gsds = 0, [], [], []
    unmapped: Counter[int] = Counter()
    n_classes = len(folder.names) if folder.names else len(detector.names)
    label_files = sum(1 for image in folder.images if label_path(image).is_file())
    for image, frame, boxes, classes in labelled_images(folder, n_classes, skipped, progress):
        gsd = frame_gsd(image, gsd_m, photo_scale, altitude_m)
        if gsd is not None and not gsd_m:
            photo_gsds.append(gsd)
        start = time.perf_counter()
        try:
            dets = detector.detect(frame, where=str(image), gsd_m=gsd)
        except FrameError as exc:
            skipped.append({"file": str(image), "error": str(exc)})
            continue
        ms.append((time.perf_counter() - start) * 1000)
        truth_m, truth_px = frame_truth(boxes, classes, mapping, gsd)
        unmapped.update(int(c) for c, ig in zip(classes, truth_m.ignore, strict=True) if ig)
        pred = frame_pred(dets)
        scores.add_pred(pred, truth_m)
        match_frame(truth_px, pred, px)
        if len(boxes) == 0:
            n_negative += 1
            negatives.extend(d.score for d in dets)
    return {
        "scores": scores,
        "px": px,
        "negatives": np.asarray(negatives, np.float32),
        "negative_images": n_negative,
        "label_files": label_files,
        "skipped": skipped,
        "unmapped": unmapped,
        "photo_gsd_m": photo_gsds,
        "ms": ms,
    }


def summary(
    tallies: dict,
    threshold: float,
    model_names: tuple[str, ...],
    folder: YoloFolder,
    mapping: dict[int, int | None],
    gsd_m: float | None,
) -> dict:
    """``models.score.summarize``'s figures at ``threshold``, plus pixel sizes and what was read."""
    from models.score import summarize

    out = summarize(
        tallies["scores"], tallies["negatives"], tallies["negative_images"], threshold, model_names
    )
    px = tallies["px"]
    out["per_size_px"] = {}
    for label, lo, hi in PX_BUCKETS:
        _, r, tp, _, fn = pr_at(px, threshold, lo, hi)
        out["per_size_px"][label] = {"recall": None if np.isnan(r) else round(r, 4), "items": tp + fn}
    photo_gsds = tallies.get("photo_gsd_m", [])
    if gsd_m is None and not photo_gsds:
        out["per_size"] = None  # no metres without a GSD: every labelled item counted as a target
    names = folder.names or model_names
    scored = len(folder.images) - len(tallies["skipped"])
    if gsd_m:
        sizes = "metres from the GSD"
    elif photo_gsds:
        sizes = (
            f"metres from each photo's metadata ({len(photo_gsds)} of {scored} images); "
            "the others' items count at any size"
        )
    else:
        sizes = "unknown (no --gsd-cm, no scale in the photos): every labelled item counts"
    out["dataset"] = {
        "root": str(folder.root),
        "split": folder.split,
        "images": len(folder.images),
        "label_files": tallies["label_files"],
        "scored": scored,
        "names": list(names),
        "class_map": {names[i]: (model_names[m] if m is not None else None) for i, m in mapping.items()},
        "unmapped_items": {names[c]: n for c, n in sorted(tallies["unmapped"].items())},
        "gsd_cm": round(gsd_m * 100, 4) if gsd_m else None,
        "gsd_from_photos": (
            {
                "images": len(photo_gsds),
                "cm_median": round(statistics.median(photo_gsds) * 100, 4),
                "cm_range": [round(min(photo_gsds) * 100, 4), round(max(photo_gsds) * 100, 4)],
            }
            if photo_gsds
            else None
        ),
        "sizes": sizes,
    }
    out["skipped"] = tallies["skipped"]
    ms = tallies["ms"]
    out["ms_per_image"] = (
        {"median": round(statistics.median(ms), 2), "max": round(max(ms), 2)} if ms else None
    )
    return out


@app.command()
def score_cmd(
    data: Annotated[
        Path, typer.Argument(help="data.yaml, a dataset folder (images/ + labels/) or an image folder.")
    ],
    split: Annotated[
        str | None, typer.Option(help="Split to score (data.yaml key or images/SPLIT); default val.")
    ] = None,
    model: Annotated[
        Path, typer.Option(help="ONNX detector (the shipped one, or your own export).")
    ] = DEFAULT_MODEL,
    model_format: Annotated[str, typer.Option(help="auto | centernet | ultralytics")] = "auto",
    gsd_cm: Annotated[
        float | None,
        typer.Option(
            min=0.01,
            help="Ground sample distance of the imagery, cm per pixel at the water: "
            "frames run at the model's trained scale and items are sized in metres.",
        ),
    ] = None,
    metadata: Annotated[
        bool,
        typer.Option(
            help="Without --gsd-cm: each drone photo's GSD from its EXIF/XMP (height over focal "
            "length), for its scale and its items' sizes.",
        ),
    ] = True,
    altitude_m: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            help="Photos: the camera's height above the water, m (default: the drone's XMP "
            "RelativeAltitude); with the EXIF focal length it gives each photo's GSD.",
        ),
    ] = None,
    class_map: Annotated[
        str,
        typer.Option(
            help="Dataset name = model name pairs, e.g. 'plastic_bag=bag,tyre=' (empty: leave out)."
        ),
    ] = "",
    threshold: Annotated[
        float | None, typer.Option(help="Operating threshold; default: the model's.")
    ] = None,
    verifier: Annotated[
        bool, typer.Option(help="Second look with the model's verifier, as the edge agent does.")
    ] = True,
    tile: Annotated[str, typer.Option(help="off | on | auto (tile images much larger than native)")] = "auto",
    threads: Annotated[int, typer.Option(help="onnxruntime intra-op threads.")] = 2,
    out: Annotated[Path | None, typer.Option(help="Write the figures as JSON here.")] = None,
) -> None:
    """Score a detector on a labelled YOLO dataset of your own imagery and print the model card's figures."""
    from rich.console import Console
    from rich.progress import Progress

    from edge.detect.config import DetectorConfig
    from edge.detect.detector import Detector
    from edge.detect.errors import DetectorError
    from models.score import print_accuracy

    console = Console()
    try:
        folder = open_folder(data, split)
        probe = Detector(
            DetectorConfig(
                model_path=model,
                model_format=model_format,  # type: ignore[arg-type]
                threads=threads,
                score_threshold=PROBE_THRESHOLD,
                tile=tile,  # type: ignore[arg-type]
                verifier="auto" if verifier else "off",
            )
        )
        mapping = class_mapping(folder.names, probe.names, parse_name_map(class_map))
    except (DetectorError, ValueError) as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    operating = threshold or probe.model_threshold
    gsd_m = gsd_cm / 100 if gsd_cm else None
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task(f"{len(folder.images)} images", total=len(folder.images))
        tallies = score_folder(probe, folder, mapping, gsd_m, lambda: bar.advance(task), metadata, altitude_m)
    result = summary(tallies, operating, probe.names, folder, mapping, gsd_m)
    result["model"] = {
        "path": str(model),
        "layout": probe.spec.layout,
        "verifier": probe.verifier.path.name if probe.verifier else None,
    }
    print_accuracy(console, result, f"{data} ({folder.split or 'all'}) at threshold {operating:g} (IoU 0.5)")
    console.print(f"item sizes: {result['dataset']['sizes']}")
    if not tallies["label_files"]:
        console.print(
            f"[yellow]no label files where Ultralytics looks for them (e.g. "
            f"{label_path(folder.images[0])}):[/] every image was scored as debris-free"
        )
    if result["dataset"]["unmapped_items"]:
        console.print(f"[yellow]left out (no such model class):[/] {result['dataset']['unmapped_items']}")
    for s in result["skipped"]:
        console.print(f"[yellow]skipped[/] {s['file']}: {s['error']}")
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2))
        console.print(f"wrote {out}")


if __name__ == "__main__":
    app()
