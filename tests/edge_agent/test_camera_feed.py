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
from sim.camera.faults import CameraFaults
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


def test_lost_and_corrupt_frames_and_a_camera_blackout_reach_the_edge_as_the_truth_says(tmp_path):
    """Fault injection on the feed: the edge gets every frame sent whole, skips each corrupt one by
    name, gets none in the blackout, and is back (one reconnect) when the camera is."""
    faults = CameraFaults(drop_pct=20, corrupt_pct=20, blackouts=["5:10"], seed=5)
    assert {"dropped", "corrupt"} <= {faults.fate(s) for s in range(20)}
    scene = RiverScene(seed=2, n_debris=10, n_distractors=0, n_bridges=0)
    cam = CameraModel.default().scaled(320, 180)
    server = FrameServer(scene, Hover(), cam, fps=2.0, faults=faults).start()
    src = SimFeedSource("127.0.0.1", server.port, reconnect_delay_s=0.2)
    stop = threading.Event()
    got = []
    net = threading.Timer(15.0, stop.set)  # a safety net: the loop ends well before
    net.start()
    try:
        for f in src.frames(stop):
            got.append(f)
            if f.time_boot_s >= 20.0:
                break
    finally:
        net.cancel()
        src.close()
        server.stop()
    assert got and got[-1].time_boot_s >= 20.0
    last = got[-1].seq
    fates = {t["seq"]: t["fate"] for t in server.truth if t["seq"] <= last}
    assert [f.seq for f in got] == [s for s, fate in sorted(fates.items()) if fate == "sent"]
    assert src.rejected["bad_jpeg"] == sum(fate == "corrupt" for fate in fates.values()) > 0
    assert sum(fate == "dropped" for fate in fates.values()) > 0
    assert not [f for f in got if 5.0 <= f.time_boot_s < 10.0]
    assert {t["time_boot_s"] < 5.0 for t in server.truth} == {True, False}  # frames on both sides
    assert src.reconnects == 1


def test_a_camera_switched_off_closes_the_feed_and_the_edge_is_back_when_it_is_on():
    """The demo's blackout switch (``switched_off``): no frame while off, frames again after, one
    reconnect, and the server's ``dark`` says which."""
    scene = RiverScene(seed=2, n_debris=4, n_distractors=0, n_bridges=0)
    hover = Hover()  # 10 simulated seconds a wall second: 40 frames a wall second while on
    server = FrameServer(scene, hover, CameraModel.default().scaled(160, 90), fps=4.0).start()
    src = SimFeedSource("127.0.0.1", server.port, reconnect_delay_s=0.2)
    stop = threading.Event()
    got, dark_seen = [], []
    net = threading.Timer(15.0, stop.set)  # a safety net: the loop ends well before
    net.start()
    try:
        for f in src.frames(stop):
            got.append(f.seq)
            if len(got) == 2:
                server.switched_off, off_at = True, time.monotonic()
                time.sleep(1.0)
                dark_seen.append(server.dark)
                server.switched_off, on_at = False, time.monotonic()
            if len(got) == 5:
                break
    finally:
        net.cancel()
        src.close()
        server.stop()
    assert dark_seen == [True] and not server.dark
    off_t, on_t = (10.0 * (w - hover.t0) for w in (off_at, on_at))
    rendered = [t["time_boot_s"] for t in server.truth]
    assert not [t for t in rendered if off_t + 0.5 < t < on_t], "frames rendered while off"
    assert len(got) == 5 and max(rendered) > on_t
    assert src.reconnects == 1
