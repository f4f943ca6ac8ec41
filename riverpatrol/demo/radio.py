"""The drone's radio link to the ground station, for the demo: a TCP forwarder that can be cut.

On a real patrol the 1.4 GHz link fades behind a bridge or past the end of its range while the
broker at the ground station stays up. The edge agent's MQTT session then breaks and its alerts
wait in its on-disk outbox until the link is back. ``riverpatrol demo --link-outage 60:90`` shows
that: the agent reaches the broker through this forwarder, and cutting it closes every connection
through it and refuses new ones until it is restored.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading

log = logging.getLogger(__name__)


class RadioLink:
    """Forwards TCP connections from ``port`` (any free one) to ``target``; ``cut()``, ``restore()``."""

    def __init__(self, target_host: str, target_port: int, host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server((host, 0))
        self.host = host
        self.port: int = self._listener.getsockname()[1]
        self.up = True
        self.cuts = 0
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> RadioLink:
        th = threading.Thread(target=self._accept, name="radio-link", daemon=True)
        th.start()
        self._threads.append(th)
        return self

    def cut(self) -> None:
        """Out of range: every connection through the link ends, new ones are refused."""
        with self._lock:
            self.up = False
            self.cuts += 1
        log.warning("radio link cut: %d connection(s) closed", self._close_all())

    def _close_all(self) -> int:
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for a, b in pairs:
            _close(a, b)
        return len(pairs)

    def restore(self) -> None:
        with self._lock:
            self.up = True
        log.info("radio link restored")

    def stop(self) -> None:
        self._stop.set()
        self.up = False
        self._close_all()
        self._listener.close()
        for th in self._threads:
            th.join(2)

    def _accept(self) -> None:
        self._listener.settimeout(0.2)  # closing a socket does not wake accept(): poll the stop flag
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self.up:
                conn.close()
                continue
            try:
                upstream = socket.create_connection(self.target, 5.0)
            except OSError as e:
                log.warning("radio link: %s:%d unreachable: %s", *self.target, e)
                conn.close()
                continue
            with self._lock:
                self._pairs.append((conn, upstream))
            threading.Thread(target=self._pump, args=(conn, upstream), name="radio-pump", daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        """Copy bytes both ways until either side closes or the link is cut."""
        other = {a: b, b: a}
        with selectors.DefaultSelector() as sel:  # blocking sockets: recv only once readable
            for s in (a, b):
                sel.register(s, selectors.EVENT_READ)
            try:
                while not self._stop.is_set():
                    for key, _ in sel.select(0.2):
                        src: socket.socket = key.fileobj  # type: ignore[assignment]
                        data = src.recv(65536)
                        if not data:
                            return
                        other[src].sendall(data)
            except (OSError, ValueError):  # closed by cut() or by an end
                return
            finally:
                with self._lock:
                    if (a, b) in self._pairs:
                        self._pairs.remove((a, b))
                _close(a, b)


def _close(*socks: socket.socket) -> None:
    for s in socks:
        with contextlib.suppress(OSError):  # already closed by the other end
            s.shutdown(socket.SHUT_RDWR)
        s.close()
