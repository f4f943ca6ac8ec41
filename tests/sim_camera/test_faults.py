"""Camera fault injection: each frame's fate is seeded and repeatable, and bad options say which."""

from __future__ import annotations

from collections import Counter

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from typer.testing import CliRunner

from edge.detect.image_io import jpeg_truncated
from sim.camera.cli import app
from sim.camera.faults import CameraFaults


def test_fates_follow_the_rates_and_repeat_for_a_seed() -> None:
    faults = CameraFaults(drop_pct=10, corrupt_pct=5, seed=3)
    fates = Counter(faults.fate(seq) for seq in range(20_000))
    assert abs(fates["dropped"] / 20_000 - 0.10) < 0.01
    assert abs(fates["corrupt"] / 20_000 - 0.05) < 0.01
    assert [faults.fate(s) for s in range(200)] == [
        CameraFaults(drop_pct=10, corrupt_pct=5, seed=3).fate(s) for s in range(200)
    ]
    other = [CameraFaults(drop_pct=10, corrupt_pct=5, seed=4).fate(s) for s in range(200)]
    assert other != [faults.fate(s) for s in range(200)]
    assert {CameraFaults().fate(s) for s in range(1000)} == {"sent"}


def test_blackout_windows_are_half_open() -> None:
    faults = CameraFaults(blackouts=["30:40", "100:101"])
    assert [faults.blackout(t) for t in (29.99, 30.0, 39.99, 40.0, 100.5)] == [False, True, True, False, True]
    assert not CameraFaults().blackout(35.0)


@given(st.integers(0, 2**32 - 1), st.integers(0, 10_000))
def test_a_corrupt_frame_is_always_a_cut_jpeg(image_seed: int, seq: int) -> None:
    img = np.random.default_rng(image_seed).integers(0, 256, (24, 40, 3), dtype=np.uint8)
    jpeg = cv2.imencode(".jpg", img)[1].tobytes()
    cut = CameraFaults(corrupt_pct=100, seed=1).corrupt(seq, jpeg)
    assert jpeg.startswith(cut) and len(jpeg) // 4 <= len(cut) < len(jpeg)
    assert jpeg_truncated(cut) and not jpeg_truncated(jpeg)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"drop_pct": 70, "corrupt_pct": 40}, "more than all of them"),
        ({"drop_pct": -1}, "greater than or equal to 0"),
        ({"blackouts": ["40:30"]}, "must end after it starts"),
        ({"blackouts": ["soon"]}, "every part must be a number"),
    ],
)
def test_impossible_faults_are_refused(kwargs, needle) -> None:
    with pytest.raises(ValidationError, match=needle):
        CameraFaults(**kwargs)


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--camera-blackout", "40:30"], "--camera-blackout"),
        (["--frame-loss", "70", "--frame-corrupt", "40"], "--frame-loss + --frame-corrupt"),
    ],
)
def test_serve_names_the_bad_fault_option_before_starting_anything(args, option) -> None:
    res = CliRunner().invoke(app, ["serve", "--port", "0", "--vehicle-port", "0", *args])
    assert res.exit_code == 2
    assert option in res.output
