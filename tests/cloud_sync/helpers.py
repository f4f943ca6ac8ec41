"""Real local HTTP receivers for the sync tests: a recording webhook and a small SensorThings server."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import uvicorn


def feature(item: str, drone: str = "drone-1", status: str = "open", revision: int = 0, **props: Any) -> dict:
    """A debris Feature shaped like the core's OGC item."""
    lon, lat = 114.0632 + len(item) * 1e-5, 22.5205
    return {
        "type": "Feature",
        "id": item,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "status": status,
            "class": "bottle",
            "confidence": 0.87,
            "drone": drone,
            "last_seen": "2026-11-25T04:00:00Z",
            "received_at": "2026-11-25T04:00:03Z",
            "revision": revision,
            **props,
        },
    }


def new_id() -> str:
    return str(uuid.uuid4())


class Recorder:
    """Webhook receiver on a fixed port; ``fail_next`` answers 500 to that many requests first."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[dict[str, Any]] = []
        self.attempts = 0
        self.fail_next = 0
        self.reject_keys: set[str] = set()
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with rec._lock:
                    rec.attempts += 1
                    if rec.fail_next > 0:
                        rec.fail_next -= 1
                        code = 500
                    elif json.loads(body).get("id") in rec.reject_keys:
                        code = 422
                    else:
                        code = 204
                        rec.received.append(
                            {
                                "feature": json.loads(body),
                                "event": self.headers["X-RiverPatrol-Event"],
                                "key": self.headers["Idempotency-Key"],
                                "content_type": self.headers["Content-Type"],
                            }
                        )
                self.send_response(code)
                self.send_header("content-length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def wait_for(cond, timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class UvicornThread:
    """Serve an ASGI app on a port from a background thread."""

    def __init__(self, app: Any, port: int) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> UvicornThread:
        self.thread.start()
        wait_for(lambda: self.server.started, what="uvicorn start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
