"""Frame wire format and frame sources: good frames through, bad ones skipped with a reason."""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time

import cv2
import numpy as np
import pytest

from contract.framewire import MAGIC, FrameHeader, FrameParser, FrameRecord, FrameReject, encode_record
from edge.frames import CameraOpenError, SimFeedSource, decode_record, open_source
from tests.conftest import free_port
from tests.edge_agent.mjpeg import MjpegCamera


def _jpeg(w: int = 64, h: int = 48, value: int = 120) -> bytes:
    img = np.full((h, w, 3), value, np.uint8)
    cv2.circle(img, (w // 2, h // 2), 8, (255, 255, 255), -1)
    return cv2.imencode(".jpg", img)[1].tobytes()


def _rec(seq: int, payload: bytes, w: int = 64, h: int = 48, enc: str = "jpeg") -> bytes:
    return encode_record(
        FrameHeader(seq=seq, time_boot_s=10.0 + seq, width=w, height=h, encoding=enc), payload
    )


def test_parser_round_trip_in_any_chunking() -> None:
    stream = _rec(0, _jpeg()) + _rec(1, _jpeg(value=30))
    for chunk in (1, 7, 100, len(stream)):
        p = FrameParser()
        out = []
        for i in range(0, len(stream), chunk):
            out += p.feed(stream[i : i + chunk])
        assert [o.header.seq for o in out if isinstance(o, FrameRecord)] == [0, 1]
        assert p.buffered == 0


def test_parser_skips_garbage_bad_header_oversized_and_empty() -> None:
    bad_json = struct.pack(">4sII", MAGIC, 5, 3) + b"{nope" + b"abc"
    wrong_field = struct.pack(">4sII", MAGIC, 9, 3) + b'{"seq":1}' + b"abc"
    oversized = _rec(7, b"x" * 2000)
    stream = b"garbage!" + bad_json + wrong_field + oversized + _rec(8, b"") + _rec(9, _jpeg())
    out = FrameParser(max_payload_bytes=1000).feed(stream)
    reasons = [o.reason for o in out if isinstance(o, FrameReject)]
    assert reasons == ["bad_magic", "bad_header", "bad_header", "oversized", "empty"]
    assert [o.header.seq for o in out if isinstance(o, FrameRecord)] == [9]


def test_decode_rejects_wrong_size_and_undecodable() -> None:
    ok = decode_record(FrameRecord(FrameHeader(seq=0, time_boot_s=0, width=64, height=48), _jpeg()))
    assert isinstance(ok, np.ndarray) and ok.shape == (48, 64, 3)
    wrong = decode_record(FrameRecord(FrameHeader(seq=1, time_boot_s=0, width=640, height=480), _jpeg()))
    assert isinstance(wrong, FrameReject) and wrong.reason == "wrong_size"
    junk = decode_record(FrameRecord(FrameHeader(seq=2, time_boot_s=0, width=64, height=48), b"\x00" * 50))
    assert isinstance(junk, FrameReject) and junk.reason == "bad_jpeg"
    raw = decode_record(
        FrameRecord(FrameHeader(seq=3, time_boot_s=0, width=4, height=2, encoding="bgr"), bytes(23))
    )
    assert isinstance(raw, FrameReject) and raw.reason == "wrong_size"


def test_sim_feed_skips_malformed_frames_with_a_logged_reason(caplog) -> None:
    """Over a real socket: every kind of bad record is logged and counted, the good ones come through."""
    port = free_port()
    server = socket.create_server(("127.0.0.1", port))
    good = _jpeg()
    stream = b"".join(
        [
            _rec(0, good),
            b"\x01\x02garbage",
            struct.pack(">4sII", MAGIC, 5, 3) + b"{nope" + b"abc",  # bad header
            _rec(1, good[: len(good) // 2]),  # truncated JPEG
            _rec(2, good, w=320, h=240),  # wrong size
            _rec(3, b""),  # empty
            _rec(4, b"y" * 5000),  # oversized for this source
            _rec(5, good),
        ]
    )

    def serve() -> None:
        conn, _ = server.accept()
        for i in range(0, len(stream), 333):
            conn.sendall(stream[i : i + 333])
        conn.close()

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    src = SimFeedSource("127.0.0.1", port, reconnect_delay_s=5.0, max_payload_bytes=4000)
    stop = threading.Event()
    got = []
    with caplog.at_level(logging.WARNING, logger="edge.frames"):
        for f in src.frames(stop):
            got.append(f)
            if f.seq == 5:
                stop.set()
    src.close()
    server.close()
    assert [(f.seq, f.time_boot_s, f.image.shape) for f in got] == [
        (0, 10.0, (48, 64, 3)),
        (5, 15.0, (48, 64, 3)),
    ]
    assert src.rejected == {
        "bad_magic": 1,
        "bad_header": 1,
        "bad_jpeg": 1,
        "wrong_size": 1,
        "empty": 1,
        "oversized": 1,
    }
    logged = " ".join(r.getMessage() for r in caplog.records)
    for reason in ("bad_magic", "bad_header", "truncated", "wrong_size", "empty", "oversized"):
        assert reason in logged


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("sim://127.0.0.1:{free}", "cannot connect"),  # a port nobody listens on, picked at run time
        ("sim://nowhere", "expected sim://HOST:PORT"),
        ("/no/such/video.mp4", "no such video file"),
    ],
)
def test_a_camera_that_will_not_open_says_which_and_why(spec: str, needle: str) -> None:
    with pytest.raises(CameraOpenError, match=needle):
        open_source(spec.format(free=free_port()))


def _clip(path):
    """A five-frame MJPEG video file."""
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for i in range(5):
        w.write(np.full((48, 64, 3), 40 * i, np.uint8))
    w.release()
    return str(path)


def test_video_file_source_stamps_frames_and_ends(tmp_path) -> None:
    src = open_source(_clip(tmp_path / "clip.avi"))
    frames = list(src.frames(threading.Event()))
    src.close()
    assert [f.seq for f in frames] == [0, 1, 2, 3, 4]
    assert all(f.time_boot_s is None for f in frames)
    assert [f.monotonic for f in frames] == sorted(f.monotonic for f in frames)


def _frames_until(src, done, timeout_s: float = 20.0) -> list:
    """Read ``src`` on a thread until ``done(frames)`` or the timeout; the frames read."""
    stop = threading.Event()
    got: list = []

    def read() -> None:
        for f in src.frames(stop):
            got.append(f)
            if done(got):
                return

    th = threading.Thread(target=read, daemon=True)
    th.start()
    th.join(timeout_s)
    stop.set()
    th.join(5)
    return got


def test_a_live_camera_that_goes_away_is_reopened_and_its_frames_come_back(caplog) -> None:
    """An HTTP MJPEG camera ends its stream (a reboot) and is down a while: OpenCV's capture would
    fail from then on; the source reopens it and the frames of the new stream come through."""
    port = free_port()
    first = MjpegCamera(port, frames_per_connection=5).start()
    second = MjpegCamera(port)  # the same camera after its reboot
    src = open_source(first.url, reopen_after_s=0.2, timeout_s=2.0)
    try:
        before = _frames_until(src, lambda got: len(got) == 5)
        first.stop()  # the stream has ended; now the camera is down for a second
        threading.Timer(1.0, second.start).start()
        with caplog.at_level(logging.INFO, logger="edge.frames"):
            after = _frames_until(src, lambda got: len(got) == 3)
    finally:
        src.close()
        first.stop()
        second.stop()
    assert [int(f.image.mean()) for f in before] == [0, 1, 2, 3, 4]
    assert len(after) == 3 and src.reconnects >= 1
    assert [f.seq for f in after] == [5, 6, 7]  # one numbering across reconnects
    assert src.rejected["read_failed"] >= 1
    assert "will not open yet" in caplog.text and "reopened after" in caplog.text


def test_a_camera_latency_stamps_each_frame_that_much_before_it_arrived(tmp_path) -> None:
    src = open_source(_clip(tmp_path / "clip.avi"), latency_s=0.25)
    lags = []
    for f in src.frames(threading.Event()):
        lags.append(time.monotonic() - f.monotonic)
    src.close()
    assert len(lags) == 5 and all(0.25 <= lag < 0.35 for lag in lags)
