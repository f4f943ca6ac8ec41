"""The cloud service served by uvicorn in a thread of the demo's own process.

The same ``cloud.app.create_app`` that ``riverpatrol cloud serve`` runs; the socket is bound
before the server starts, so the port is known and nothing else can take it in between.
"""

from __future__ import annotations

import socket
import threading
import time


class ServedCloud:
    """``start()`` returns once the app has started (lifespan done); ``url`` is its base URL."""

    def __init__(self, settings, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        from cloud.app import create_app

        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((host, port))
        except OSError:
            if port == 0:
                raise
            self.sock.bind((host, 0))  # the usual port is taken: any free one, the URL says which
        self.port = int(self.sock.getsockname()[1])
        self.url = f"http://{host}:{self.port}"
        self.app = create_app(settings)
        config = uvicorn.Config(self.app, log_config=None, access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def start(self, timeout_s: float = 30.0) -> ServedCloud:
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, name="cloud-uvicorn", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the cloud service did not start on {self.url}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread:
            self._thread.join(15)
        self.sock.close()
