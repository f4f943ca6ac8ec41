"""A model of the user's own, with its own class names, alerts in the contract's debris classes.

An Ultralytics export names classes as its dataset did (``Plastic_Bottle``, ``tyre``); an alert
must carry one of the contract's five, so the agent maps them (``class_map``) and refuses at start
a class that is neither mapped nor left out, instead of failing every alert in flight.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest
from typer.testing import CliRunner

from contract.messages import DEBRIS_CLASSES
from edge.detect import Detector, DetectorConfig
from edge.detect.classes import ClassMapError, debris_classes, match_names, parse_name_map, to_debris
from edge.detect.detection import Detection
from edge.geolocate import GeoConfig
from edge.pipeline import FramePipeline
from edge.telemetry.pose import Pose
from edge.tracker import Tracker, TrackerConfig
from riverpatrol.cli import app
from tests.detect.onnx_builders import constant_output_model

NAMES = "{0: 'Plastic_Bottle', 1: 'tyre', 2: 'foam'}"


def test_parse_name_map() -> None:
    assert parse_name_map(" plastic_bottle=bottle, tyre= ,*=") == {
        "plastic_bottle": "bottle",
        "tyre": "",
        "*": "",
    }
    assert parse_name_map("") == {}
    for bad, why in (("bottle", "not 'name=class'"), ("=bag", "names no class"), ("*=bag", "only leave")):
        with pytest.raises(ClassMapError, match=why):
            parse_name_map(bad)


def test_debris_classes_match_map_leave_out_or_refuse() -> None:
    assert debris_classes(DEBRIS_CLASSES) == DEBRIS_CLASSES  # the shipped model's names
    assert debris_classes(("Foam", "BAG")) == ("foam", "bag")  # any case
    names = ("Plastic_Bottle", "tyre", "foam")
    assert debris_classes(names, parse_name_map("plastic_bottle=bottle,tyre=")) == ("bottle", None, "foam")
    assert debris_classes(names, parse_name_map("plastic_bottle=bottle,*=")) == ("bottle", None, "foam")
    with pytest.raises(ClassMapError, match=r"\['Plastic_Bottle', 'tyre'\] are not debris classes.*'\*='"):
        debris_classes(names)
    with pytest.raises(ClassMapError, match=r"\['can'\], which are not among"):
        debris_classes(names, {"can": "bottle", "*": ""})
    with pytest.raises(ClassMapError, match="sends 'tyre' to 'rubber'"):
        debris_classes(names, {"tyre": "rubber"})
    assert match_names(("a", "B"), ("b", "a")) == {0: 1, 1: 0}


def test_to_debris_renames_reindexes_and_drops() -> None:
    dets = [Detection(0, 0, 4, 4, 0.9, 0, "Plastic_Bottle"), Detection(5, 5, 9, 9, 0.8, 1, "tyre")]
    dets.append(Detection(1, 1, 2, 2, 0.7, 2, "foam"))
    out = to_debris(dets, ("bottle", None, "foam"))
    assert [(d.class_name, d.class_index, d.score) for d in out] == [("bottle", 0, 0.9), ("foam", 2, 0.7)]


@pytest.fixture
def own_model(tmp_path):
    anchors = [  # rows: cx, cy, w, h, score per class; boxes in the 64x64 input
        (20, 20, 4, 4, 0.90, 0.05, 0.05),  # a plastic bottle
        (44, 40, 6, 6, 0.05, 0.85, 0.05),  # a tyre
        (30, 50, 5, 5, 0.05, 0.05, 0.80),  # foam
    ]
    out = np.asarray(anchors, np.float32).T[None]
    return constant_output_model(tmp_path / "own.onnx", out, (64, 64), {"names": NAMES, "imgsz": "[64, 64]"})


def test_pipeline_alerts_in_debris_classes_and_leaves_the_tyre_out(own_model) -> None:
    det = Detector(DetectorConfig(model_path=own_model, score_threshold=0.5, tile="off"))
    assert det.names == ("Plastic_Bottle", "tyre", "foam")
    classes = debris_classes(det.names, parse_name_map("plastic_bottle=bottle,tyre="))
    pipe = FramePipeline(
        det, Tracker(TrackerConfig(drone_id="d")), GeoConfig(), "d", "m", debris_classes=classes
    )
    frame = np.full((1080, 1920, 3), 90, np.uint8)
    payloads = []
    for k in range(8):
        pose = Pose(1000.0 + k, 22.52, 114.06, 30.0, 35.0, 0.0, 0.0, 0.0, False)
        r = pipe.step(frame, 1000.0 + k, pose, datetime.now(UTC))
        assert {d.class_name for d in r.detections} == {"bottle", "foam"}
        payloads += r.payloads
    payloads += pipe.finish(1010.0, datetime.now(UTC))
    alerts = [json.loads(p) for p in payloads]
    assert {a["debris_class"] for a in alerts} == {"bottle", "foam"}
    assert len({a["alert_id"] for a in alerts}) == 2  # one item, one alert id
    assert pipe.stats.left_out == 8 and pipe.stats.skipped.get("bad_alert", 0) == 0


def test_agent_refuses_at_start_a_class_it_cannot_alert(own_model, tmp_path) -> None:
    args = ["edge", "run", "--model", str(own_model), "--camera", str(tmp_path / "none.mp4")]
    res = CliRunner().invoke(app, [*args, "--outbox", str(tmp_path / "o.db"), "--plain"])
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert "detector:" in text and "['Plastic_Bottle', 'tyre'] are not debris classes" in text
    res = CliRunner().invoke(
        app, [*args, "--outbox", str(tmp_path / "o.db"), "--plain", "--class-map", "plastic_bottle=bottle,*="]
    )
    assert res.exit_code == 3 and "none.mp4" in res.output  # past the classes: the camera is what fails
