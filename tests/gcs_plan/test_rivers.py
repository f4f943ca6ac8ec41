"""The bundled Futian river data: valid GeoJSON, where the rivers are, ~1 km segments that join up."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

import contract.rivers as rivers
from contract.geo import distance_m

# Bounding boxes the brief gives for the two reaches (lat_min, lat_max, lon_min, lon_max).
BOXES = {"shenzhen": (22.50, 22.53, 114.00, 114.10), "xinzhou": (22.52, 22.56, 114.03, 114.04)}


def test_file_is_a_feature_collection_of_named_centerlines_marked_not_for_navigation():
    fc = rivers.load_rivers()
    assert fc["type"] == "FeatureCollection"
    assert "not for navigation" in fc["note"].lower()
    ids = set()
    for f in fc["features"]:
        assert f["type"] == "Feature" and f["geometry"]["type"] == "LineString"
        p = f["properties"]
        assert p["name_en"] and p["name_zh"] and p["width_m"] > 0
        assert "not for navigation" in p["note"]
        assert all(s.startswith(p["id"] + "-") for s in p["segments"])
        ids.add(p["id"])
    assert ids == {"shenzhen", "xinzhou"}
    readme = (Path(rivers.__file__).parent / "README.md").read_text()
    assert "not for navigation" in readme.lower()


def test_load_rivers_returns_a_copy():
    fc = rivers.load_rivers()
    fc["features"].clear()
    assert rivers.load_rivers()["features"]


@pytest.mark.parametrize("river_id", ["shenzhen", "xinzhou"])
def test_rivers_lie_where_the_brief_says(river_id):
    lat0, lat1, lon0, lon1 = BOXES[river_id]
    tol = 0.002  # ~200 m: the brief's boxes are approximate, and so is the data (README)
    r = rivers.river(river_id)
    assert all(lat0 - tol <= lat <= lat1 + tol and lon0 - tol <= lon <= lon1 + tol for lon, lat in r.coords)


def test_flow_directions():
    sz = rivers.river("shenzhen").coords
    assert sz[0][0] > sz[-1][0], "the Shenzhen River flows west to the bay"
    xz = rivers.river("xinzhou").coords
    assert xz[0][1] > xz[-1][1], "the Xinzhou River flows south to the bay"


@pytest.mark.parametrize("river_id", ["shenzhen", "xinzhou"])
def test_segments_are_about_a_kilometre_and_join_up(river_id):
    r = rivers.river(river_id)
    segs = rivers.segments(river_id)
    assert [s.id for s in segs] == list(r.segment_ids)
    assert all(800 <= s.length_m <= 1200 for s in segs)
    assert sum(s.length_m for s in segs) == pytest.approx(r.length_m, abs=0.05)  # cm, projection
    for a, b in itertools.pairwise(segs):
        assert distance_m(a.coords[-1][1], a.coords[-1][0], b.coords[0][1], b.coords[0][0]) < 0.01
    assert segs[0].coords[0] == pytest.approx(r.coords[0]) and segs[-1].coords[-1] == pytest.approx(
        r.coords[-1]
    )


def test_unknown_ids_name_the_known_ones():
    with pytest.raises(KeyError, match="shenzhen"):
        rivers.river("pearl")
    with pytest.raises(KeyError, match="xinzhou-1"):
        rivers.segment("xinzhou-99")
    with pytest.raises(KeyError, match="bundled rivers"):
        rivers.segments("pearl")


def test_segments_geojson_and_nearest_segment():
    fc = rivers.segments_geojson()
    assert len(fc["features"]) == len(rivers.segments())
    seg3 = rivers.segment("shenzhen-3")
    (lon_a, lat_a), (lon_b, lat_b) = seg3.coords[0], seg3.coords[1]
    mid = ((lat_a + lat_b) / 2, (lon_a + lon_b) / 2)
    found, dist = rivers.nearest_segment(*mid)
    assert found.id == "shenzhen-3" and dist < 1.0
    found, dist = rivers.nearest_segment(22.5400, 114.0401)  # Xinzhou at Shennan Boulevard
    assert found.river == "xinzhou" and dist < 100
