"""The rebuild command, end to end: every stage of ``python -m models.build`` at smoke scale.

The full build is hours of rendering and training; its stages are unit-tested apart
(test_training_parts.py). This runs the command itself, as a person types it, through all of
them: render, train, export, the detector's threshold on validation patrols, the verifier's
mining and training, the system's operating point, the class prior, held-out scores and the
card, and then loads what it wrote in the edge runtime.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from models.build import DEFAULT_DATA, DEFAULT_OUT, SMOKE, SYSTEM_WEIGHTS, VERIFIER_NAME, smoke_paths

ROOT = Path(__file__).resolve().parents[2]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.timeout(900)
def test_the_rebuild_command_runs_every_stage_at_smoke_scale(tmp_path):
    import cv2

    from edge.detect import Detector, DetectorConfig
    from models.patrol_eval import PATROL_CACHE
    from models.yolo_io import read_split

    shipped = {p: digest(p) for p in (DEFAULT_OUT, DEFAULT_OUT.with_name(VERIFIER_NAME))}
    cached_patrols = sorted(PATROL_CACHE.iterdir()) if PATROL_CACHE.is_dir() else []
    out, data = tmp_path / "m" / "riverpatrol_debris.onnx", tmp_path / "data"
    cmd = [sys.executable, "-m", "models.build", "--smoke", "--out", str(out), "--data", str(data)]
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=840)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]

    card = json.loads(out.with_suffix(".card.json").read_text())
    assert card["build_scale"] == "smoke" and card["system"]["build_scale"] == "smoke"
    assert card["train"]["steps_done"] == 30
    assert card["system"]["verifier_build"]["train"]["steps"] == 60
    assert set(card["system"]["class_weights"]["by_look"]) == {"train", "shift", "far"}
    assert card["system"]["detector_weight"] in SYSTEM_WEIGHTS
    frames_by_look = card["system"]["val"]["patrols"]["debris_free_frames_by_look"]
    assert set(frames_by_look.values()) == {SMOKE.patrol_frames}
    for scores in (card["heldout"], card["system"]["heldout"]):
        assert scores["negative_frames"] == 6 and "recall_ge_0.3m" in scores

    # The detector names the verifier written beside it; the runtime loads the pair at the chosen point.
    verifier = out.with_name(VERIFIER_NAME)
    det = Detector(DetectorConfig(model_path=out))
    assert det.verifier is not None and det.verifier.path == verifier
    assert det.verifier.spec.score_threshold == pytest.approx(card["system"]["threshold"], abs=1e-4)
    frame = cv2.imread(str(read_split(data, "heldout")[0].image_path), cv2.IMREAD_COLOR)
    assert isinstance(det.detect(frame), list)

    # Nothing of the shipped build was touched: its model, its verifier, its cached patrols.
    assert {p: digest(p) for p in shipped} == shipped
    assert (sorted(PATROL_CACHE.iterdir()) if PATROL_CACHE.is_dir() else []) == cached_patrols


def test_a_smoke_build_refuses_the_shipped_model_and_data(tmp_path):
    with pytest.raises(typer.BadParameter, match="--out outside"):
        smoke_paths(tmp_path / "d", DEFAULT_OUT)
    with pytest.raises(typer.BadParameter, match="--out outside"):
        smoke_paths(tmp_path / "d", DEFAULT_OUT.with_name("other.onnx"))
    with pytest.raises(typer.BadParameter, match="smaller splits"):
        smoke_paths(DEFAULT_DATA, tmp_path / "m.onnx")
    data, out = smoke_paths(None, None)  # a scratch folder of its own
    assert out.name == DEFAULT_OUT.name and data.parent == out.parent and not out.exists()
    out.parent.rmdir()
