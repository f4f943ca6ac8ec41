"""Bad model files and bad frames raise typed errors that say what and where; they are counted."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.detect import Detector, DetectorConfig, FrameError, ModelLoadError, metrics
from tests.detect.onnx_builders import constant_output_model, not_a_detector_model


def test_missing_model_file(tmp_path):
    with pytest.raises(ModelLoadError, match=r"missing\.onnx: file does not exist"):
        Detector(DetectorConfig(model_path=tmp_path / "missing.onnx"))


def test_not_onnx_bytes(tmp_path):
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"this is not a protobuf \x00\x01\x02" * 10)
    with pytest.raises(ModelLoadError, match=r"junk\.onnx: not a loadable ONNX model"):
        Detector(DetectorConfig(model_path=path))


def test_onnx_that_is_not_a_detector(tmp_path):
    path = not_a_detector_model(tmp_path / "relu.onnx")
    with pytest.raises(ModelLoadError, match=r"relu\.onnx: input 'x' must be \[1, 3, H, W\]"):
        Detector(DetectorConfig(model_path=path))


def test_image_model_with_unknown_output_layout(tmp_path):
    path = constant_output_model(tmp_path / "seg.onnx", np.zeros((1, 2, 8, 8)), (32, 32), {})
    with pytest.raises(ModelLoadError, match="cannot tell the output layout"):
        Detector(DetectorConfig(model_path=path))


def test_ultralytics_rows_disagree_with_names(tmp_path):
    path = constant_output_model(tmp_path / "y.onnx", np.zeros((1, 7, 5)), (32, 32), {"names": "{0: 'a'}"})
    with pytest.raises(ModelLoadError, match="7 rows, not 4 \\+ 1 classes"):
        Detector(DetectorConfig(model_path=path))


@pytest.fixture
def detector(tmp_path):
    path = constant_output_model(tmp_path / "y.onnx", np.zeros((1, 6, 4)), (32, 32), {"names": "['a', 'b']"})
    return Detector(DetectorConfig(model_path=path))


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (None, "no image"),
        ([[1, 2, 3]], "expected a numpy array, got list"),
        (np.zeros((64, 64, 3), np.float32), "expected dtype uint8, got float32"),
        (np.zeros((64, 64), np.uint8), r"expected shape \(H, W, 3\)"),
        (np.zeros((64, 64, 4), np.uint8), r"expected shape \(H, W, 3\)"),
        (np.zeros((0, 0, 3), np.uint8), "0x0 px"),
    ],
)
def test_bad_frames_raise_and_are_counted(detector, frame, message):
    before = detector.rejected
    total = sum(
        s.value for m in metrics.REJECTED_FRAMES.collect() for s in m.samples if s.name.endswith("_total")
    )
    with pytest.raises(FrameError, match=message) as info:
        detector.detect(frame, where="cam0#17")
    assert str(info.value).startswith("cam0#17:")
    assert detector.rejected == before + 1
    assert not detector.healthy
    after = sum(
        s.value for m in metrics.REJECTED_FRAMES.collect() for s in m.samples if s.name.endswith("_total")
    )
    assert after == total + 1
    assert detector.detect(np.zeros((64, 64, 3), np.uint8)) == []  # carries on with good frames
    assert detector.healthy


def test_detect_command_reports_each_bad_input_by_path_and_goes_on(tmp_path):
    from typer.testing import CliRunner

    from edge.detect.cli import app

    good = tmp_path / "water.png"
    cv2.imwrite(str(good), np.full((540, 960, 3), 90, np.uint8))
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8 truncated")
    half = tmp_path / "half.jpg"  # a copy stopped half-way: OpenCV alone reads it with grey rows
    jpeg = cv2.imencode(".jpg", np.random.default_rng(0).integers(0, 255, (540, 960, 3), np.uint8))[1]
    half.write_bytes(jpeg.tobytes()[: len(jpeg) // 2])
    text_file = tmp_path / "notes.png"
    text_file.write_text("not a picture")
    inputs = [tmp_path / "gone.jpg", corrupt, half, text_file, good]
    res = CliRunner().invoke(app, ["detect", *map(str, inputs), "--json"])
    assert res.exit_code == 1
    text = " ".join(res.output.split())
    assert "gone.jpg: no such file" in text and "corrupt.jpg: the JPEG is truncated" in text
    assert "half.jpg: the JPEG is truncated" in text and "notes.png: not an image OpenCV can decode" in text
    assert "4 input(s) skipped" in text
    assert '"source": "' + str(good) in res.output  # the good one still ran
