"""Photo benchmark: drone photos run at the ground scale their own metadata gives, against the same
photos run as they come (the baseline, measured in the same run) and at the true scale.

    python bench/photo_bench.py                    # 4 cases x 30 held-out-look photos
    python bench/photo_bench.py --frames 10 --cases 4000x3000@30

A user's own drone photos are 4000x3000 or so, from 20-50 m: a 0.3 m bottle is 25-40 px where the
model learned it at ~13. ``riverpatrol edge detect`` (and ``model score``/``finetune``) now read the
height and lens a drone writes into each photo (XMP ``RelativeAltitude``, EXIF
``FocalLengthIn35mmFilm``: ``edge.detect.photo_scale``) and run it at the trained scale. Each case
renders held-out-look rivers straight down over the litter with a 4:3 camera of a common drone's
lens (24 mm equivalent, ``sim.camera``, exact truth), saves each frame as the drone would
(``sim.camera.drone_files``: JPEG, the 35 mm equivalent rounded to whole mm as EXIF stores it), reads it
back as the command does, and runs the shipped detector (+ verifier, at its operating point) three
ways on the same pixels: as it comes (no metadata read: the command before it read any), at the
GSD from the photo's metadata, and at the true GSD. Recall and precision at IoU 0.5 for items
>= 0.3 m (class must match; any class too), ms per photo. Writes ``bench/results/photos.json``.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as a script from anywhere
    sys.path.insert(0, str(ROOT))

from bench.machine import machine_info  # noqa: E402
from bench.scale_bench import COLUMNS, pick_cases, render_case, score, table_row  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "photos.json"
#: A common drone camera's wide lens, 35 mm equivalent: EXIF stores it rounded (24 mm), so the GSD
#: read back is ~1.7 % off the truth, as it would be from a real camera.
LENS_35MM = 24.4
CASES = {  # name -> (camera width, height, altitude m, width the photo is saved at)
    "4000x3000@20": (4000, 3000, 20.0, 4000),
    "4000x3000@30": (4000, 3000, 30.0, 4000),
    "4000x3000@45": (4000, 3000, 45.0, 4000),
    "4000x3000@20 saved at 2000x1500": (4000, 3000, 20.0, 2000),
}
app = typer.Typer(add_completion=False)


def drone_camera(width: int, height: int):
    """A 4:3 drone camera with a ``LENS_35MM`` lens and the default profile's small distortion."""
    import math

    from contract.camera import DEFAULT_DISTORTION, CameraModel, focal_px_from_35mm

    fx = focal_px_from_35mm(LENS_35MM, width, height)
    hfov = math.degrees(2 * math.atan(width / 2 / fx))
    return CameraModel.from_hfov(width, height, hfov, DEFAULT_DISTORTION, name=f"drone-{width}x{height}")


def as_photos(data: list, camera, alt_m: float, saved_width: int, folder: Path) -> tuple[list, list]:
    """Each rendered frame saved as a drone photo (resized to ``saved_width`` as a user's tool
    would, metadata kept) and read back as ``riverpatrol edge detect`` reads it: the frames with
    the photo's pixels and truth scaled with them, and each photo's ``image_gsd``."""
    import cv2
    from PIL import Image

    from edge.detect.photo_scale import image_gsd
    from sim.camera.drone_files import save_photo

    frames, read = [], []
    for k, (image, boxes, classes, sizes, visible, gsd) in enumerate(data):
        path = save_photo(folder / f"photo_{k:03d}.jpg", image, camera, alt_m)
        s = saved_width / camera.width
        if s != 1:
            with Image.open(path) as im:
                exif = im.getexif()
                small = im.resize((saved_width, round(camera.height * s)), Image.Resampling.LANCZOS)
                small.save(path, quality=92, exif=exif, xmp=im.info.get("xmp", b""))
        frames.append((cv2.imread(str(path), cv2.IMREAD_COLOR), boxes * s, classes, sizes, visible, gsd / s))
        read.append(image_gsd(path))
    return frames, read


@app.command()
def main(
    frames: Annotated[int, typer.Option(help="Photos per case.")] = 30,
    cases: Annotated[str, typer.Option(help=f"Comma-separated, of {', '.join(CASES)}.")] = ",".join(CASES),
    seed: Annotated[int, typer.Option(help="First river seed (one river per 10 photos).")] = 9700,
    domain: Annotated[str, typer.Option(help="Look of the rivers (sim.camera.appearance).")] = "heldout",
    threads: Annotated[int, typer.Option(help="onnxruntime threads.")] = 2,
    out: Annotated[Path, typer.Option(help="JSON results.")] = RESULTS,
) -> None:
    """Each case's figures run as it comes, at the GSD its metadata gives and at the true GSD."""
    import onnxruntime
    from rich.console import Console
    from rich.table import Table

    from edge.detect import Detector, DetectorConfig

    chosen = pick_cases(cases, CASES)
    console = Console()
    detector = Detector(DetectorConfig(threads=threads))
    results: dict[str, dict] = {}
    title = f"held-out-look drone photos, {frames} per case, threshold {detector.score_threshold:g}"
    table = Table(title=title)
    for col in COLUMNS:
        table.add_column(col)
    with tempfile.TemporaryDirectory(prefix="riverpatrol-photos-") as tmp:
        for name in chosen:
            w, h, alt, saved = CASES[name]
            camera = drone_camera(w, h)
            with console.status(f"rendering {name}"):
                rendered = render_case(w, h, alt, frames, seed, domain, camera=camera)
                data, read = as_photos(rendered, camera, alt, saved, Path(tmp))
            true_gsd = [f[5] for f in data]
            meta_gsd = [g for g, _ in read]
            errors = [abs(m / t - 1) for m, t in zip(meta_gsd, true_gsd, strict=True) if m]
            results[name] = {
                "camera": f"{w}x{h}, {LENS_35MM:g} mm equivalent ({camera.hfov_deg:.1f} deg HFOV)",
                "saved_width": saved,
                "altitude_m": alt,
                "frames": len(data),
                "gsd_m": round(true_gsd[0], 5) if data else None,
                "metadata_gsd_read": sum(g is not None for g in meta_gsd),
                "metadata_gsd_error_median": round(statistics.median(errors), 4) if errors else None,
                "metadata_note": read[0][1] if read else "",
            }
            console.print(f"{name}: {results[name]['metadata_note']}")
            runs = (
                ("as it comes (no metadata)", [None] * len(data)),
                ("GSD from the photo", meta_gsd),
                ("true GSD", true_gsd),
            )
            for run, gsds in runs:
                with console.status(f"{name}: {run}"):
                    r = score(detector, data, gsds)
                results[name][run] = r
                known = [g for g in gsds if g]
                gsd_cm = f"{np.mean(known) * 100:.2f}" if known else "-"
                table.add_row(*table_row(name, gsd_cm, run, r))
                console.print(f"{name} {run}: {r}")
    console.print(table)
    summary = {
        "bench": "photos",
        "model_gsd_m": detector.model_gsd_m,
        "threshold": detector.score_threshold,
        "domain": domain,
        "seed": seed,
        "baseline": "as it comes (no metadata)",
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
