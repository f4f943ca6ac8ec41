"""A live HTTP MJPEG camera for tests (what an IP camera or `ffmpeg -f mpjpeg` serves), read by
OpenCV's own FFmpeg backend over a real socket.

Each frame is one grey level, ``10 * connection + frame`` (mod 250), so a reader can tell which
connection a frame came from. ``frames_per_connection`` ends each stream after that many frames
(a camera rebooting); ``hold`` cleared makes the server keep the connection open and send nothing
(a camera that hangs) until it is set again.
"""

from __future__ import annotations

import itertools
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np


class MjpegCamera:
    def __init__(self, port: int, frames_per_connection: int = 1_000_000, fps: float = 25.0) -> None:
        self.port = port
        self.frames_per_connection = frames_per_connection
        self.interval = 1.0 / fps
        self.hold = threading.Event()
        self.hold.set()  # set: frames flow; cleared: the connection stays open, silent
        self.connections = 0
        self._ids = itertools.count()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/stream.mjpg"

    def start(self) -> MjpegCamera:
        camera = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                conn = next(camera._ids)
                camera.connections += 1
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                for i in range(camera.frames_per_connection):
                    while not camera.hold.wait(0.05):
                        if camera._server is None:
                            return
                    if camera._server is None:  # stopped: drop the connection as a dead camera would
                        return
                    img = np.full((48, 64, 3), (10 * conn + i) % 250, np.uint8)
                    jpeg = cv2.imencode(".jpg", img)[1].tobytes()
                    part = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg)
                    try:
                        self.wfile.write(part + jpeg + b"\r\n")
                        self.wfile.flush()
                    except OSError:
                        return
                    time.sleep(camera.interval)

            def log_message(self, *args) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, name="mjpeg", daemon=True).start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
