"""``riverpatrol gcs plan`` end to end: files written, refusals and errors with their exit codes."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from contract.geo import offset
from ground_station.cli import EXIT_BAD_PARAMETERS, EXIT_BAD_RIVER, EXIT_BATTERY, app
from ground_station.planning.mission_files import read_fence, read_plan, read_wpl

runner = CliRunner()


def plan(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, ["plan", *args], env=env)


def test_segment_plan_writes_three_files_that_agree(tmp_path):
    r = plan("--river", "shenzhen", "--segment", "shenzhen-2", "--alt", "40", "--out", str(tmp_path / "p"))
    assert r.exit_code == 0, r.output
    for word in ("passes", "waypoints", "route length", "flight time", "battery"):
        assert word in r.output
    files = sorted(p.name for p in (tmp_path / "p").iterdir())
    assert files == ["shenzhen-2.geojson", "shenzhen-2.plan", "shenzhen-2.waypoints"]
    wpl = read_wpl(tmp_path / "p" / "shenzhen-2.waypoints")
    qgc = read_plan(tmp_path / "p" / "shenzhen-2.plan")
    assert all(a.same_as(b, tol=0.0) for a, b in zip(wpl, qgc, strict=True)) and len(wpl) == len(qgc)
    assert wpl[1].z == 40.0
    route = json.loads((tmp_path / "p" / "shenzhen-2.geojson").read_text())
    assert route["type"] == "FeatureCollection"
    # the geofence: in the .plan as QGC keeps one, on the map file, and said in the summary
    fence = read_fence(tmp_path / "p" / "shenzhen-2.plan")
    assert len(fence) == 1 and fence[0].inclusion and 3 <= len(fence[0].points) <= 70
    drawn = next(f for f in route["features"] if f["properties"]["kind"] == "geofence")
    assert [c[::-1] for c in drawn["geometry"]["coordinates"][0][:-1]] == [list(p) for p in fence[0].points]
    assert f"{len(fence[0].points)} corners, 30 m around the route" in r.output


def test_too_long_a_river_is_refused_with_a_split_that_then_flies(tmp_path):
    r = plan("--river", "shenzhen", "--out", str(tmp_path))
    assert r.exit_code == EXIT_BATTERY
    assert "refused" in r.output and "split into" in r.output
    n = int(r.output.split("split into ")[1].split()[0])
    assert n >= 2
    assert list(tmp_path.iterdir()) == []  # nothing written for a refused plan
    for k in (1, n):
        ok = plan("--river", "shenzhen", "--sortie", f"{k}/{n}", "--out", str(tmp_path))
        assert ok.exit_code == 0, ok.output
    assert len(list(tmp_path.glob("*.plan"))) == 2


def test_bigger_battery_from_config_file_flies_the_whole_river(tmp_path):
    cfg = tmp_path / "rp.toml"
    cfg.write_text("[gcs]\nbattery_wh = 2000\n")
    r = plan("--river", "xinzhou", "--config", str(cfg), "--out", str(tmp_path / "o"))
    assert r.exit_code == 0, r.output


def test_env_overrides_the_default_altitude(tmp_path):
    r = plan(
        "--river",
        "xinzhou",
        "--segment",
        "xinzhou-1",
        "--out",
        str(tmp_path),
        env={"RIVERPATROL_GCS_ALT_M": "55"},
    )
    assert r.exit_code == 0, r.output
    assert read_wpl(tmp_path / "xinzhou-1.waypoints")[1].z == 55.0


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--river", "pearl"], EXIT_BAD_RIVER, "unknown river"),
        (["--river", "shenzhen", "--segment", "xinzhou-1"], EXIT_BAD_RIVER, "belongs to river"),
        (["--river", "xinzhou", "--alt", "0"], EXIT_BAD_PARAMETERS, "altitude"),
        (["--river", "xinzhou", "--overlap", "0.99"], EXIT_BAD_PARAMETERS, "overlap"),
        (["--river", "xinzhou", "--home", "north"], EXIT_BAD_PARAMETERS, "lat,lon"),
        (["--river", "xinzhou", "--sortie", "3/2"], EXIT_BAD_PARAMETERS, "K <= N"),
    ],
)
def test_bad_input_exits_with_a_clear_message(tmp_path, args, code, says):
    r = plan(*args, "--out", str(tmp_path))
    assert r.exit_code == code, r.output
    assert says in r.output


def test_unreadable_geojson_file(tmp_path):
    bad = tmp_path / "river.geojson"
    bad.write_text("{not json")
    r = plan("--river", str(bad), "--out", str(tmp_path / "o"))
    assert r.exit_code == EXIT_BAD_RIVER and "cannot read GeoJSON" in r.output
    r = plan("--river", str(tmp_path / "missing.geojson"), "--out", str(tmp_path / "o"))
    assert r.exit_code == EXIT_BAD_RIVER


def _line(points_en: list[tuple[float, float]], origin=(22.53, 114.05)) -> list[list[float]]:
    return [list(offset(*origin, n, e))[::-1] for e, n in points_en]


def test_linestring_file_needs_a_width_then_plans(tmp_path):
    f = tmp_path / "creek.geojson"
    f.write_text(json.dumps({"type": "LineString", "coordinates": _line([(0, 0), (800, 100), (1500, 0)])}))
    r = plan("--river", str(f), "--out", str(tmp_path / "o"))
    assert r.exit_code == EXIT_BAD_RIVER and "--width" in r.output
    r = plan("--river", str(f), "--width", "25", "--out", str(tmp_path / "o"))
    assert r.exit_code == 0, r.output


def test_polygon_file_plans_over_the_outline(tmp_path):
    # a 1.2 km x 60 m channel drawn as a polygon
    ring = _line([(0, -30), (1200, -30), (1200, 30), (0, 30), (0, -30)])
    f = tmp_path / "channel.geojson"
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "channel"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        ],
    }
    f.write_text(json.dumps(doc))
    r = plan("--river", str(f), "--out", str(tmp_path / "o"))
    assert r.exit_code == 0, r.output
    assert (tmp_path / "o" / "channel.waypoints").exists()


def test_help_lists_the_options():
    r = runner.invoke(app, ["plan", "--help"], env={"COLUMNS": "200"})
    assert r.exit_code == 0
    for opt in ("--river", "--segment", "--alt", "--speed", "--overlap", "--home", "--out", "--sortie"):
        assert opt in r.output
    assert "Exit codes" in r.output


def test_a_windy_day_costs_battery_and_too_strong_a_wind_is_refused(tmp_path):
    calm = plan("--river", "shenzhen", "--segment", "shenzhen-3", "--out", str(tmp_path / "c"))
    windy = plan(
        "--river", "shenzhen", "--segment", "shenzhen-3", "--wind", "8@45", "--out", str(tmp_path / "w")
    )
    assert calm.exit_code == 0 and windy.exit_code == 0, windy.output
    wh = [float(r.output.split("battery")[1].split(" Wh")[0].strip(" │")) for r in (calm, windy)]
    assert wh[1] > wh[0] and "8 m/s from 45°: +" in windy.output and "│ wind " not in calm.output
    strong = plan(
        "--river", "shenzhen", "--segment", "shenzhen-3", "--wind", "12@45", "--out", str(tmp_path / "s")
    )
    assert strong.exit_code == EXIT_BAD_PARAMETERS
    assert "above the vehicle's 16 m/s (max_airspeed_mps)" in " ".join(strong.output.split())
    assert not (tmp_path / "s").exists()  # nothing written for a refused plan
    slower = plan("--river", "shenzhen", "--segment", "shenzhen-3", "--wind", "12@45", "--speed", "3",
                  "--out", str(tmp_path / "s"))  # fmt: skip
    assert slower.exit_code == EXIT_BATTERY, slower.output  # slow into a strong wind: the battery
    assert "split into 3 sorties" in slower.output  # ... advised in the same wind
    assert plan("--river", "shenzhen", "--wind", "strong", "--out", str(tmp_path)).exit_code == 2
