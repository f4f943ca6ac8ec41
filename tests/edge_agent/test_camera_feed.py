"""The simulated camera feed: vehicle-clock stamps, truth kept off the wire, bad bytes survived."""

from __future__ import annotations

import json
import threading
import time
from itertools import pairwise
from types import SimpleNamespace

from contract.camera import CameraModel
from contract.defaults import HOME_LAT, HOME_LON
from edge.frames import SimFeedSource
from sim.camera import RiverScene
from sim.camera.serve import FrameServer


class Hover:
    """A vehicle hovering 30 m above home whose clock runs 10x wall time (what ``snapshot()`` reads)."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()

    def __call__(self) -> SimpleNamespace:
        t = 10.0 * (time.monotonic() - self.t0)
        return SimpleNamespace(
            t=t, unix_time=1.7e9 + t, lat=HOME_LAT, lon=HOME_LON, alt_rel=30.0, roll=0.0, pitch=0.0, yaw=0.0
        )


def test_feed_stamps_vehicle_time_writes_truth_aside_and_survives_injected_garbage(tmp_path):
    truth_file = tmp_path / "truth.jsonl"
    scene = RiverScene(seed=2, n_debris=10, n_distractors=0, n_bridges=0)
    cam = CameraModel.default().scaled(320, 180)
    server = FrameServer(scene, Hover(), cam, fps=2.0, truth_path=truth_file).start()
    src = SimFeedSource("127.0.0.1", server.port)
    stop = threading.Event()
    got = []
    try:
        for f in src.frames(stop):
            got.append(f)
            if len(got) == 2:
                server.inject(b"\xde\xad\xbe\xef not a record")
            if len(got) == 4:
                stop.set()
    finally:
        src.close()
        server.stop()
    truth = [json.loads(line) for line in truth_file.read_text().splitlines()]
    by_seq = {t["seq"]: t for t in truth}
    assert [f.image.shape for f in got] == [(180, 320, 3)] * 4
    seqs = [f.seq for f in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4
    for f in got:
        assert f.time_boot_s == by_seq[f.seq]["time_boot_s"]  # exact: the vehicle's own clock
        assert f.utc == 1.7e9 + f.time_boot_s
    gaps = [b.time_boot_s - a.time_boot_s for a, b in pairwise(got)]
    # 2 frames per simulated second on a fixed schedule: never faster than the 5 ms polling jitter
    # (x10 speedup) allows, even right after the slow first frame
    assert min(gaps) >= 0.5 - 0.1, gaps
    assert src.rejected["bad_magic"] == 1
    assert "truth" in truth[0] and "distractors" in truth[0]
