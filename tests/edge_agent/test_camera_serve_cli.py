"""``riverpatrol sim camera serve``: one command gives the edge a vehicle and its camera feed."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

from pymavlink import mavutil

from tests.conftest import ctrl_c_works, free_port, wait_port

REPO = Path(__file__).resolve().parents[2]
SERVE = [sys.executable, "-m", "riverpatrol", "sim", "camera", "serve"]
SMALL_AND_FAST = ["--speedup", "5", "--width", "640", "--height", "360"]


def test_serve_starts_the_vehicle_and_the_feed_and_stops_on_ctrl_c(tmp_path):
    """The vehicle is the one --config describes ([sim.vehicle]: here its system id), on the port
    --vehicle-port names rather than the file's."""
    feed, vehicle = free_port(), free_port()
    config = tmp_path / "sim.toml"
    config.write_text(f"[sim.vehicle]\nsysid = 7\ntcp_port = {free_port()}\n")
    proc = subprocess.Popen(
        [
            *SERVE,
            "--port",
            str(feed),
            "--vehicle-port",
            str(vehicle),
            *SMALL_AND_FAST,
            "--config",
            str(config),
        ],
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
        mav = mavutil.mavlink_connection(f"tcp:127.0.0.1:{vehicle}", source_system=255)
        try:
            beat = mav.wait_heartbeat(timeout=10)
        finally:
            mav.close()
        assert beat is not None and beat.get_srcSystem() == 7
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


def test_serve_names_a_bad_config_before_starting_anything(tmp_path):
    bad = tmp_path / "sim.toml"
    bad.write_text("[sim.vehicle]\nwind_speed = -3\n")
    for config, needle in ((tmp_path / "missing.toml", "does not exist"), (bad, "wind_speed")):
        r = subprocess.run(
            [*SERVE, "--port", "0", "--vehicle-port", "0", "--config", str(config)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert r.returncode == 2 and "--config" in r.stderr and needle in r.stderr, r.stderr


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
