"""``detect``: run the detector on images or a video and print the detections (typer app).

The lead mounts ``app`` under ``riverpatrol edge``; heavy imports stay inside the command.
"""

from __future__ import annotations

import json
from collections import Counter
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from edge.detect.config import DEFAULT_MODEL

app = typer.Typer(no_args_is_help=True, add_completion=False)

VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".m4v", ".webm"}


def plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def json_line(
    where: str, dets: list, located: list[dict | None], gsd_m: float | None, scale_note: str
) -> dict:
    """One frame's ``--json`` line: each detection (with its lat/lon where known) and the scale."""
    rows = [
        {"class": d.class_name, "score": round(d.score, 4), "box": [round(v, 1) for v in d.box]} | (at or {})
        for d, at in zip(dets, located, strict=True)
    ]
    line = {"source": where, "detections": rows}
    if scale_note:
        line |= {"gsd_cm": round(gsd_m * 100, 4) if gsd_m else None, "scale": scale_note}
    return line


def detections_table(dets: list, located: list[dict | None]):
    """One frame's detections as a rich table, with lat/lon columns when any is known."""
    from rich.table import Table

    table = Table()
    columns = ["class", "score", "x1", "y1", "x2", "y2"] + (["lat", "lon", "± m"] if any(located) else [])
    for col in columns:  # a narrow terminal squeezes the pixel columns, never a coordinate
        whole = {"lat": 10, "lon": 11}.get(col)
        justify = "left" if col == "class" else "right"
        table.add_column(col, justify=justify, min_width=whole, no_wrap=bool(whole))
    for d, at in zip(dets, located, strict=True):
        row = [d.class_name, f"{d.score:.3f}", *(f"{v:.0f}" for v in d.box)]  # whole pixels: JSON has more
        if len(columns) > 6:
            row += [f"{at['lat']:.7f}", f"{at['lon']:.7f}", f"{at['uncertainty_m']:.1f}"] if at else ["-"] * 3
        table.add_row(*row)
    return table


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
    metadata: Annotated[
        bool,
        typer.Option(
            help="Without --gsd-cm: run each frame at the ground scale the drone recorded (its height "
            "over the lens's focal length): a photo's EXIF/XMP, a video's .SRT telemetry beside it.",
        ),
    ] = True,
    altitude_m: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            help="The camera's height above the water, m, for the recorded lens (default: the height "
            "the drone recorded, XMP RelativeAltitude / SRT rel_alt, which is above its take-off point).",
        ),
    ] = None,
    lens_mm: Annotated[
        float | None,
        typer.Option(
            min=1.0,
            help="The camera's 35 mm-equivalent focal length, mm (drone specs quote it, e.g. 24), for "
            "files that do not record their lens; with --altitude-m it gives the ground scale.",
        ),
    ] = None,
    verifier: Annotated[
        bool, typer.Option(help="Second look at each candidate with the model's verifier, if it has one.")
    ] = True,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON line per frame instead of tables.")
    ] = False,
    save: Annotated[
        Path | None,
        typer.Option(
            help="Write each image with its detections drawn into this folder (NAME.jpg; a video's "
            "run frames as NAME.mp4).",
        ),
    ] = None,
) -> None:
    """Detect floating debris in images or videos; a drone's at the scale and place they record.

    Bad files are reported and skipped; the rest go on.
    """
    import cv2

    from contract import terminal
    from edge.detect.annotate import AnnotatedWriter
    from edge.detect.config import DetectorConfig
    from edge.detect.detector import Detector
    from edge.detect.errors import DetectorError, FrameError
    from edge.detect.image_io import read_image
    from edge.detect.recorded_scale import RecordedScales
    from edge.geolocate import GeoConfig, GeoFix, geolocate_box

    console = terminal.console(stderr=as_json)  # a log or pipe: tables whole, lat/lon not cut
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

    given_m = gsd_cm / 100 if gsd_cm else None
    scales = RecordedScales(given_m, metadata, altitude_m, detector.model_gsd_m, lens_mm)

    def video_frames(path: Path, cap, fps: float):
        """``(where, image, GSD, where the GSD came from, pose)`` of each video frame to run."""
        index = 0
        while True:
            ok, image = cap.read()
            if not ok:
                break
            if index % every == 0:
                h, w = image.shape[:2]
                yield f"{path}#{index}", image, *scales.of_video_frame(path, index / fps, w, h), None
            index += 1

    def positions(pose, dets) -> list[dict | None]:
        """Each detection's lat/lon where the photo says where it was taken and which way it looked."""
        if pose is None:
            return [None] * len(dets)
        camera_pose, camera = pose
        config = GeoConfig(camera=camera)
        fixes = [geolocate_box(d.box, camera_pose, config) for d in dets]
        return [
            {"lat": round(f.lat, 7), "lon": round(f.lon, 7), "uncertainty_m": round(f.uncertainty_m, 1)}
            if isinstance(f, GeoFix)
            else None
            for f in fixes
        ]

    if save:
        save.mkdir(parents=True, exist_ok=True)

    bad, saved, frames = 0, 0, 0
    found: Counter[str] = Counter()
    for source in sources:
        if not source.exists():
            bad += 1
            console.print(f"[red]skipped:[/] {source}: no such file")
            continue
        video = source.suffix.lower() in VIDEO_SUFFIXES
        cap = cv2.VideoCapture(str(source)) if video else None
        if cap is not None and cap.isOpened():
            fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
            runs = video_frames(source, cap, fps)
        elif cap is not None:  # not a video OpenCV can open: the detector reports the empty frame
            fps, runs = 30.0, iter([(str(source), None, None, "", None)])
        else:
            try:
                image = read_image(source)
            except FrameError as exc:
                bad += 1
                console.print(f"[red]skipped:[/] {exc}")
                continue
            fps, runs = 30.0, iter([(str(source), image, *scales.of_photo(source))])
        # annotated frames (--save): a JPEG, or an mp4 of a video's run frames at their own pace
        writer = AnnotatedWriter(save, source, video, fps / every) if save else nullcontext()
        with writer as out:
            last_note = ""
            for where, image, gsd_m, scale_note, pose in runs:
                try:
                    dets = detector.detect(image, where=where, gsd_m=gsd_m)
                except DetectorError as exc:
                    bad += 1
                    console.print(f"[red]skipped:[/] {exc}")
                    continue
                if out:
                    out.write(image, dets)
                    saved += 1
                located = positions(pose, dets)
                frames += 1
                found.update(d.class_name for d in dets)
                if as_json:
                    print(json.dumps(json_line(where, dets, located, gsd_m, scale_note)))
                    continue
                if scale_note and scale_note != last_note:
                    said = scale_note if scale_note.startswith("ground") else f"ground scale: {scale_note}"
                    console.print(f"{where}: {said}", style="dim", markup=False)
                    last_note = scale_note
                console.print(f"{where}: {plural(len(dets), 'detection')}", markup=False, soft_wrap=True)
                if dets:
                    console.print(detections_table(dets, located))
        if cap is not None:
            cap.release()
    by_class = ", ".join(f"{n} {name}" for name, n in sorted(found.items()))
    console.print(
        f"{plural(frames, 'frame')} run: {plural(found.total(), 'detection')}"
        + (f" ({by_class})" if by_class else ""),
        soft_wrap=True,
    )
    if save:
        console.print(f"wrote {saved} annotated frame(s) to {save}")
    if bad:
        console.print(f"[yellow]{bad} input(s) skipped[/]")
        raise typer.Exit(1)
