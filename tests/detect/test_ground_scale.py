"""Frames of another ground scale (other altitude, other camera) run at the model's trained one."""

from __future__ import annotations

import math

import numpy as np
import pytest
from prometheus_client import REGISTRY

from edge.detect import Detector, DetectorConfig
from edge.detect.detector import frame_zoom
from edge.detect.errors import ModelLoadError
from edge.detect.letterbox import letterbox
from tests.detect.onnx_builders import bright_blob_centernet

MODEL_GSD = 0.02  # metres per pixel of the toy model's native 960x544 frame


def test_zoom_is_the_ratio_of_ground_scales_outside_the_tolerance():
    assert frame_zoom(0.04, 0.02) == pytest.approx(2.0)  # flown twice as high: enlarge
    assert frame_zoom(0.01, 0.02) == pytest.approx(0.5)  # a 4K camera: shrink
    assert frame_zoom(0.022, 0.02, tolerance=1.25) is None  # within what training covered
    assert frame_zoom(0.026, 0.02, tolerance=1.25) == pytest.approx(1.3)
    for unknown in (None, float("nan"), float("inf"), 0.0, -1.0):
        assert frame_zoom(unknown, 0.02) is None
    assert frame_zoom(0.02, None) is None


def test_letterbox_at_a_fixed_scale_pads_instead_of_stretching():
    frame = np.full((100, 200, 3), 255, np.uint8)
    tensor, placed = letterbox(frame, (272, 480), scale=0.5)
    assert placed.scale == 0.5  # not the 2.4 that would fit
    filled = tensor[0, 0] > 0.9
    assert filled.sum() == 50 * 100
    tensor, placed = letterbox(np.zeros((1000, 2000, 3), np.uint8), (272, 480), scale=0.5)
    assert placed.scale == pytest.approx(0.24)  # too big for 0.5: fitted


@pytest.fixture
def blob_model(tmp_path):
    # detects white squares of ~20 px at its input (40 px in a native frame); under ~14 px it fades
    return bright_blob_centernet(tmp_path / "blob.onnx", (272, 480), 20, {"gsd_m": str(MODEL_GSD)})


def _square(frame_hw: tuple[int, int], x: int, y: int, side: int) -> np.ndarray:
    frame = np.zeros((*frame_hw, 3), np.uint8)
    frame[y : y + side, x : x + side] = 255
    return frame


def test_a_frame_from_twice_as_high_is_run_at_the_trained_scale(blob_model):
    """A native-size frame from twice the altitude shows the item at half the pixels: as it comes,
    it is squeezed below what the model can see; at its GSD it is enlarged (tiled) and found."""
    det = Detector(DetectorConfig(model_path=blob_model))
    assert det.model_gsd_m == MODEL_GSD
    frame = _square((544, 960), 600, 300, 20)  # 40 px at the model's ground scale
    assert det.detect(frame) == []
    passes = REGISTRY.get_sample_value("riverpatrol_detect_passes_total")
    dets = det.detect(frame, gsd_m=2 * MODEL_GSD)
    assert REGISTRY.get_sample_value("riverpatrol_detect_zoom") == pytest.approx(2.0)
    assert REGISTRY.get_sample_value("riverpatrol_detect_passes_total") - passes == 9  # 3 x 3 tiles
    assert len(dets) == 1
    cx, cy = dets[0].center
    assert abs(cx - 610) <= 6 and abs(cy - 310) <= 6  # in the frame's own pixels
    # within the tolerance the frame runs as it comes: the same as without a GSD
    assert det.detect(frame, gsd_m=1.1 * MODEL_GSD) == []


def test_a_frame_from_closer_is_shrunk_to_the_trained_scale(blob_model):
    """From half the altitude a big frame is not tiled at native scale (items twice the trained
    size, six passes) but shrunk to the trained scale: one pass, the item at its trained size."""
    det = Detector(DetectorConfig(model_path=blob_model))
    frame = _square((1088, 1920), 1000, 500, 80)  # 40 px at the model's ground scale
    assert det._use_tiles(frame.shape[:2], det.view_hw())  # as it comes: tiled at native scale
    assert not det._use_tiles(frame.shape[:2], det.view_hw(MODEL_GSD / 2))
    dets = det.detect(frame, gsd_m=MODEL_GSD / 2)
    assert len(dets) == 1
    cx, cy = dets[0].center
    assert abs(cx - 1040) <= 10 and abs(cy - 540) <= 10


def test_the_config_overrides_the_model_s_gsd_and_models_without_one_ignore_it(tmp_path, blob_model):
    assert Detector(DetectorConfig(model_path=blob_model, model_gsd_m=0.05)).model_gsd_m == 0.05
    plain = bright_blob_centernet(tmp_path / "plain.onnx", (272, 480), 20)
    det = Detector(DetectorConfig(model_path=plain))
    assert det.model_gsd_m is None
    frame = _square((544, 960), 600, 300, 20)
    assert det.detect(frame, gsd_m=0.04) == det.detect(frame) == []


def test_a_bad_gsd_in_the_metadata_is_named(tmp_path):
    path = bright_blob_centernet(tmp_path / "bad.onnx", (272, 480), 20, {"gsd_m": "two cm"})
    with pytest.raises(ModelLoadError, match=r"metadata 'gsd_m' must be metres per pixel > 0, got 'two cm'"):
        Detector(DetectorConfig(model_path=path))


def test_ground_sample_distance_of_the_image_centre():
    from contract.camera import CameraModel, CameraPose
    from edge.geolocate import GeoConfig, ground_sample_distance

    cfg = GeoConfig(camera=CameraModel.default())
    fx = cfg.camera.fx
    nadir = ground_sample_distance(CameraPose(lat=22.5, lon=114.0, alt_m=30.0), cfg)
    assert nadir == pytest.approx(30.0 / fx, rel=1e-3)
    # 45 degrees off nadir: the centre is sqrt(2) farther and foreshortened by another sqrt(2)
    oblique = ground_sample_distance(CameraPose(lat=22.5, lon=114.0, alt_m=30.0, gimbal_pitch_deg=-45), cfg)
    assert oblique == pytest.approx(30.0 / fx * math.sqrt(2) * 2**0.25, rel=1e-2)
    level = CameraPose(lat=22.5, lon=114.0, alt_m=30.0, gimbal_pitch_deg=0)  # centre on the horizon
    assert ground_sample_distance(level, cfg) is None


def test_the_detect_command_takes_the_images_gsd(tmp_path, blob_model):
    import json

    import cv2
    from typer.testing import CliRunner

    from edge.detect.cli import app

    image = tmp_path / "from_60m.png"
    cv2.imwrite(str(image), _square((544, 960), 600, 300, 20))
    base = ["detect", str(image), "--model", str(blob_model), "--json"]
    as_it_comes = CliRunner().invoke(app, base)
    at_its_gsd = CliRunner().invoke(app, [*base, "--gsd-cm", str(2 * MODEL_GSD * 100)])
    assert as_it_comes.exit_code == 0 and at_its_gsd.exit_code == 0, as_it_comes.output + at_its_gsd.output
    assert json.loads(as_it_comes.stdout.splitlines()[-1])["detections"] == []
    (found,) = json.loads(at_its_gsd.stdout.splitlines()[-1])["detections"]
    assert found["class"] == "blob"
