"""``detect``: run the detector on images or a video and print the detections (typer app).

The lead mounts ``app`` under ``riverpatrol edge``; heavy imports stay inside the command.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from edge.detect.config import DEFAULT_MODEL

app = typer.Typer(no_args_is_help=True, add_completion=False)

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".m4v", ".webm"}


@app.callback()
def _root() -> None:
    """The on-board debris detector (ONNX): run it on images or videos."""


@app.command("detect")
def detect_cmd(
    sources: Annotated[list[Path], typer.Argument(help="Image files and/or video files.")],
    model: Annotated[Path, typer.Option(help="ONNX detector.")] = DEFAULT_MODEL,
    model_format: Annotated[str, typer.Option(help="auto | centernet | ultralytics")] = "auto",
    threads: Annotated[int, typer.Option(help="onnxruntime intra-op threads.")] = 2,
    conf: Annotated[float | None, typer.Option(help="Score threshold; default: the model's.")] = None,
    tile: Annotated[str, typer.Option(help="off | on | auto (tile frames much larger than native)")] = "auto",
    every: Annotated[int, typer.Option(min=1, help="Videos: run on every Nth frame.")] = 1,
    gsd_cm: Annotated[
        float | None,
        typer.Option(
            min=0.01,
            help="Ground sample distance of the images, cm per pixel at the water (e.g. altitude / "
            "focal length in px; drone apps show it): they are run at the model's trained scale.",
        ),
    ] = None,
    photo_scale: Annotated[
        bool,
        typer.Option(
            help="Photos without --gsd-cm: run each at the ground scale its EXIF/XMP gives (the "
            "drone's height over the lens's focal length), else as it comes.",
        ),
    ] = True,
    altitude_m: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            help="Photos: the camera's height above the water, m; with the focal length in the "
            "EXIF it gives the ground scale (default: the drone's XMP RelativeAltitude, which is "
            "above its take-off point).",
        ),
    ] = None,
    verifier: Annotated[
        bool, typer.Option(help="Second look at each candidate with the model's verifier, if it has one.")
    ] = True,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON line per frame instead of tables.")
    ] = False,
) -> None:
    """Detect floating debris in images or videos; bad files are reported and skipped."""
    import cv2
    from rich.console import Console
    from rich.table import Table

    from edge.detect.config import DetectorConfig
    from edge.detect.detector import Detector
    from edge.detect.errors import DetectorError
    from edge.detect.photo_scale import image_gsd

    console = Console(stderr=as_json)
    try:
        detector = Detector(
            DetectorConfig(
                model_path=model,
                model_format=model_format,  # type: ignore[arg-type]
                threads=threads,
                score_threshold=conf,
                tile=tile,  # type: ignore[arg-type]
                verifier="auto" if verifier else "off",
            )
        )
    except (DetectorError, ValueError) as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc

    def scale_of(path: Path, where: str) -> tuple[float | None, str]:
        """The GSD to run this frame at, and a line saying where it came from ('' if nowhere)."""
        if gsd_cm:
            return gsd_cm / 100, f"{gsd_cm:g} cm/px (given)"
        if not photo_scale or path.suffix.lower() in VIDEO_SUFFIXES:  # video frames carry no EXIF
            return None, ""
        if detector.model_gsd_m is None:
            return None, "the model has no trained ground scale (gsd_m): run as it comes"
        return image_gsd(path, altitude_m)

    def frames(path: Path):
        if path.suffix.lower() in VIDEO_SUFFIXES:
            cap = cv2.VideoCapture(str(path))
            if not cap.isOpened():
                yield f"{path}", None
                return
            index = 0
            while True:
                ok, image = cap.read()
                if not ok:
                    break
                if index % every == 0:
                    yield f"{path}#{index}", image
                index += 1
            cap.release()
        else:
            yield str(path), cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None

    bad = 0
    for source in sources:
        if not source.exists():
            bad += 1
            console.print(f"[red]skipped:[/] {source}: no such file")
            continue
        for where, image in frames(source):
            gsd_m, scale_note = scale_of(source, where)
            try:
                dets = detector.detect(image, where=where, gsd_m=gsd_m)
            except DetectorError as exc:
                bad += 1
                console.print(f"[red]skipped:[/] {exc}")
                continue
            if as_json:
                rows = [
                    {
                        "class": d.class_name,
                        "score": round(d.score, 4),
                        "box": [round(v, 1) for v in d.box],
                    }
                    for d in dets
                ]
                line = {"source": where, "detections": rows}
                if scale_note:
                    line |= {"gsd_cm": round(gsd_m * 100, 4) if gsd_m else None, "scale": scale_note}
                print(json.dumps(line))
                continue
            if scale_note:
                console.print(f"[dim]{where}: ground scale {scale_note}[/]")
            table = Table(title=f"{where}: {len(dets)} detections")
            for col in ("class", "score", "x1", "y1", "x2", "y2"):
                table.add_column(col, justify="left" if col == "class" else "right")
            for d in dets:
                table.add_row(d.class_name, f"{d.score:.3f}", *(f"{v:.1f}" for v in d.box))
            console.print(table)
    if bad:
        console.print(f"[yellow]{bad} input(s) skipped[/]")
        raise typer.Exit(1)
