"""``riverpatrol model score``: a detector scored on a plain YOLO dataset of someone's own imagery.

The dataset here is laid out as a user's would be (Ultralytics ``data.yaml``, their own class names
in their own order, a class the model lacks, no project meta), and its figures must equal the
ones the project's own scorer gives on the same frames with the truth in the model's classes.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from contract.camera import CameraPose
from contract.messages import DEBRIS_CLASSES
from edge.detect import DEFAULT_MODEL, Detector, DetectorConfig
from edge.detect.classes import parse_name_map
from models.evaluate import FrameTruth
from models.score import SplitScores, summarize
from models.score_folder import PROBE_THRESHOLD, UNKNOWN_SIZE_M
from models.yolo_folder import class_mapping, label_path, open_folder, read_labels
from models.yolo_io import parse_yolo, yolo_lines
from riverpatrol.cli import app
from sim.camera import RiverScene, render

#: The user's names, in their order: two renamed, one (tyre) the model has no class for.
USER_NAMES = ["Vegetation_Mat", "foam", "plastic_bag", "bottle", "styrofoam", "tyre"]
CLASS_MAP = "vegetation_mat=vegetation,plastic_bag=bag"
TO_USER = {
    DEBRIS_CLASSES.index(n): i for i, n in enumerate(["vegetation", "foam", "bag", "bottle", "styrofoam"])
}


# --- pure parts ------------------------------------------------------------------------------


def test_label_path_follows_ultralytics() -> None:
    assert label_path(Path("/d/images/val/a.jpg")) == Path("/d/labels/val/a.txt")
    assert label_path(Path("/images/d/images/x.png")) == Path("/images/d/labels/x.txt")  # the last one
    assert label_path(Path("/d/frames/a.jpg")) == Path("/d/frames/a.txt")  # side by side


def test_segment_lines_read_as_their_bounding_box_and_bad_lines_name_the_line() -> None:
    boxes, classes = parse_yolo("2 0.1 0.2 0.3 0.2 0.2 0.4\n", 100, 50, "x.txt")
    assert classes.tolist() == [2]
    np.testing.assert_allclose(boxes[0], [10, 10, 30, 20])
    for bad, why in (
        ("0 0.5 0.5 0.1\n", "expected"),
        ("0 a b c d\n", "not numbers"),
        ("0 nan .5 .1 .1\n", "finite"),
    ):
        with pytest.raises(ValueError, match=f"x.txt:1: .*{why}"):
            parse_yolo(bad, 100, 100, "x.txt")


def test_class_mapping_by_name_with_overrides() -> None:
    m = class_mapping(tuple(USER_NAMES), DEBRIS_CLASSES, parse_name_map(CLASS_MAP))
    assert [DEBRIS_CLASSES[m[i]] if m[i] is not None else None for i in range(6)] == [
        "vegetation",
        "foam",
        "bag",
        "bottle",
        "styrofoam",
        None,
    ]
    assert class_mapping(None, DEBRIS_CLASSES) == {i: i for i in range(5)}
    assert class_mapping(("Bottle", "bag"), DEBRIS_CLASSES, {"bag": ""}) == {0: 0, 1: None}  # left out
    with pytest.raises(ValueError, match="not among"):
        class_mapping(("bottle",), DEBRIS_CLASSES, {"can": "bottle"})
    with pytest.raises(ValueError, match="which is not among"):
        class_mapping(("can",), DEBRIS_CLASSES, {"can": "tin"})
    with pytest.raises(ValueError, match="not 'name=class'"):
        parse_name_map("bottle")


def test_open_folder_reads_data_yaml_folders_and_lists(tmp_path: Path) -> None:
    for split in ("train", "val"):
        (tmp_path / "ds" / "images" / split).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "ds" / "images" / split / f"{split}.png"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "ds" / "data.yaml").write_text(
        "path: .\ntrain: images/train\nval: images/val\nnames: {0: a, 1: b}\n"
    )
    f = open_folder(tmp_path / "ds")
    assert (f.split, f.names, [p.name for p in f.images]) == ("val", ("a", "b"), ["val.png"])
    assert [p.name for p in open_folder(tmp_path / "ds" / "data.yaml", "train").images] == ["train.png"]
    (tmp_path / "ds" / "data.yaml").unlink()
    assert len(open_folder(tmp_path / "ds").images) == 2 and open_folder(tmp_path / "ds").names is None
    assert [p.name for p in open_folder(tmp_path / "ds", "train").images] == ["train.png"]
    (tmp_path / "list.txt").write_text("ds/images/val/val.png\n")
    (tmp_path / "l.yaml").write_text("val: list.txt\nnames: [a]\n")
    assert [p.name for p in open_folder(tmp_path / "l.yaml").images] == ["val.png"]
    with pytest.raises(ValueError, match="no split 'test'"):
        open_folder(tmp_path / "l.yaml", "test")
    (tmp_path / "bad.yaml").write_text("val: x\n")
    with pytest.raises(ValueError, match="needs 'names'"):
        open_folder(tmp_path / "bad.yaml")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images"):
        open_folder(tmp_path / "empty")


def test_label_class_outside_the_dataset_names_is_refused(tmp_path: Path) -> None:
    img = tmp_path / "images" / "a.jpg"
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_text("7 0.5 0.5 0.1 0.1\n")
    with pytest.raises(ValueError, match=r"a.txt: class 7 but the dataset names 6 classes"):
        read_labels(img, 100, 100, 6)


# --- the command on a user-laid-out dataset, against the project's own scorer -----------------


@pytest.fixture(scope="module")
def frames():
    littered = RiverScene(seed=21, n_debris=500, n_distractors=60)
    clean = RiverScene(seed=21, n_debris=0, n_distractors=60)
    out = []
    for k, item in enumerate(d for d in littered.debris if d.size_m >= 0.35):
        if k == 2:
            break
        lat, lon = littered.to_lat_lon(*item.position_ne(littered.river, 0.0))
        pose = CameraPose(lat=lat, lon=lon, alt_m=30.0, yaw_deg=40.0 * k)
        out += [render(littered, pose, t=0.0), render(clean, pose, t=0.0)]
    return out


def _user_dataset(root: Path, frames) -> Path:
    (root / "images" / "val").mkdir(parents=True)
    (root / "labels" / "val").mkdir(parents=True)
    for i, f in enumerate(frames):
        cv2.imwrite(str(root / "images" / "val" / f"f{i}.jpg"), f.image, [cv2.IMWRITE_JPEG_QUALITY, 95])
        h, w = f.image.shape[:2]
        boxes = np.asarray([[b.x1, b.y1, b.x2, b.y2] for b in f.truth], np.float32).reshape(-1, 4)
        classes = np.asarray([TO_USER[b.class_index] for b in f.truth], np.int64)
        text = yolo_lines(boxes, classes, w, h)
        if len(boxes):
            text += "5 0.02 0.02 0.01 0.01\n"  # a tyre in the corner: a class the model lacks
        if text or i % 4 == 1:  # one clean frame has an empty label file, the other none at all
            (root / "labels" / "val" / f"f{i}.txt").write_text(text)
    (root / "images" / "val" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    cv2.imwrite(str(root / "images" / "val" / "badlabel.jpg"), frames[1].image)
    (root / "labels" / "val" / "badlabel.txt").write_text("0 0.5 0.5\n")
    names = "\n".join(f"  {i}: {n}" for i, n in enumerate(USER_NAMES))
    (root / "data.yaml").write_text(f"path: .\nval: images/val\nnames:\n{names}\n")
    return root / "data.yaml"


@pytest.mark.skipif(not DEFAULT_MODEL.is_file(), reason="shipped model not built")
def test_score_command_matches_the_project_scorer(tmp_path: Path, frames) -> None:
    data = _user_dataset(tmp_path / "my_river", frames)
    out = tmp_path / "score.json"
    res = CliRunner().invoke(app, ["model", "score", str(data), "--class-map", CLASS_MAP, "--out", str(out)])
    assert res.exit_code == 0, res.output
    got = json.loads(out.read_text())

    # the same frames, truth in the model's own classes, through models.score (no tyre, no files)
    probe = Detector(DetectorConfig(score_threshold=PROBE_THRESHOLD))
    scores, negatives = SplitScores(), []
    for i, f in enumerate(frames):
        image = cv2.imread(str(data.parent / "images" / "val" / f"f{i}.jpg"))
        dets = probe.detect(image)
        boxes = np.asarray([[b.x1, b.y1, b.x2, b.y2] for b in f.truth], np.float32).reshape(-1, 4)
        classes = np.asarray([b.class_index for b in f.truth], np.int64)
        scores.add(dets, FrameTruth(boxes, classes, np.full(len(boxes), UNKNOWN_SIZE_M, np.float32)))
        if not f.truth:
            negatives += [d.score for d in dets]
    want = summarize(scores, np.asarray(negatives), 2, probe.model_threshold, DEBRIS_CLASSES)

    assert got["items_ge_0.3m"] == want["items_ge_0.3m"] >= 8
    for key in ("recall_ge_0.3m", "precision_ge_0.3m", "map50_ge_0.3m", "tp", "fp", "fn", "false_detections"):
        assert got[key] == want[key], key
    assert got["recall_any_class_ge_0.3m"] > 0 and got["ms_per_image"]["median"] > 0
    assert got["class_confusion_ge_0.3m"] == want["class_confusion_ge_0.3m"]
    assert got["negative_frames"] == 2 and got["dataset"]["label_files"] == 4  # 3 frames' + badlabel's
    assert got["dataset"]["unmapped_items"] == {"tyre": 2}
    assert got["dataset"]["class_map"]["Vegetation_Mat"] == "vegetation"
    assert (
        got["per_size"] is None and sum(r["items"] for r in got["per_size_px"].values()) == got["items_all"]
    )
    skipped = {Path(s["file"]).name: s["error"] for s in got["skipped"]}
    assert skipped.keys() == {"broken.jpg", "badlabel.jpg"}
    assert "badlabel.txt:1" in skipped["badlabel.jpg"] and "JPEG is truncated" in skipped["broken.jpg"]
    assert "skipped" in res.output and "tyre" in res.output


@pytest.mark.skipif(not DEFAULT_MODEL.is_file(), reason="shipped model not built")
def test_score_command_sizes_items_in_metres_with_a_gsd(tmp_path: Path, frames) -> None:
    data = _user_dataset(tmp_path / "ds", frames[:2])
    out = tmp_path / "s.json"
    gsd_cm = frames[0].gsd_m * 100
    res = CliRunner().invoke(
        app,
        ["model", "score", str(data), "--class-map", CLASS_MAP, "--gsd-cm", f"{gsd_cm}", "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    got = json.loads(out.read_text())
    assert got["dataset"]["gsd_cm"] == pytest.approx(gsd_cm, abs=1e-3)
    assert sum(r["items"] for r in got["per_size"].values()) == got["items_all"]
    assert got["items_ge_0.3m"] < got["items_all"]  # the small ones now fall below the target size


def test_score_command_errors_are_clear(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["model", "score", str(tmp_path / "nowhere")])
    assert res.exit_code == 2 and "no such data.yaml or folder" in " ".join(res.output.split())
    (tmp_path / "data.yaml").write_text("val: images\nnames: [can]\n")
    (tmp_path / "images").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "a.png"), np.zeros((8, 8, 3), np.uint8))
    res = CliRunner().invoke(app, ["model", "score", str(tmp_path), "--class-map", "can=tin"])
    assert res.exit_code == 2 and "'tin', which is not among" in " ".join(res.output.split())
