"""Fine-tuning the shipped detector on a user's own labelled imagery (real torch, real onnxruntime).

The network is read back out of the shipped ONNX, so the first check is that it is the same
network; then that the command trains on a plain YOLO dataset in the user's class names, writes
a model the runtime loads, and scores it beside the one it started from.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest
import torch
from typer.testing import CliRunner

from contract.camera import CameraPose
from edge.detect import DEFAULT_MODEL, Detector, DetectorConfig
from edge.detect.detection import Detection
from models.finetune import hard_negatives
from models.network import DEFAULT_CONFIG, DecodedRiverNet, RiverNet
from models.onnx_import import architecture, init_from_onnx, rivernet_from_onnx
from models.yolo_io import yolo_lines
from riverpatrol.cli import app
from sim.camera import RiverScene, render
from tests.detect.onnx_builders import constant_output_model

pytestmark = pytest.mark.skipif(not DEFAULT_MODEL.is_file(), reason="shipped model not built")
USER_NAMES = ["plastic_bottle", "bag", "foam", "styrofoam", "vegetation"]  # contract order, one renamed


def _outputs(path: Path, x: np.ndarray) -> np.ndarray:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"images": x})[0]


def test_the_network_read_from_the_shipped_onnx_is_the_shipped_network() -> None:
    net, meta = rivernet_from_onnx(DEFAULT_MODEL)
    assert architecture(meta) == net.config == DEFAULT_CONFIG  # the shipped architecture
    x = np.random.default_rng(0).random((1, 3, 544, 960), dtype=np.float32)
    with torch.no_grad():
        ours = DecodedRiverNet(net).eval()(torch.from_numpy(x)).numpy()
    # float32 sums in another order (torch's and onnxruntime's kernels, the threads an earlier test
    # left set) differ by ~1e-4 of a value: a wrong weight or layer differs by whole units
    np.testing.assert_allclose(ours, _outputs(DEFAULT_MODEL, x), rtol=1e-3, atol=1e-3)


def test_training_can_start_from_the_shipped_onnx() -> None:
    init = init_from_onnx(DEFAULT_MODEL)  # what models.build --init-weights model.onnx starts from
    RiverNet(5, **init["config"]).load_state_dict(init["state_dict"])
    assert init["train"]["from_onnx"] == DEFAULT_MODEL.name and init["train"]["steps_done"] > 0


def test_a_model_that_is_no_rivernet_is_refused(tmp_path: Path) -> None:
    path = constant_output_model(
        tmp_path / "y.onnx", np.zeros((1, 6, 4), np.float32), (64, 64), {"names": "{0: 'a'}"}
    )
    with pytest.raises(ValueError, match="not a RiverNet export"):
        rivernet_from_onnx(path)


def test_frames_are_trained_at_the_scale_the_runtime_runs_them() -> None:
    det = Detector(DetectorConfig(verifier="off"))  # the shipped model: 544x960 input, native 1080p
    gsd = det.model_gsd_m
    assert det.input_scale((1080, 1920)) == pytest.approx(0.5)  # fitted, as it comes
    assert det.input_scale((1080, 1920), 0.025) == pytest.approx(0.5)  # within tolerance
    assert det.input_scale((2160, 3840), 0.010) == pytest.approx(0.5 * 0.010 / gsd)  # to scale
    assert det.input_scale((2160, 3840), 0.0116) == pytest.approx(0.25)  # to scale, capped at the fit
    assert det.input_scale((2160, 3840)) == pytest.approx(0.5)  # tiled at native scale
    assert det.input_scale((720, 960)) == pytest.approx(544 / 720)  # small: fitted


def test_hard_negatives_are_the_sources_boxes_on_no_labelled_item() -> None:
    class Miner:  # the part of a Detector that mining uses
        def detect(self, frame, gsd_m=None):
            return [Detection(10, 10, 20, 20, 0.9, 0, "bottle"), Detection(50, 50, 60, 60, 0.4, 1, "bag")]

    labelled = np.asarray([[12, 12, 18, 18]], np.float32)
    np.testing.assert_array_equal(
        hard_negatives(Miner(), np.zeros((80, 80, 3), np.uint8), labelled), [[50, 50, 60, 60]]
    )
    assert len(hard_negatives(Miner(), np.zeros((80, 80, 3), np.uint8), np.zeros((0, 4), np.float32))) == 2
    assert hard_negatives(None, np.zeros((80, 80, 3), np.uint8), labelled).shape == (0, 4)


@pytest.fixture(scope="module")
def user_dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("my_river")
    scene = RiverScene(seed=31, n_debris=400, n_distractors=40, domain="shift")
    items = [d for d in scene.debris if d.size_m >= 0.3]
    for split, ks in (("train", range(3)), ("val", range(3, 5))):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for k in ks:
            lat, lon = scene.to_lat_lon(*items[5 * k].position_ne(scene.river, 0.0))
            f = render(scene, CameraPose(lat=lat, lon=lon, alt_m=30.0, yaw_deg=50.0 * k), t=float(k))
            cv2.imwrite(str(root / "images" / split / f"{k}.jpg"), f.image)
            boxes = np.asarray([[b.x1, b.y1, b.x2, b.y2] for b in f.truth], np.float32).reshape(-1, 4)
            classes = np.asarray([b.class_index for b in f.truth], np.int64)
            (root / "labels" / split / f"{k}.txt").write_text(yolo_lines(boxes, classes, 1920, 1080))
    (root / "data.yaml").write_text(f"path: .\ntrain: images/train\nval: images/val\nnames: {USER_NAMES}\n")
    return root / "data.yaml"


def test_finetune_command_trains_exports_and_scores_beside_the_source(
    tmp_path: Path, user_dataset: Path
) -> None:
    out = tmp_path / "mine.onnx"
    args = ["model", "finetune", str(user_dataset), "--class-map", "plastic_bottle=bottle", "--out", str(out)]
    res = CliRunner().invoke(
        app, [*args, "--steps", "4", "--batch", "2", "--val-split", "val", "--gsd-cm", "2.31"]
    )
    assert res.exit_code == 0, res.output
    assert "3 images" in res.output and "hard negatives" in res.output and "4 steps" in res.output
    assert "fine-tuned (AP50" in res.output and "source, detector alone (AP50" in res.output
    det = Detector(DetectorConfig(model_path=out, verifier="auto"))
    assert det.names == ("bottle", "bag", "foam", "styrofoam", "vegetation") and det.verifier is None
    x = np.random.default_rng(1).random((1, 3, 544, 960), dtype=np.float32)
    assert np.abs(_outputs(out, x) - _outputs(DEFAULT_MODEL, x)).max() > 1e-3  # it learnt something
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["finetuned_from"].startswith("riverpatrol_debris.onnx") and meta["train_steps"] == "4"
    assert meta["model_version"].endswith("+finetuned") and "verifier" not in meta
    assert int(meta["train_items"]) > 3 and int(meta["train_hard_negatives"]) >= 0 and meta["gsd_m"]

    zero = tmp_path / "zero.onnx"  # no steps: the shipped network, written again
    res = CliRunner().invoke(
        app, ["model", "finetune", str(user_dataset), "--steps", "0", "--out", str(zero)]
    )
    assert res.exit_code == 0, res.output
    np.testing.assert_allclose(_outputs(zero, x), _outputs(DEFAULT_MODEL, x), rtol=1e-5, atol=1e-5)


def test_finetune_errors_are_clear(tmp_path: Path, user_dataset: Path) -> None:
    res = CliRunner().invoke(app, ["model", "finetune", str(user_dataset), "--class-map", "can=bottle"])
    assert res.exit_code == 2 and "['can']" in " ".join(res.output.split())
    res = CliRunner().invoke(app, ["model", "finetune", str(user_dataset), "--split", "test"])
    assert res.exit_code == 2 and "no split 'test'" in " ".join(res.output.split())
