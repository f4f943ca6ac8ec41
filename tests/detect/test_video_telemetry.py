"""A drone video's frames run at the ground scale its ``.SRT`` telemetry track records."""

from __future__ import annotations

import json

import cv2
import pytest

from contract.camera import CameraModel, focal_px_from_35mm
from edge.detect.photo_scale import PhotoScaleUnknown
from edge.detect.video_telemetry import (
    FrameTelemetry,
    TelemetryError,
    frame_scale,
    parse_dji_srt,
    sidecar_srt,
    telemetry_at,
)
from sim.camera.drone_files import VideoFrameLog, srt_text

MINI3 = """1
00:00:00,000 --> 00:00:00,033
<font size="28">FrameCnt: 1, DiffTime: 33ms
2024-08-07 12:34:24.380
[iso: 100] [shutter: 1/3200.0] [fnum: 1.7] [ev: 0] [color_md: default]
[focal_len: 24.00] [latitude: 22.543096] [longitude: 113.958398]
[rel_alt: 30.100 abs_alt: 120.500] [ct: 5310] </font>

2
00:00:00,033 --> 00:00:00,067
<font size="28">FrameCnt: 2, DiffTime: 34ms
[focal_len: 24.00] [latitude: 22.543097] [longitude: 113.958398] [rel_alt: 30.400 abs_alt: 120.800] </font>
"""
MINI2 = """1
00:00:00,000 --> 00:00:01,000
F/2.8, SS 1667.11, ISO 100, EV 0, DZOOM 1.000, GPS (120.3534, 23.1201, 26), D 499.16m, H 98.00m, H.S 4.81m/s
"""
MAVIC2 = """1
00:00:00,000 --> 00:00:00,040
[focal_len : 280] [rel_alt: 45.0 abs_alt: 60.0] [gb_yaw: 12.0 gb_pitch: -85.5 gb_roll: 0.0]
"""


def test_each_dji_format_gives_height_lens_and_gimbal():
    first, second = parse_dji_srt(MINI3)
    assert (first.start_s, first.end_s, first.rel_alt_m, first.focal_35mm_mm) == (0.0, 0.033, 30.1, 24.0)
    assert second.rel_alt_m == 30.4 and first.gimbal_pitch_deg is None
    (old,) = parse_dji_srt(MINI2)  # the older "H 98.00m" line, no lens
    assert old.rel_alt_m == 98.0 and old.focal_35mm_mm is None
    (tenths,) = parse_dji_srt(MAVIC2)  # focal length in tenths of a mm, the gimbal's pitch
    assert tenths.focal_35mm_mm == 28.0 and tenths.gimbal_pitch_deg == -85.5


def test_what_is_not_a_telemetry_track_is_named():
    with pytest.raises(TelemetryError, match=r"clip\.srt: not an SRT subtitle file"):
        parse_dji_srt("just some text\nwith lines", "clip.srt")
    film = "1\n00:00:01,000 --> 00:00:02,500\nThe river is high today.\n"
    with pytest.raises(
        TelemetryError, match=r"film.srt: no drone height \(rel_alt, H\) in any of 1 subtitles"
    ):
        parse_dji_srt(film, "film.srt")


def test_the_subtitle_shown_at_a_time():
    track = parse_dji_srt(MINI3)
    assert telemetry_at(track, 0.0) is track[0] and telemetry_at(track, 0.02) is track[0]
    assert telemetry_at(track, 0.05) is track[1]
    assert telemetry_at(track, -0.1) is None and telemetry_at(track, 5.0) is None


def test_a_frame_s_scale_from_its_telemetry_and_what_overrides_it():
    tel = FrameTelemetry(0.0, 0.04, rel_alt_m=30.0, focal_35mm_mm=24.0)
    f = focal_px_from_35mm(24.0, 3840, 2160)
    scale = frame_scale(tel, 3840, 2160)
    assert scale.gsd_m == pytest.approx(30.0 / f)
    assert "(SRT rel_alt)" in scale.describe() and "SRT focal_len 24 mm" in scale.describe()
    assert frame_scale(tel, 3840, 2160, altitude_m=15.0).gsd_m == pytest.approx(15.0 / f)
    old = FrameTelemetry(0.0, 1.0, rel_alt_m=98.0)  # no lens in the track: say so, or take it given
    with pytest.raises(PhotoScaleUnknown, match="no focal length"):
        frame_scale(old, 3840, 2160)
    assert frame_scale(old, 3840, 2160, focal_35mm_mm=24.0).gsd_m == pytest.approx(98.0 / f)
    with pytest.raises(PhotoScaleUnknown, match=r"no height \(SRT rel_alt\)"):
        frame_scale(None, 3840, 2160)


def test_the_sim_writes_the_track_as_a_dji_does():
    logs = [VideoFrameLog(22.5, 114.0, 30.0 + k, 25.0, -90.0) for k in range(3)]
    track = parse_dji_srt(srt_text(logs, fps=5.0))
    assert [t.rel_alt_m for t in track] == [30.0, 31.0, 32.0]
    assert [t.start_s for t in track] == [0.0, 0.2, 0.4] and track[-1].end_s == pytest.approx(0.6)
    assert {t.focal_35mm_mm for t in track} == {25.0} and {t.gimbal_pitch_deg for t in track} == {-90.0}


def test_the_detect_command_runs_each_video_frame_at_its_recorded_scale(tmp_path):
    """A simulated climb from 30 to 60 m: each frame at the GSD of its own height, from the .SRT
    beside the video, exactly as with that GSD given; without the track, as it comes, said so."""
    from typer.testing import CliRunner

    from edge.detect import Detector, DetectorConfig
    from edge.detect.cli import app as edge_app
    from sim.camera.cli import app as sim_app

    video = tmp_path / "DJI_0007.MP4"
    made = CliRunner().invoke(
        sim_app,
        ["video", "--out", str(video), "--seconds", "1", "--fps", "4", "--alt", "30", "--alt-end", "60"],
    )
    assert made.exit_code == 0, made.output
    assert sidecar_srt(video) == tmp_path / "DJI_0007.SRT"
    res = CliRunner().invoke(edge_app, ["detect", str(video), "--json"])
    assert res.exit_code == 0, res.output
    lines = [json.loads(ln) for ln in res.stdout.splitlines() if ln.startswith("{")]
    fx = CameraModel.default().fx
    heights = [30.0, 40.0, 50.0, 60.0]
    assert [ln["source"] for ln in lines] == [f"{video}#{k}" for k in range(4)]
    for ln, h in zip(lines, heights, strict=True):
        assert ln["gsd_cm"] / 100 == pytest.approx(h / fx, rel=0.025)  # the lens written as 25 mm
        assert f"from {h:.1f} m (SRT rel_alt)" in ln["scale"]
    detector = Detector(DetectorConfig())
    cap = cv2.VideoCapture(str(video))
    for ln in lines:
        ok, image = cap.read()
        assert ok
        want = detector.detect(image, gsd_m=ln["gsd_cm"] / 100)
        assert [d["box"] for d in ln["detections"]] == [[round(v, 1) for v in d.box] for d in want]
    cap.release()

    (tmp_path / "DJI_0007.SRT").unlink()
    res = CliRunner().invoke(edge_app, ["detect", str(video), "--json", "--every", "4"])
    (only,) = [json.loads(ln) for ln in res.stdout.splitlines() if ln.startswith("{")]
    assert only["gsd_cm"] is None
    assert only["scale"] == (
        "ground scale unknown: no telemetry track (DJI_0007.SRT) beside it; give --altitude-m and --lens-mm"
    )
    res = CliRunner().invoke(
        edge_app, ["detect", str(video), "--json", "--every", "4", "--altitude-m", "30", "--lens-mm", "25"]
    )
    (given,) = [json.loads(ln) for ln in res.stdout.splitlines() if ln.startswith("{")]
    assert given["gsd_cm"] == pytest.approx(lines[0]["gsd_cm"], rel=1e-4)  # the track's own lens and height
    assert given["scale"].endswith("(given 25 mm 35 mm-equivalent)")
