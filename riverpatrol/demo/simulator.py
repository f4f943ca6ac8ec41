"""The demo's simulator (vehicle + camera feed) in a process of its own, as a drone is its own machine.

In its own process the simulator renders while the agent detects without the two sharing one
interpreter (measured: 455 frames in 60 s of flight against 424 in one process). It is reached as
a real drone is: MAVLink over TCP and the camera feed over a socket; the ground truth of every
frame goes to a JSON-lines file that the demo reads to score the finds. Camera faults a tester
asks for (``riverpatrol demo --frame-loss/--frame-corrupt/--camera-blackout``) are the
simulator's own (``sim.camera.faults``); the demo switches a blackout on and off from outside.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from contract import defaults
from contract.logs import configure_logging


@dataclass(frozen=True)
class SimSpec:
    """Everything the child process needs to build the same world the parent planned over."""

    segment: str
    seed: int
    debris: int
    distractors: int
    look: str
    speedup: float
    fps: float
    feed_size: tuple[int, int]
    tcp_port: int
    speed_mps: float
    truth_path: Path
    log_path: Path
    frame_loss_pct: float = 0.0  # frames rendered and never sent
    frame_corrupt_pct: float = 0.0  # frames sent with their JPEG cut short
    wind_mps: float = 0.0  # the vehicle flies in it and the debris drifts with its leeway of it
    wind_from_deg: float = 0.0
    wind_gust_mps: float = 0.0


def build_scene(spec: SimSpec):
    """The seeded river: the whole bundled river, littered so the segment holds ~``spec.debris`` items."""
    from contract import rivers
    from sim.camera import RiverScene, wind_to_ne

    segment = rivers.segment(spec.segment)  # KeyError naming the bundled ones
    river = rivers.river(segment.river)
    share = river.length_m / max(segment.length_m, 1.0)
    return RiverScene(
        seed=spec.seed,
        centerline=[(lat, lon) for lon, lat in river.coords],
        width_m=segment.width_m,
        n_debris=round(spec.debris * share),
        n_distractors=round(spec.distractors * share),
        domain=spec.look,  # type: ignore[arg-type]
        wind_to_ne_mps=wind_to_ne(spec.wind_mps, spec.wind_from_deg),
    )


def _serve(spec: SimSpec, ports: mp.Queue, stop, camera_off, counts) -> None:
    """Child process: run the vehicle and its camera until ``stop`` is set or the demo is gone."""
    # Ctrl-C reaches the whole process group: the demo stops us through ``stop``, in its own order
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()
    from contract.camera import CameraModel
    from sim.camera.faults import CameraFaults
    from sim.camera.serve import FrameServer
    from sim.settings import VehicleSettings
    from sim.vehicle import SimVehicle

    configure_logging("INFO", path=spec.log_path)
    try:
        scene = build_scene(spec)
        settings = VehicleSettings(
            tcp_port=spec.tcp_port, udp_out=[], speedup=spec.speedup, seed=spec.seed,
            wind_speed=spec.wind_mps, wind_dir=spec.wind_from_deg, wind_gust=spec.wind_gust_mps,
            gps_noise_m=0.5,
            home_lat=defaults.HOME_LAT, home_lon=defaults.HOME_LON,
            params={"DISARM_DELAY": 0, "WPNAV_SPEED": spec.speed_mps * 100},
        )  # fmt: skip
        vehicle = SimVehicle(settings)
        note = ""
        try:
            vehicle.start()
        except OSError as e:  # the usual MAVLink port is taken (another simulator?): any free one
            if not spec.tcp_port:
                raise
            note = f"MAVLink port {spec.tcp_port} taken ({e.strerror}); using a free one"
            vehicle = SimVehicle(settings.model_copy(update={"tcp_port": 0}))
            vehicle.start()
        camera = CameraModel.default().scaled(*spec.feed_size)
        faults = CameraFaults(
            drop_pct=spec.frame_loss_pct, corrupt_pct=spec.frame_corrupt_pct, seed=spec.seed
        )
        feed = FrameServer(
            scene, vehicle.snapshot, camera, fps=spec.fps, truth_path=spec.truth_path, faults=faults
        ).start()
    except Exception as e:  # reported by SimProcess.start in the parent; the details go to the log
        logging.getLogger(__name__).exception("simulator failed to start")
        ports.put(("error", f"{type(e).__name__}: {e}"))
        return
    ports.put(("ok", vehicle.tcp_port, feed.port, note))

    def report() -> None:  # what the demo's screen and summary read
        counts[:] = [feed.frames_sent, feed.frames_faulted["dropped"], feed.frames_faulted["corrupt"]]

    try:
        while not stop.wait(0.2) and os.getppid() == parent:  # a killed demo leaves no simulator behind
            feed.switched_off = camera_off.is_set()
            report()
    finally:
        feed.stop()
        vehicle.stop()
        report()  # the final counts, as the truth file has them


class SimProcess:
    """``start()`` returns once the vehicle and its camera listen; ``stop()`` ends the process."""

    def __init__(self, spec: SimSpec) -> None:
        ctx = mp.get_context("spawn")  # a clean interpreter: no threads or sockets of the parent
        self.spec = spec
        self._ports = ctx.Queue()
        self._stop = ctx.Event()
        self._camera_off = ctx.Event()
        self._counts = ctx.Array("i", 3)  # frames sent, dropped, sent corrupt
        args = (spec, self._ports, self._stop, self._camera_off, self._counts)
        self._proc = ctx.Process(target=_serve, args=args, name="riverpatrol-sim", daemon=True)
        self.tcp_port = 0
        self.feed_port = 0
        self.note = ""

    @property
    def frames_sent(self) -> int:
        return int(self._counts[0])

    @property
    def frames_faulted(self) -> tuple[int, int]:
        """Frames the simulator's camera faults dropped and corrupted so far."""
        return int(self._counts[1]), int(self._counts[2])

    @property
    def camera_off(self) -> bool:
        return self._camera_off.is_set()

    def switch_camera(self, on: bool) -> None:
        """Turn the simulated camera off (a blackout: feed closed, no frames) or back on."""
        if on:
            self._camera_off.clear()
        else:
            self._camera_off.set()

    def start(self, timeout_s: float = 90.0) -> SimProcess:
        self._proc.start()
        try:
            reply = self._ports.get(timeout=timeout_s)
        except Exception as e:  # queue.Empty: the child hung or died before it could answer
            raise RuntimeError(f"the simulator did not start within {timeout_s:.0f} s") from e
        if reply[0] != "ok":
            raise RuntimeError(f"the simulator failed to start: {reply[1]}")
        _, self.tcp_port, self.feed_port, self.note = reply
        return self

    def stop(self) -> None:
        self._stop.set()
        self._proc.join(15)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(5)
