"""``riverpatrol sim camera`` writes images, truth JSON and video that agree with each other."""

from __future__ import annotations

import json

import cv2
from typer.testing import CliRunner

from contract.camera import CameraModel
from contract.messages import DEBRIS_CLASSES
from sim.camera.cli import app


def _calibration(tmp_path):
    p = tmp_path / "cam.json"
    CameraModel.default().scaled(480, 270).save(p)
    return p


def test_render_writes_images_and_truth(tmp_path) -> None:
    out = tmp_path / "frames"
    res = CliRunner().invoke(
        app,
        [
            "render",
            "--out",
            str(out),
            "--frames",
            "2",
            "--alt",
            "30",
            "--debris",
            "400",
            "--calibration",
            str(_calibration(tmp_path)),
            "--boxes",
        ],
    )
    assert res.exit_code == 0, res.output
    for i in range(2):
        img = cv2.imread(str(out / f"frame_{i:04d}.png"))
        assert img.shape == (270, 480, 3)
        truth = json.loads((out / f"frame_{i:04d}.json").read_text())
        assert truth["camera"]["width"] == 480 and len(truth["footprint"]) == 4
        for b in truth["truth"]:
            assert DEBRIS_CLASSES[b["class_index"]] == b["kind"]
            x1, y1, x2, y2 = b["box"]
            assert 0 <= x1 < x2 <= 480 and 0 <= y1 < y2 <= 270
        assert (out / f"frame_{i:04d}_boxes.jpg").is_file()
    assert any(json.loads(p.read_text())["truth"] for p in out.glob("*.json"))


def test_video_writes_mp4_and_truth_lines(tmp_path) -> None:
    out = tmp_path / "fly.mp4"
    res = CliRunner().invoke(
        app,
        [
            "video",
            "--out",
            str(out),
            "--seconds",
            "0.5",
            "--fps",
            "10",
            "--calibration",
            str(_calibration(tmp_path)),
        ],
    )
    assert res.exit_code == 0, res.output
    cap = cv2.VideoCapture(str(out))
    frames = 0
    while cap.read()[0]:
        frames += 1
    assert frames == 5
    lines = out.with_suffix(".jsonl").read_text().splitlines()
    assert [json.loads(x)["t"] for x in lines] == [0.0, 0.1, 0.2, 0.3, 0.4]


def test_bad_options_are_named(tmp_path) -> None:
    res = CliRunner().invoke(app, ["render", "--out", str(tmp_path), "--format", "gif"])
    assert res.exit_code != 0 and "--format" in res.output
    res = CliRunner().invoke(app, ["render", "--out", str(tmp_path), "--domain", "mars"])
    assert res.exit_code != 0 and "--domain" in res.output
    (tmp_path / "bad.json").write_text("{}")
    res = CliRunner().invoke(
        app, ["render", "--out", str(tmp_path), "--calibration", str(tmp_path / "bad.json")]
    )
    assert res.exit_code == 2 and "bad.json" in res.output


def test_heights_durations_rates_and_counts_out_of_range_are_named_before_rendering(tmp_path) -> None:
    out = tmp_path / "frames"
    for args, option in (
        (["render", "--alt", "0"], "--alt"),
        (["render", "--frames", "0"], "--frames"),
        (["render", "--debris", "-1"], "--debris"),
        (["video", "--seconds", "-1"], "--seconds"),
        (["video", "--fps", "0"], "--fps"),
        (["video", "--alt-end", "-5"], "--alt-end"),
        (["bench", "--frames", "0"], "--frames"),
    ):
        res = CliRunner().invoke(app, [*args, "--out", str(out)] if args[0] != "bench" else args)
        assert res.exit_code == 2 and option in res.output, (args, res.output)
        assert not out.exists(), args
