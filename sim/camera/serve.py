"""The simulated camera as a network feed: what the drone's camera sees, streamed to the edge agent.

The edge never imports the simulator, so the camera reaches it the way a real one would, over a
socket (``contract.framewire``). Frames are rendered from the vehicle's TRUE pose (the
``snapshot`` callable, e.g. ``SimVehicle.snapshot``, read in-process) every ``1 / fps`` seconds
of *simulated* time, and stamped with the vehicle's clock, so the edge's ``pose_at`` lookup is
exact at any speedup. When rendering cannot keep up, frames are spaced further apart (the next
frame is rendered at the current simulated time); nothing queues up.

The water is at home level: the camera's height above the water is the vehicle's ``alt_rel``.
Ground truth (debris and distractor boxes with lat/lon, per frame) is NOT on the stream: it
goes to ``truth_path`` as JSON lines and to ``FrameServer.truth`` for tests, each record with the
frame's ``fate`` under ``faults`` (``sim.camera.faults``): sent, dropped or corrupt. In a
blackout window, or while ``switched_off``, no frame is rendered and the feed's connections
are closed.
"""

from __future__ import annotations

import collections
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
from prometheus_client import Counter

from contract.camera import CameraModel, CameraMount, CameraPose
from contract.framewire import FrameHeader, encode_record
from sim.camera.faults import CameraFaults
from sim.camera.render import Renderer
from sim.camera.scene import RiverScene

log = logging.getLogger(__name__)

FRAMES_SERVED = Counter("riverpatrol_sim_camera_frames_served", "Frames sent to feed clients")
FRAMES_FAILED = Counter("riverpatrol_sim_camera_frames_failed", "Frames not rendered or not sent", ["reason"])
FRAMES_FAULTED = Counter(
    "riverpatrol_sim_camera_frames_faulted", "Frames dropped or corrupted by fault injection", ["fate"]
)


class FrameServer:
    """Renders the vehicle's view at ``fps`` (simulated time) and sends it to every TCP client."""

    def __init__(
        self,
        scene: RiverScene,
        snapshot: Callable[[], Any],
        camera: CameraModel | None = None,
        fps: float = 5.0,
        host: str = "127.0.0.1",
        port: int = 0,
        mount: CameraMount | None = None,
        truth_path: Path | str | None = None,
        jpeg_quality: int = 90,
        min_alt_m: float = 2.0,
        send_timeout_s: float = 5.0,
        faults: CameraFaults | None = None,
    ) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be > 0, got {fps}")
        self.scene = scene
        self.snapshot = snapshot
        self.camera = camera or CameraModel.default()
        self.fps = fps
        self.mount = mount or CameraMount()
        self.renderer = Renderer(scene, self.mount)
        self.jpeg_quality = jpeg_quality
        self.min_alt_m = min_alt_m
        self.send_timeout_s = send_timeout_s
        self.faults = faults or CameraFaults()
        self.dark = False  # inside a blackout window, or switched off
        #: A tester's switch: True turns the camera off (as a blackout window does) until set False
        self.switched_off = False
        self.truth: list[dict] = []
        self.frames_sent = 0  # dropped frames (fault injection) are not sent
        self.frames_failed = 0
        self.frames_faulted: collections.Counter[str] = collections.Counter()
        # held open for the server's lifetime, closed in stop()
        self._truth_file = Path(truth_path).open("a") if truth_path else None  # noqa: SIM115
        self._listener = socket.create_server((host, port))
        self.port: int = self._listener.getsockname()[1]
        self._clients: list[socket.socket] = []
        self._lock = threading.Lock()
        self._inject: list[bytes] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._seq = 0

    def start(self) -> FrameServer:
        for target, name in ((self._accept, "camera-accept"), (self._run, "camera-render")):
            th = threading.Thread(target=target, name=name, daemon=True)
            th.start()
            self._threads.append(th)
        log.info("camera feed listening port=%d fps=%.1f size=%dx%d", self.port, self.fps, *self.size)
        return self

    @property
    def size(self) -> tuple[int, int]:
        return self.camera.width, self.camera.height

    @property
    def clients(self) -> int:
        with self._lock:
            return len(self._clients)

    def inject(self, data: bytes) -> None:
        """Send raw bytes to every client before the next frame (tests: malformed records)."""
        with self._lock:
            self._inject.append(data)

    def stop(self) -> None:
        self._stop.set()
        for th in self._threads:
            th.join(5)
        self._listener.close()
        with self._lock:
            for c in self._clients:
                c.close()
            self._clients.clear()
        if self._truth_file:
            self._truth_file.close()

    def __enter__(self) -> FrameServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept(self) -> None:
        self._listener.settimeout(0.2)  # closing a socket does not wake accept(): poll the stop flag
        while not self._stop.is_set():
            try:
                conn, addr = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.dark:  # no camera: the connection is refused as soon as it is made
                conn.close()
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.settimeout(self.send_timeout_s)
            with self._lock:
                self._clients.append(conn)
            log.info("camera feed client connected from %s:%d", *addr)

    def pose_of(self, s: Any) -> CameraPose:
        """The camera pose for a vehicle snapshot (true position and attitude, water at home level)."""
        return CameraPose(
            lat=s.lat, lon=s.lon, alt_m=s.alt_rel, roll_deg=s.roll, pitch_deg=s.pitch, yaw_deg=s.yaw
        )

    def _run(self) -> None:
        next_t = -1.0
        while not self._stop.is_set():
            s = self.snapshot()
            if self._blackout(s.t):
                time.sleep(0.005)
                continue
            if s.t < next_t or s.alt_rel < self.min_alt_m or not self.clients:
                time.sleep(0.005)
                continue
            step = 1.0 / self.fps
            # On schedule (within a quarter period): keep the phase. Behind (a slow render): the
            # next frame is one period after this one, never a burst to catch up.
            next_t = next_t + step if s.t - next_t < 0.25 * step else s.t + step
            try:
                self._serve_one(s)
            except Exception as e:  # a render or encode bug must not stop the feed
                self.frames_failed += 1
                FRAMES_FAILED.labels(reason=type(e).__name__).inc()
                log.warning("camera frame at t=%.3f failed: %s", s.t, e)

    def _blackout(self, t: float) -> bool:
        """Enter or leave a blackout (a window at simulated time ``t``, or the switch); whether it is
        dark now."""
        dark = self.switched_off or self.faults.blackout(t)
        if dark != self.dark:
            self.dark = dark
            log.warning("camera blackout %s t=%.2f", "start: feed connections closed" if dark else "end", t)
        if dark:
            with self._lock:
                clients, self._clients = self._clients, []
            for c in clients:
                c.close()
        return dark

    def _record(self, s: Any, image: Any, fate: str) -> bytes:
        """Frame ``self._seq`` on the wire: its JPEG (cut short when ``fate`` is corrupt) and header."""
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        if not ok:
            raise ValueError("JPEG encoding failed")
        jpeg = buf.tobytes()
        if fate == "corrupt":
            jpeg = self.faults.corrupt(self._seq, jpeg)
        header = FrameHeader(
            seq=self._seq,
            time_boot_s=s.t,
            utc=s.unix_time,
            width=self.camera.width,
            height=self.camera.height,
            encoding="jpeg",
        )
        return encode_record(header, jpeg)

    def _serve_one(self, s: Any) -> None:
        frame = self.renderer.render(self.pose_of(s), self.camera, t=s.t)
        fate = self.faults.fate(self._seq)
        # a lost frame is rendered for its truth record but never encoded
        sent = [] if fate == "dropped" else [self._record(s, frame.image, fate)]
        truth = {
            "seq": self._seq,
            "time_boot_s": s.t,
            "fate": fate,
            "truth": [b.as_dict() for b in frame.truth],
            "distractors": [b.as_dict() for b in frame.distractors],
            "pose": frame.pose.model_dump(),
        }
        self._seq += 1
        self.truth.append(truth)
        if self._truth_file:
            self._truth_file.write(json.dumps(truth) + "\n")
            self._truth_file.flush()
        if fate != "sent":
            self.frames_faulted[fate] += 1
            FRAMES_FAULTED.labels(fate=fate).inc()
        with self._lock:
            blobs, self._inject = [*self._inject, *sent], []
            clients = list(self._clients)
        for c in clients:
            try:
                for b in blobs:
                    c.sendall(b)
            except OSError as e:
                FRAMES_FAILED.labels(reason="client_gone").inc()
                log.info("camera feed client dropped: %s", e)
                with self._lock:
                    self._clients.remove(c)
                c.close()
        if sent:
            self.frames_sent += 1
            FRAMES_SERVED.inc()
