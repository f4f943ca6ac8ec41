"""The edge agent takes a site's own rivers (``rivers_file`` / ``--rivers``) for the tracker's
river frame, and refuses at start a file it cannot use, saying which feature and why."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from riverpatrol.cli import app


def _run(tmp_path, rivers):
    args = [
        "edge",
        "run",
        "--camera",
        str(tmp_path / "none.mp4"),
        "--outbox",
        str(tmp_path / "o.db"),
        "--plain",
    ]
    return CliRunner().invoke(app, [*args, "--rivers", str(rivers)])


def test_agent_refuses_at_start_a_rivers_file_it_cannot_use(tmp_path) -> None:
    bad = tmp_path / "rivers.geojson"
    outline = {
        "type": "Polygon",
        "coordinates": [[[114.0, 22.5], [114.1, 22.5], [114.0, 22.6], [114.0, 22.5]]],
    }
    feature = {"type": "Feature", "properties": {"id": "lake", "width_m": 40}, "geometry": outline}
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    res = _run(tmp_path, bad)
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert "rivers:" in text and "feature 0 (lake): a Polygon, expected a LineString" in text


def test_agent_takes_a_good_rivers_file(tmp_path) -> None:
    good = tmp_path / "rivers.geojson"
    line = {"type": "LineString", "coordinates": [[114.0, 22.5], [114.01, 22.5]]}
    feature = {
        "type": "Feature",
        "properties": {"id": "canal", "width_m": 20, "tidal": False},
        "geometry": line,
    }
    good.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    res = _run(tmp_path, good)
    assert res.exit_code == 3 and "none.mp4" in res.output  # past the rivers: the camera is what fails
