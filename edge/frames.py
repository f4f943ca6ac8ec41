"""Frame sources: where the agent's pictures come from, each stamped with its capture time.

* ``sim://host:port`` (or ``tcp-frames://``): the simulated camera's feed (``contract.framewire``).
  Frames carry the vehicle's own clock (``time_boot_s``), so the pose lookup is exact.
* a video file, a camera device index (``0``) or an RTSP/HTTP(S) URL, via OpenCV: frames are
  stamped with the local monotonic clock on arrival less the camera's latency (``latency_s``,
  measured once per camera: an RTSP camera's is often 0.1-0.3 s, 1-1.5 m at patrol speed); the
  agent maps that to vehicle time with the telemetry link (``vehicle_time_at``).

A bad record (bad header, truncated or undecodable JPEG, wrong size, empty, oversized) is
skipped with a logged reason and counted in ``rejected``; it never ends the stream. A live source
that goes away (the feed's socket closes, a camera reboots, an RTSP server restarts) is connected
again until it comes back, counted in ``reconnects``; only a video file ends.
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

    @property
    def reconnects(self) -> int:
        """Times the source came back after it was lost."""
        ...

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
        self.reconnects = 0  # times frames came back after the feed was lost
        try:  # fail fast when nothing listens: "camera won't open" is a start-up error
            self._sock: socket.socket | None = socket.create_connection((host, port), connect_timeout_s)
        except OSError as e:
            raise CameraOpenError(f"camera feed {self.name}: cannot connect ({e})") from e

    def _reject(self, r: FrameReject) -> None:
        self.rejected[r.reason] += 1
        log.warning("frame skipped (%s): %s [%s]", r.reason, r.detail, self.name)

    def frames(self, stop: threading.Event) -> Iterator[CapturedFrame]:
        lost = False  # an outage is under way: logged once when it starts, once when frames are back
        while not stop.is_set():
            sock = self._sock
            if sock is None:
                try:
                    sock = socket.create_connection((self.host, self.port), 2.0)
                except OSError:
                    stop.wait(self.reconnect_delay_s)
                    continue
                self._sock = sock
            sock.settimeout(0.5)
            parser = FrameParser(self.max_payload_bytes)
            why = "closed by the camera"
            while not stop.is_set():
                try:
                    data = sock.recv(1 << 20)
                except TimeoutError:
                    continue
                except OSError as e:
                    why, data = str(e), b""
                if not data:
                    if parser.buffered:
                        self._reject(
                            FrameReject("truncated", f"{parser.buffered} bytes cut off at disconnect")
                        )
                    sock.close()
                    self._sock = None
                    if not lost:
                        lost = True
                        log.warning(
                            "camera feed %s lost (%s); reconnecting every %.1f s",
                            self.name,
                            why,
                            self.reconnect_delay_s,
                        )
                    stop.wait(self.reconnect_delay_s)
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
                    if lost:
                        lost = False
                        self.reconnects += 1
                        log.info("camera feed %s back", self.name)
                    h = item.header
                    yield CapturedFrame(h.seq, img, now, h.time_boot_s, h.utc)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class OpenCVSource:
    """A video file, a camera device index or an RTSP/HTTP URL, read with OpenCV.

    OpenCV's capture never recovers from a closed stream: once a camera reboots, an RTSP server
    restarts or a cable is pulled, ``read()`` fails for good. So a live source (a device or a URL)
    that has given no frame for ``reopen_after_s`` is released and opened again, every
    ``reopen_after_s`` until frames come back (``reconnects`` counts the opens that did). A network
    camera's open and each read give up after ``timeout_s`` rather than FFmpeg's own minutes. A file
    ends at its last frame. Each frame is stamped ``latency_s`` before it arrived.
    """

    def __init__(
        self, spec: str | int, reopen_after_s: float = 2.0, timeout_s: float = 5.0, latency_s: float = 0.0
    ) -> None:
        self.name = str(spec)
        self.spec = spec
        self.latency_s = latency_s
        self.reopen_after_s = reopen_after_s
        self.timeout_s = timeout_s
        self.rejected: Counter[str] = Counter()
        self.reconnects = 0
        self._seq = 0
        self._failed_opens = 0
        self.is_url = isinstance(spec, str) and "://" in spec
        self.is_file = isinstance(spec, str) and not self.is_url
        if self.is_file and not Path(str(spec)).is_file():
            raise CameraOpenError(f"camera {spec}: no such video file")
        self._cap = self._open()
        if not self._cap.isOpened():
            raise CameraOpenError(f"camera {spec}: OpenCV cannot open it")

    def _open(self) -> cv2.VideoCapture:
        if self.is_url:
            ms = max(1, round(self.timeout_s * 1000))
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
            return cv2.VideoCapture(self.spec, cv2.CAP_ANY, params)
        return cv2.VideoCapture(self.spec)

    def _reopen(self, silent_s: float) -> None:
        self._cap.release()
        self._cap = self._open()
        if self._cap.isOpened():
            self.reconnects += 1
            self._failed_opens = 0
            log.info("camera %s reopened after %.1f s without a frame", self.name, silent_s)
            return
        self._failed_opens += 1
        # the 1st, 2nd, 4th, 8th ... failed try: a long outage logs a few lines, not one every try
        if self._failed_opens & (self._failed_opens - 1) == 0:
            log.warning("camera %s: no frame for %.1f s and it will not open yet", self.name, silent_s)

    def frames(self, stop: threading.Event) -> Iterator[CapturedFrame]:
        failures = 0
        last_frame = last_open = time.monotonic()
        while not stop.is_set():
            ok, img = self._cap.read()
            if ok and img is not None:
                failures = 0
                last_frame = time.monotonic()
                self._seq += 1  # one numbering across reopens (and calls of frames())
                yield CapturedFrame(self._seq - 1, img, last_frame - self.latency_s)
                continue
            if self.is_file:
                return  # end of the video
            failures += 1
            if failures == 1:
                self.rejected["read_failed"] += 1
                log.warning("camera %s: read failed; reopening after %.1f s", self.name, self.reopen_after_s)
            now = time.monotonic()
            if now - max(last_frame, last_open) >= self.reopen_after_s:
                self._reopen(now - last_frame)
                last_open = time.monotonic()
            stop.wait(min(0.05 * failures, 0.5))

    def close(self) -> None:
        self._cap.release()


def open_source(
    spec: str, reopen_after_s: float = 2.0, timeout_s: float = 5.0, latency_s: float = 0.0
) -> FrameSource:
    """The frame source ``spec`` names (see module doc); ``CameraOpenError`` when it won't open.

    The other arguments apply to OpenCV sources (``OpenCVSource``); the simulator's feed carries
    its own capture times."""
    m = _SIM.match(spec)
    if m:
        return SimFeedSource(m["host"], int(m["port"]))
    if spec.startswith(("sim://", "tcp-frames://")):
        raise CameraOpenError(f"camera {spec}: expected sim://HOST:PORT")
    if spec.isdigit():
        return OpenCVSource(int(spec), reopen_after_s, timeout_s, latency_s)
    return OpenCVSource(spec, reopen_after_s, timeout_s, latency_s)
