"""``riverpatrol sim camera serve``: one command gives the edge a vehicle and its camera feed."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

from tests.conftest import ctrl_c_works, free_port, wait_port

REPO = Path(__file__).resolve().parents[2]
SERVE = [sys.executable, "-m", "riverpatrol", "sim", "camera", "serve"]
SMALL_AND_FAST = ["--speedup", "5", "--width", "640", "--height", "360"]


def test_serve_starts_the_vehicle_and_the_feed_and_stops_on_ctrl_c():
    feed, vehicle = free_port(), free_port()
    proc = subprocess.Popen(
        [*SERVE, "--port", str(feed), "--vehicle-port", str(vehicle), *SMALL_AND_FAST],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=ctrl_c_works,
    )
    head: list[str] = []
    try:
        wait_port(vehicle, timeout=20)
        wait_port(feed, timeout=20)
        # Ctrl-C once it says it is serving (the ports open a moment before the banner)
        while line := proc.stdout.readline():
            head.append(line)
            if "camera feed on" in line:
                break
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
        out = "".join(head) + out
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out[-2000:]
    assert f"camera feed on sim://127.0.0.1:{feed}" in out and "640x360" in out


def test_serve_refuses_a_busy_port():
    feed = free_port()
    with socket.create_server(("127.0.0.1", feed)):
        r = subprocess.run(
            [*SERVE, "--port", str(feed), "--vehicle-port", str(free_port())],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert r.returncode != 0 and "Address already in use" in (r.stdout + r.stderr)
