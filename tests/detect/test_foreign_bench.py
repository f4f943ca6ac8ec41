"""bench/foreign_images_bench.py on one's own photos, with a trial verifier beside the shipped one."""

from __future__ import annotations

import json

import cv2
import numpy as np
from typer.testing import CliRunner

from bench.foreign_images_bench import app
from edge.detect import DEFAULT_MODEL
from models.outliers import outlier_image


def test_foreign_bench_runs_another_verifier_beside_the_shipped_one(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "leaves.jpg"), outlier_image(99_000, (540, 960)))
    cv2.imwrite(str(photos / "grey.png"), np.full((200, 300, 3), 128, np.uint8))
    verifier = DEFAULT_MODEL.with_name("riverpatrol_verifier.onnx")
    out = tmp_path / "foreign.json"
    args = ["--images", str(photos), "--verifier", str(verifier), "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text())["results"]
    assert list(rows) == [
        "detector + verifier (shipped)",
        "detector + riverpatrol_verifier.onnx",
        "detector alone (baseline)",
    ]
    assert all(r["images"] == 2 for r in rows.values())
    # the same verifier file as the shipped one: the same boxes, image by image
    assert (
        rows["detector + riverpatrol_verifier.onnx"]["per_image"]
        == rows["detector + verifier (shipped)"]["per_image"]
    )
    assert rows["detector alone (baseline)"]["per_image"]["grey.png"] == []
