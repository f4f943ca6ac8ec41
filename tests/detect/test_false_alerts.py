"""``models.false_alerts``: each false alert named by what it lies on, from the camera's ground truth."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from contract.defaults import HOME_LAT, HOME_LON
from contract.geo import offset
from models.false_alerts import NOTHING, alert_causes, cause_label, column_order
from sim.camera.render import TruthBox


def _box(item_id: int, kind: str, size_m: float, north_m: float) -> TruthBox:
    lat, lon = offset(HOME_LAT, HOME_LON, north_m, 0.0)
    return TruthBox(item_id, kind, -1, 0, 0, 10, 10, 1.0, lat, lon, size_m, 0.0)


def _at(north_m: float, cls: str = "bag") -> tuple[float, float, str]:
    lat, lon = offset(HOME_LAT, HOME_LON, north_m, 0.0)
    return (lat, lon, cls)


def test_alerts_are_named_after_the_distractor_they_lie_on_or_nothing():
    frames = [
        [_box(1, "bird", 0.42, 0.0), _box(2, "glint", 0.5, 30.0)],
        [_box(1, "bird", 0.42, 1.0), _box(3, "bird", 0.8, 60.0)],  # the small bird drifted 1 m
    ]
    alerts = [_at(1.5), _at(0.2), _at(31.0, "foam"), _at(60.5), _at(100.0, "vegetation")]
    causes = alert_causes(alerts, frames)
    # the second alert on the small bird is named after it too; 100 m away lies nothing labelled
    assert causes == ["bird < 0.5 m", "bird < 0.5 m", "glint", "bird >= 0.5 m", f"{NOTHING} (vegetation)"]
    assert alert_causes(alerts[:1], []) == [f"{NOTHING} (bag)"]  # no distractors at all
    assert alert_causes(alerts[:1], frames, match_m=0.1) == [f"{NOTHING} (bag)"]  # 0.5 m off: too far


def test_labels_and_their_column_order():
    assert cause_label("bird", 0.5) == "bird >= 0.5 m" and cause_label("wake", 12.0) == "wake"
    labels = [f"{NOTHING} (bag)", "wake", "bird >= 0.5 m", "boat", "bird < 0.5 m", "wake"]
    assert column_order(labels) == ["bird < 0.5 m", "bird >= 0.5 m", "boat", "wake", f"{NOTHING} (bag)"]


def test_cli_counts_every_false_alert_once(tmp_path):
    """A short far-look patrol at a low threshold: glints get confirmed; every alert gets one cause."""
    from typer import Typer

    from models.false_alerts import main

    app = Typer()
    app.command()(main)
    out = tmp_path / "fa.json"
    args = ["--looks", "far", "--per-look", "1", "--frames", "12", "--no-cache", "--thresholds", "0.05"]
    res = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    summary = json.loads(out.read_text())
    own = summary["model_threshold"]
    assert set(summary["by_threshold"]) == {"0.05", f"{own:g}"}  # the model's own is always added
    low = summary["by_threshold"]["0.05"]["far"]
    assert low["debris_free_frames"] == 12
    assert low["false_alerts"] >= 1 and sum(low["causes"].values()) == low["false_alerts"]
    assert "false alerts on debris-free validation patrols" in res.output
    res = CliRunner().invoke(app, ["--looks", "nowhere", "--per-look", "1", "--frames", "2", "--no-cache"])
    assert res.exit_code != 0 and "unknown" in res.output
