"""The detector on photographs no part of this project made: what it boxes where there is no debris.

    pip install -e '.[bench]'                       # scikit-image, for its bundled photographs
    python bench/foreign_images_bench.py            # scikit-image's sample photographs
    python bench/foreign_images_bench.py --images my_debris_free_photos/
    python bench/foreign_images_bench.py --verifier other_verifier.onnx   # a trial verifier beside

Every figure in the model card comes from the project's own renderer; these are real photographs
(scikit-image's bundled sample images: textures such as grass, gravel and brick, and scenes that
are not water at all) or a folder of your own debris-free photos. Each holds no floating debris,
so every box at the operating threshold is a false detection. The baseline, run on the same
images, is the detector alone (no verifier's second look). Writes ``bench/results/foreign_images.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as a script from anywhere
    sys.path.insert(0, str(ROOT))

from bench.machine import machine_info, versions  # noqa: E402
from edge.detect import DEFAULT_MODEL, Detector, DetectorConfig, FrameError  # noqa: E402
from edge.detect.image_io import read_image  # noqa: E402
from models.yolo_folder import open_folder  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "foreign_images.json"
app = typer.Typer(add_completion=False)


def sample_photographs() -> Path:
    """scikit-image's bundled sample images (in its wheel; nothing is downloaded)."""
    try:
        import skimage
    except ImportError as exc:
        raise SystemExit(
            "scikit-image is not installed: pip install -e '.[bench]', or pass --images DIR"
        ) from exc
    return Path(skimage.__file__).parent / "data"


def boxes_per_image(detector: Detector, images: list[Path], threshold: float) -> dict[str, list[dict]]:
    """Each readable image's boxes at ``threshold`` (class, score, box), by file name."""
    out: dict[str, list[dict]] = {}
    for path in images:
        try:
            frame = read_image(path)
        except FrameError:  # unreadable or truncated: not a photograph to count boxes on
            continue
        if min(frame.shape[:2]) < 8:
            continue
        dets = [d for d in detector.detect(frame, where=str(path)) if d.score >= threshold]
        out[path.name] = [
            {"class": d.class_name, "score": round(d.score, 4), "box": [round(v) for v in d.box]}
            for d in dets
        ]
    return out


@app.command()
def main(
    images: Annotated[
        Path | None, typer.Option(help="Folder of debris-free photos; default scikit-image's.")
    ] = None,
    model: Annotated[Path, typer.Option(help="ONNX detector under test.")] = DEFAULT_MODEL,
    verifier: Annotated[
        list[Path] | None,
        typer.Option(help="Another verifier ONNX beside the shipped one, at its own operating point."),
    ] = None,
    threads: Annotated[int, typer.Option(help="onnxruntime intra-op threads.")] = 2,
    out: Annotated[Path, typer.Option(help="JSON result file.")] = RESULTS,
) -> None:
    """False detections of the shipped pair and of the detector alone on photographs of no debris."""
    from rich.console import Console
    from rich.table import Table

    folder = open_folder(images or sample_photographs())
    rows = {}
    configs = {
        "detector + verifier (shipped)": DetectorConfig(model_path=model, threads=threads),
        **{
            f"detector + {p.name}": DetectorConfig(model_path=model, threads=threads, verifier_path=p)
            for p in verifier or []
        },
        "detector alone (baseline)": DetectorConfig(model_path=model, threads=threads, verifier="off"),
    }
    for name, config in configs.items():
        det = Detector(config)
        per_image = boxes_per_image(det, list(folder.images), det.score_threshold)
        rows[name] = {
            "threshold": det.score_threshold,
            "images": len(per_image),
            "false_detections": sum(len(v) for v in per_image.values()),
            "images_with_any": sum(1 for v in per_image.values() if v),
            "per_image": per_image,
        }
    result = {
        "what": "boxes at the operating threshold on photographs that hold no floating debris",
        "source": str(folder.root) if images else "scikit-image sample photographs (skimage/data)",
        "model": str(model),
        "results": rows,
        "machine": machine_info(**versions("onnxruntime", "scikit-image", "opencv-python-headless")),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    console = Console()
    names = sorted({n for r in rows.values() for n in r["per_image"]})
    table = Table(title=f"false detections on {len(names)} photographs with no debris ({result['source']})")
    table.add_column("image")
    for name in rows:
        table.add_column(name, justify="right")
    for n in names:
        counts = [len(r["per_image"].get(n, [])) for r in rows.values()]
        if any(counts):
            table.add_row(n, *(str(c) for c in counts))
    table.add_row("[b]all", *(f"[b]{r['false_detections']}" for r in rows.values()))
    table.add_row("images with any", *(f"{r['images_with_any']} of {r['images']}" for r in rows.values()))
    console.print(table)
    console.print(f"wrote {out}")


if __name__ == "__main__":
    app()
