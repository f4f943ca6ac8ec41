"""``riverpatrol sim camera``: render frames (PNG/JPEG + truth JSON) or a video along the river."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Annotated

import typer

from contract.logs import configure_logging
from sim.camera.appearance import DOMAINS

app = typer.Typer(no_args_is_help=True, add_completion=False)
log = logging.getLogger("riverpatrol.sim.camera")


def _positive(value: float | None) -> float | None:
    """Option callback: a height, duration or rate, when given, must be more than 0 (nan is not)."""
    if value is not None and not value > 0:
        raise typer.BadParameter(f"must be more than 0, not {value:g}")
    return value


Seed = Annotated[int, typer.Option(help="scene seed (water, light, debris, bridges)")]
Alt = Annotated[float, typer.Option(help="height above the water, metres", callback=_positive)]
Gimbal = Annotated[float, typer.Option(help="gimbal pitch, -90 = straight down")]
Debris = Annotated[int, typer.Option(min=0, help="debris items in the scene (0 = debris-free)")]
Domain = Annotated[str, typer.Option(help=f"appearance domain: {', '.join(DOMAINS)}")]
Calib = Annotated[Path | None, typer.Option(help="camera calibration JSON (default drone profile)")]


@app.callback()
def _root() -> None:
    """Synthetic aerial camera over a river, with exact ground truth."""


def _setup(seed: int, debris: int, domain: str, calibration: Path | None):
    from contract.camera import CameraModel
    from sim.camera import RiverScene

    if domain not in DOMAINS:
        raise typer.BadParameter(f"--domain must be one of {', '.join(DOMAINS)}, got {domain!r}")
    try:
        camera = CameraModel.load(calibration) if calibration else CameraModel.default()
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--calibration") from e
    return RiverScene(seed=seed, n_debris=debris, domain=domain), camera  # type: ignore[arg-type]


def _pose_along(scene, s: float, lateral: float, alt: float, gimbal: float, yaw: float | None):
    """A pose above the river at arc length ``s``, heading downstream unless ``yaw`` is given."""
    import math

    from contract.camera import CameraPose

    n, e = scene.river.point_at(s, lateral)
    d = scene.river.direction_at(s)
    lat, lon = scene.to_lat_lon(float(n), float(e))
    heading = math.degrees(math.atan2(d[1], d[0])) % 360 if yaw is None else yaw
    return CameraPose(lat=lat, lon=lon, alt_m=alt, yaw_deg=heading, gimbal_pitch_deg=gimbal)


@app.command()
def render(
    out: Annotated[Path, typer.Option(help="output folder")] = Path("camera_frames"),
    frames: Annotated[int, typer.Option(min=1, help="number of frames, spread along the river")] = 4,
    seed: Seed = 1,
    alt: Alt = 40.0,
    gimbal: Gimbal = -90.0,
    yaw: Annotated[float | None, typer.Option(help="heading, degrees (default: downstream)")] = None,
    debris: Debris = 80,
    domain: Domain = "train",
    fmt: Annotated[
        str, typer.Option("--format", help="png, or jpg: a drone photo with its height and lens in EXIF/XMP")
    ] = "png",
    calibration: Calib = None,
    boxes: Annotated[bool, typer.Option(help="also write copies with truth boxes drawn")] = False,
) -> None:
    """Render a few frames to images plus one truth JSON per frame."""
    import cv2
    from rich.progress import track

    from sim.camera import Renderer
    from sim.camera.drone_files import save_photo

    if fmt not in ("png", "jpg"):
        raise typer.BadParameter(f"--format must be png or jpg, got {fmt!r}")
    scene, camera = _setup(seed, debris, domain, calibration)
    renderer = Renderer(scene)
    out.mkdir(parents=True, exist_ok=True)
    step = scene.river.length_m / (frames + 1)
    for i in track(range(frames), description="rendering"):
        pose = _pose_along(scene, step * (i + 1), 0.0, alt, gimbal, yaw)
        frame = renderer.render(pose, camera, t=float(i))
        stem = out / f"frame_{i:04d}"
        if fmt == "jpg":  # as a drone saves a photo: EXIF lens and XMP height, for edge detect to read
            quality = scene.appearance.jpeg_quality or 90
            save_photo(
                f"{stem}.jpg",
                frame.image,
                camera,
                alt,
                gimbal_pitch_deg=gimbal,
                yaw_deg=pose.yaw_deg,
                quality=quality,
                lat=pose.lat,
                lon=pose.lon,
            )
        else:
            cv2.imwrite(f"{stem}.{fmt}", frame.image)
        Path(f"{stem}.json").write_text(json.dumps(frame.truth_dict(), indent=1))
        if boxes:
            img = frame.image.copy()
            for b, colour in [(b, (0, 0, 255)) for b in frame.truth] + [
                (b, (255, 200, 0)) for b in frame.distractors
            ]:
                cv2.rectangle(img, (int(b.x1), int(b.y1)), (int(b.x2), int(b.y2)), colour, 2)
                cv2.putText(
                    img, b.kind, (int(b.x1), max(int(b.y1) - 4, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1
                )
            cv2.imwrite(f"{stem}_boxes.jpg", img)
    log.info("frames written", extra={"path": str(out), "frames": frames})
    typer.echo(f"wrote {frames} frames to {out}")


@app.command()
def video(
    out: Annotated[Path, typer.Option(help="output .mp4")] = Path("camera.mp4"),
    seconds: Annotated[float, typer.Option(help="duration", callback=_positive)] = 10.0,
    fps: Annotated[float, typer.Option(help="frames per second", callback=_positive)] = 30.0,
    speed: Annotated[float, typer.Option(help="ground speed along the river, m/s")] = 6.0,
    seed: Seed = 1,
    alt: Alt = 40.0,
    gimbal: Gimbal = -90.0,
    debris: Debris = 80,
    domain: Domain = "train",
    start: Annotated[float, typer.Option(help="start at this arc length along the river, m")] = 100.0,
    calibration: Calib = None,
    alt_end: Annotated[
        float | None,
        typer.Option(
            help="height at the end, m: climb or descend from --alt (default: level)", callback=_positive
        ),
    ] = None,
) -> None:
    """Fly down the river centerline and write an mp4, with truth JSON lines and the DJI-style .SRT
    telemetry track (height, lens, position per frame) next to it."""
    import cv2
    from rich.progress import track

    from sim.camera import Renderer
    from sim.camera.drone_files import VideoFrameLog, focal_35mm, srt_text

    scene, camera = _setup(seed, debris, domain, calibration)
    renderer = Renderer(scene)
    n = int(seconds * fps)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, (camera.width, camera.height))
    if not writer.isOpened():
        raise typer.BadParameter(f"cannot open a video writer for {out}")
    t0 = time.perf_counter()
    telemetry: list[VideoFrameLog] = []
    with out.with_suffix(".jsonl").open("w") as truth:
        for i in track(range(n), description="rendering video"):
            t = i / fps
            height = alt if alt_end is None else alt + (alt_end - alt) * i / max(1, n - 1)
            pose = _pose_along(scene, start + speed * t, 0.0, height, gimbal, None)
            try:
                frame = renderer.render(pose, camera, t=t)
            except ValueError as e:  # a pose that sees no water: say so, count it, keep flying
                log.warning("frame %d skipped: %s", i, e)
                continue
            writer.write(frame.image)
            truth.write(json.dumps(frame.truth_dict()) + "\n")
            telemetry.append(
                VideoFrameLog(pose.lat, pose.lon, height, focal_35mm(camera), gimbal, pose.yaw_deg)
            )
    writer.release()
    out.with_suffix(".SRT").write_text(srt_text(telemetry, fps))
    dt = time.perf_counter() - t0
    log.info("video written", extra={"path": str(out), "frames": n, "fps": round(n / dt, 1)})
    typer.echo(f"wrote {n} frames to {out} ({n / dt:.1f} frames/s including encoding)")


@app.command()
def bench(
    frames: Annotated[int, typer.Option(min=1, help="frames per measurement")] = 60,
    seed: Seed = 1,
    alt: Alt = 40.0,
    speed: Annotated[float, typer.Option(help="ground speed for the flying measurement, m/s")] = 10.0,
    threads: Annotated[int, typer.Option(help="OpenCV threads (1 = one core)")] = 1,
    calibration: Calib = None,
) -> None:
    """Frames per second: hovering (warm caches) and flying down the river (new ground streams in)."""
    import platform

    import cv2

    from sim.camera import Renderer

    cv2.setNumThreads(threads)
    scene, camera = _setup(seed, 80, "train", calibration)
    result = {"camera": f"{camera.width}x{camera.height}", "alt_m": alt, "opencv_threads": threads}
    renderer = Renderer(scene)
    pose = _pose_along(scene, 300.0, 0.0, alt, -90.0, None)
    t0 = time.perf_counter()
    renderer.render(pose, camera, 0.0)
    result["first_frame_s"] = round(time.perf_counter() - t0, 3)
    # wall-clock fps, and fps from this process' CPU time (what one free core would give on a
    # machine shared with other work)
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(frames):
        renderer.render(pose, camera, i / 30)
    result["hover_fps"] = round(frames / (time.perf_counter() - t0), 1)
    result["hover_fps_cpu"] = round(frames / (time.process_time() - c0), 1)
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(frames):
        renderer.render(_pose_along(scene, 300.0 + speed * i / 30, 0.0, alt, -90.0, None), camera, i / 30)
    result["flying_fps"] = round(frames / (time.perf_counter() - t0), 1)
    result["flying_fps_cpu"] = round(frames / (time.process_time() - c0), 1)
    result["machine"] = (
        f"{platform.processor() or platform.machine()} load={__import__('os').getloadavg()[0]:.1f}"
    )
    typer.echo(json.dumps(result))


_FAULT_OPTIONS = {
    "drop_pct": "--frame-loss",
    "corrupt_pct": "--frame-corrupt",
    "blackouts": "--camera-blackout",
}


@app.command()
def serve(
    port: Annotated[
        int, typer.Option(help="TCP port of the camera feed (sim://HOST:PORT for the edge)")
    ] = 5600,
    host: Annotated[str, typer.Option(help="address the feed binds")] = "127.0.0.1",
    vehicle_port: Annotated[int, typer.Option(help="MAVLink TCP port of the vehicle started with it")] = 5760,
    speedup: Annotated[float, typer.Option(help="simulated seconds per wall second")] = 1.0,
    fps: Annotated[float, typer.Option(help="frames per simulated second")] = 5.0,
    width: Annotated[int, typer.Option(help="frame width (the lens is scaled)")] = 1920,
    height: Annotated[int, typer.Option(help="frame height")] = 1080,
    seed: Seed = 1,
    debris: Debris = 80,
    domain: Domain = "train",
    calibration: Calib = None,
    truth: Annotated[Path | None, typer.Option(help="append each frame's ground truth here (JSONL)")] = None,
    frame_loss: Annotated[float, typer.Option(help="frames lost before they reach the edge, %")] = 0.0,
    frame_corrupt: Annotated[float, typer.Option(help="frames sent with their JPEG cut short, %")] = 0.0,
    camera_blackout: Annotated[
        list[str] | None,
        typer.Option(help="START:END simulated seconds with no camera: feed closed (repeatable)"),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            help="TOML file whose \\[sim.vehicle] table sets up the vehicle (wind, GPS noise, link faults, "
            "home ...; RIVERPATROL_SIM_VEHICLE__* in the env too); --vehicle-port and --speedup win"
        ),
    ] = None,
) -> None:
    """Run a simulated vehicle with its camera: MAVLink on --vehicle-port, frames on --port, until Ctrl-C.

    Camera faults (seeded by --seed; each frame's fate is in the --truth record) test how the edge
    lives through lost and corrupt frames and a camera that goes away.
    """
    from dataclasses import replace

    from pydantic import ValidationError

    from contract.settings import SettingsError
    from sim.camera import wind_to_ne
    from sim.camera.faults import CameraFaults
    from sim.camera.serve import FrameServer
    from sim.settings import SimSettings
    from sim.vehicle import SimVehicle

    try:
        vehicle_settings = SimSettings.vehicle_with(config, {"tcp_port": vehicle_port, "speedup": speedup})
    except SettingsError as e:  # the two vehicle options given here, or the file's values
        field = e.fields[0] if e.fields else ""
        hint = {"tcp_port": "--vehicle-port", "speedup": "--speedup"}.get(field, "--config")
        raise typer.BadParameter(str(e), param_hint=hint) from None

    try:
        faults = CameraFaults(
            drop_pct=frame_loss, corrupt_pct=frame_corrupt, blackouts=camera_blackout or [], seed=seed
        )
    except ValidationError as e:
        err = e.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else ""
        hint = _FAULT_OPTIONS.get(field, "--frame-loss + --frame-corrupt")
        raise typer.BadParameter(err["msg"].removeprefix("Value error, "), param_hint=hint) from e
    configure_logging("INFO", fmt="auto")
    scene, camera = _setup(seed, debris, domain, calibration)
    # the debris drifts in the wind the vehicle flies in (its leeway of it)
    scene = replace(scene, wind_to_ne_mps=wind_to_ne(vehicle_settings.wind_speed, vehicle_settings.wind_dir))
    if (width, height) != (camera.width, camera.height):
        camera = camera.scaled(width, height)
    vehicle = SimVehicle(vehicle_settings)
    try:
        vehicle.start()
        feed = FrameServer(
            scene, vehicle.snapshot, camera, fps=fps, host=host, port=port, truth_path=truth, faults=faults
        )
    except (OSError, ValueError) as e:
        vehicle.stop()
        raise typer.BadParameter(str(e)) from e
    try:  # from here on Ctrl-C stops both cleanly, even during start-up (the ports are already open)
        feed.start()
        typer.echo(
            f"vehicle on tcp:127.0.0.1:{vehicle.tcp_port}, camera feed on sim://{host}:{feed.port} "
            f"({width}x{height} at {fps:g} fps of simulated time, speedup {speedup:g})"
        )
        while True:
            time.sleep(5)
            log.info(
                "camera feed frames=%d clients=%d failed=%d dropped=%d corrupt=%d%s",
                feed.frames_sent,
                feed.clients,
                feed.frames_failed,
                feed.frames_faulted["dropped"],
                feed.frames_faulted["corrupt"],
                " (blackout)" if feed.dark else "",
            )
    except KeyboardInterrupt:
        pass
    finally:
        feed.stop()
        vehicle.stop()
