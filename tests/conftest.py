"""Fixtures every area of the suite shares: free ports, temp dirs, a real Mosquitto per test."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import contract.mavlink  # noqa: F401  (MAVLink 2 + ardupilotmega before any test module loads pymavlink)


def ctrl_c_works() -> None:
    """``preexec_fn`` for a child the test will stop with SIGINT: restore its default action.

    Why: a shell that starts pytest in the background (``cmd &`` without job control) starts it
    with SIGINT ignored, every child inherits that, and Python then never raises
    KeyboardInterrupt, so a Ctrl-C test would hang on how it was launched, not on the code."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port nobody listens on right now (TCP by default, UDP with ``socket.SOCK_DGRAM``)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
    """Block until a TCP server accepts on ``port``; ``TimeoutError`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing accepted on {host}:{port} within {timeout}s")


class Mosquitto:
    """A real Mosquitto broker on a fresh port, with a config we control (stop/start for outages)."""

    def __init__(self, workdir: Path, port: int) -> None:
        self.port = port
        self.workdir = workdir
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            # As root Mosquitto drops to its own user, which cannot write pytest's tmp dir: stay root
            # so persistent sessions really survive a broker restart (ignored when not root).
            "user root\n"
            f"listener {port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {workdir}/\n"
            "max_queued_messages 0\n"
            "max_inflight_messages 0\n"
        )
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen(
            [exe, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_port(self.port)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A private Mosquitto broker for one test; ``.stop()``/``.start()`` simulate an outage."""
    if not (shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()):
        pytest.fail("mosquitto is not installed: .ci/run installs it (Debian package 'mosquitto')")
    broker = Mosquitto(tmp_path, free_port())
    broker.start()
    yield broker
    broker.stop()
