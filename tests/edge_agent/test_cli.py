"""``riverpatrol edge run``: clear exits for a bad model or camera; offline broker, metrics, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import cv2
import numpy as np

from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "riverpatrol", "edge", "run", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _video(path: Path, frames: int = 300) -> Path:
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (320, 180))
    for i in range(frames):
        w.write(np.full((180, 320, 3), i % 255, np.uint8))
    w.release()
    return path


def test_missing_or_wrong_model_exits_non_zero_with_a_message(tmp_path):
    r = _run("--model", str(tmp_path / "nope.onnx"), "--camera", "0")
    assert r.returncode == 2 and "nope.onnx" in r.stderr and "does not exist" in r.stderr
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not onnx")
    r = _run("--model", str(bad), "--camera", "0")
    assert r.returncode == 2 and "not a loadable ONNX model" in r.stderr


def test_a_camera_that_will_not_open_exits_non_zero(tmp_path):
    r = _run("--camera", f"sim://127.0.0.1:{free_port()}", "--outbox", str(tmp_path / "o.db"))
    assert r.returncode == 3 and "cannot connect" in r.stderr
    r = _run("--camera", str(tmp_path / "missing.mp4"), "--outbox", str(tmp_path / "o.db"))
    assert r.returncode == 3 and "no such video file" in r.stderr
    r = _run("--camera", "0", "--camera-latency", "-0.2", "--outbox", str(tmp_path / "o.db"))
    assert r.returncode == 2 and "camera_latency_s" in r.stderr


def test_offline_broker_is_reported_metrics_served_and_sigterm_stops_cleanly(tmp_path):
    metrics = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "riverpatrol",
            "edge",
            "run",
            "--camera",
            str(_video(tmp_path / "clip.avi")),
            "--mavlink",
            f"tcp:127.0.0.1:{free_port()}",
            "--broker",
            f"127.0.0.1:{free_port()}",
            "--outbox",
            str(tmp_path / "o.db"),
            "--metrics-port",
            str(metrics),
        ],  # no --plain: off a terminal the agent logs its status lines anyway
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "RIVERPATROL_EDGE_HEARTBEAT_TIMEOUT": "1"},
    )
    try:
        body = health = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and body is None:
            try:
                body = (
                    urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=2).read().decode()
                )
            except OSError:
                time.sleep(0.2)
        assert body is not None, "metrics never served"
        assert "riverpatrol_edge_frames_total" in body and "riverpatrol_edge_mqtt_link_up 0.0" in body
        assert "riverpatrol_edge_camera_frame_age_seconds" in body
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{metrics}/healthz", timeout=2)
        except urllib.error.HTTPError as e:
            assert e.code == 503
            health = json.loads(e.read())
        assert health is not None and health["ok"] is False and health["broker"].startswith("offline")
        time.sleep(3.5)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out[-3000:]
    assert "unreachable" in out and "kept in the outbox" in out
    states = [json.loads(x) for x in out.splitlines() if x.startswith("{") and '"agent status"' in x]
    assert states and states[-1]["broker"] == "offline" and states[-1]["frames"] >= 1, out[-3000:]
    assert "stopped;" in out


def test_an_outbox_that_cannot_be_opened_exits_non_zero_before_the_camera(tmp_path):
    r = _run("--camera", str(_video(tmp_path / "clip.avi", 10)), "--outbox", str(tmp_path))  # a folder
    assert r.returncode == 3, r.stderr
    assert f"cannot open the outbox {tmp_path}: unable to open database file" in r.stderr
    assert "Traceback" not in r.stderr
