"""Frame sources: where the agent's pictures come from, each stamped with its capture time.

* ``sim://host:port`` (or ``tcp-frames://``): the simulated camera's feed (``contract.framewire``).
  Frames carry the vehicle's own clock (``time_boot_s``), so the pose lookup is exact.
* a video file, a camera device index (``0``) or an RTSP/HTTP(S) URL, via OpenCV: frames are
  stamped with the local monotonic clock on arrival; the agent maps that to vehicle time with
  the telemetry link (``vehicle_time_at``), which is as good as the camera's latency is small.

A bad record (bad header, truncated or undecodable JPEG, wrong size, empty, oversized) is
skipped with a logged reason and counted in ``rejected``; it never ends the stream.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from contract.framewire import MAX_PAYLOAD_BYTES, FrameParser, FrameRecord, FrameReject
from edge.detect.image_io import jpeg_truncated

log = logging.getLogger(__name__)

_SIM = re.compile(r"^(?:sim|tcp-frames)://(?P<host>[^:/]+):(?P<port>\d+)/?$")


class CameraOpenError(OSError):
    """The camera, file or feed cannot be opened; the message says which and why."""


@dataclass(frozen=True, slots=True)
class CapturedFrame:
    """One picture and when it was taken."""

    seq: int
    image: np.ndarray  # HxWx3 uint8 BGR
    monotonic: float  # local time.monotonic() when it arrived
    time_boot_s: float | None = None  # vehicle clock, when the source knows it
    utc: float | None = None


class FrameSource(Protocol):
    name: str
    rejected: Counter[str]

    def frames(self, stop: threading.Event) -> Iterator[CapturedFrame]:
        """Frames until the source ends or ``stop`` is set."""
        ...

    def close(self) -> None: ...


def decode_record(rec: FrameRecord) -> np.ndarray | FrameReject:
    """The BGR image of a wire record, or why it is unusable."""
    h = rec.header
    if h.encoding == "bgr":
        want = h.width * h.height * 3
        if len(rec.payload) != want:
            return FrameReject(
                "wrong_size", f"frame {h.seq}: {len(rec.payload)} raw bytes, expected {h.width}x{h.height}x3"
            )
        return np.frombuffer(rec.payload, np.uint8).reshape(h.height, h.width, 3)
    if jpeg_truncated(rec.payload):
        return FrameReject(
            "bad_jpeg", f"frame {h.seq}: JPEG is truncated ({len(rec.payload)} bytes, no end-of-image marker)"
        )
    img = cv2.imdecode(np.frombuffer(rec.payload, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        return FrameReject("bad_jpeg", f"frame {h.seq}: {len(rec.payload)} bytes are not a decodable JPEG")
    if img.shape[:2] != (h.height, h.width):
        return FrameReject(
            "wrong_size",
            f"frame {h.seq}: JPEG is {img.shape[1]}x{img.shape[0]}, header says {h.width}x{h.height}",
        )
    return img


class SimFeedSource:
    """Client of the simulated camera feed; reconnects when the feed goes away."""

    def __init__(
        self,
        host: str,
        port: int,
        connect_timeout_s: float = 5.0,
        reconnect_delay_s: float = 0.5,
        max_payload_bytes: int = MAX_PAYLOAD_BYTES,
    ) -> None:
        self.name = f"sim://{host}:{port}"
        self.host, self.port = host, port
        self.reconnect_delay_s = reconnect_delay_s
        self.max_payload_bytes = max_payload_bytes
        self.rejected: Counter[str] = Counter()
        self.connects = 0
        try:  # fail fast when nothing listens: "camera won't open" is a start-up error
            self._sock: socket.socket | None = socket.create_connection((host, port), connect_timeout_s)
        except OSError as e:
            raise CameraOpenError(f"camera feed {self.name}: cannot connect ({e})") from e
        self.connects = 1

    def _reject(self, r: FrameReject) -> None:
        self.rejected[r.reason] += 1
        log.warning("frame skipped (%s): %s [%s]", r.reason, r.detail, self.name)

    def frames(self, stop: threading.Event) -> Iterator[CapturedFrame]:
        while not stop.is_set():
            sock = self._sock
            if sock is None:
                try:
                    sock = socket.create_connection((self.host, self.port), 2.0)
                    self.connects += 1
                    log.info("camera feed reconnected %s", self.name)
                except OSError:
                    stop.wait(self.reconnect_delay_s)
                    continue
                self._sock = sock
            sock.settimeout(0.5)
            parser = FrameParser(self.max_payload_bytes)
            while not stop.is_set():
                try:
                    data = sock.recv(1 << 20)
                except TimeoutError:
                    continue
                except OSError as e:
                    log.warning("camera feed %s lost: %s", self.name, e)
                    data = b""
                if not data:
                    if parser.buffered:
                        self._reject(
                            FrameReject("truncated", f"{parser.buffered} bytes cut off at disconnect")
                        )
                    sock.close()
                    self._sock = None
                    break
                now = time.monotonic()
                for item in parser.feed(data):
                    if isinstance(item, FrameReject):
                        self._reject(item)
                        continue
                    img = decode_record(item)
                    if isinstance(img, FrameReject):
                        self._reject(img)
                        continue
                    h = item.header
                    yield CapturedFrame(h.seq, img, now, h.time_boot_s, h.utc)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class OpenCVSource:
    """A video file, a camera device index or an RTSP/HTTP URL, read with OpenCV."""

    def __init__(self, spec: str | int) -> None:
        self.name = str(spec)
        self.rejected: Counter[str] = Counter()
        self.is_file = isinstance(spec, str) and "://" not in spec
        if self.is_file and not Path(str(spec)).is_file():
            raise CameraOpenError(f"camera {spec}: no such video file")
        self._cap = cv2.VideoCapture(spec)
        if not self._cap.isOpened():
            raise CameraOpenError(f"camera {spec}: OpenCV cannot open it")

    def frames(self, stop: threading.Event) -> Iterator[CapturedFrame]:
        seq = 0
        failures = 0
        while not stop.is_set():
            ok, img = self._cap.read()
            if not ok or img is None:
                if self.is_file:
                    return  # end of the video
                failures += 1
                self.rejected["read_failed"] += 1
                log.warning("camera %s: read failed (%d in a row)", self.name, failures)
                stop.wait(min(0.1 * failures, 2.0))
                continue
            failures = 0
            yield CapturedFrame(seq, img, time.monotonic())
            seq += 1

    def close(self) -> None:
        self._cap.release()


def open_source(spec: str) -> FrameSource:
    """The frame source ``spec`` names (see module doc); ``CameraOpenError`` when it won't open."""
    m = _SIM.match(spec)
    if m:
        return SimFeedSource(m["host"], int(m["port"]))
    if spec.startswith(("sim://", "tcp-frames://")):
        raise CameraOpenError(f"camera {spec}: expected sim://HOST:PORT")
    if spec.isdigit():
        return OpenCVSource(int(spec))
    return OpenCVSource(spec)
