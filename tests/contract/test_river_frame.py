"""A point in a river's own frame (``contract.rivers.locate`` / ``on_river``): how far along the
river from its upstream end, and how far to the right of the flow."""

from __future__ import annotations

import json

import pytest

import contract.rivers as rivers
from contract.geo import offset

LAT, LON = 22.5, 114.0
# a river flowing east for 200 m, then north for 100 m; (lon, lat) as GeoJSON
EAST = offset(LAT, LON, 0.0, 200.0)
NORTH = offset(*EAST, 100.0, 0.0)
LINE = [(LON, LAT), (EAST[1], EAST[0]), (NORTH[1], NORTH[0])]


@pytest.mark.parametrize(
    ("north", "east", "arc", "off"),
    [
        (0.0, 50.0, 50.0, 0.0),  # on the line
        (-10.0, 50.0, 50.0, 10.0),  # south of an east-flowing river: its right bank
        (12.0, 120.0, 120.0, -12.0),  # north of it: the left
        (40.0, 210.0, 240.0, 10.0),  # east of the north-flowing leg: its right
        (40.0, 185.0, 240.0, -15.0),
    ],
)
def test_locate_gives_arc_from_upstream_and_offset_right_of_the_flow(north, east, arc, off):
    a, o, d = rivers.locate(*offset(LAT, LON, north, east), LINE)
    assert a == pytest.approx(arc, abs=0.05)
    assert o == pytest.approx(off, abs=0.05)
    assert d == pytest.approx(abs(off), abs=0.05)


def test_locate_needs_a_line():
    with pytest.raises(ValueError, match="two points"):
        rivers.locate(LAT, LON, LINE[:1])


def test_on_river_finds_the_bundled_river_and_nothing_off_it():
    shenzhen = rivers.river("shenzhen")
    lon0, lat0 = shenzhen.coords[3]
    p = rivers.on_river(lat0, lon0)
    assert p is not None and p.river == "shenzhen" and abs(p.offset_m) < 0.01
    assert p.arc_m == pytest.approx(rivers.polyline_length_m(shenzhen.coords[:4]), rel=1e-3)
    # downstream (to the next vertex) the arc grows
    lon1, lat1 = shenzhen.coords[4]
    q = rivers.on_river(lat0 + 0.1 * (lat1 - lat0), lon0 + 0.1 * (lon1 - lon0))
    assert q is not None and q.arc_m > p.arc_m
    # two river widths off the centerline is not on it; a kilometre north of it, nor
    assert rivers.on_river(*offset(lat0, lon0, 2.5 * shenzhen.width_m, 0.0)) is None
    assert rivers.on_river(*offset(lat0, lon0, 1000.0, 0.0)) is None


def _doc(*features):
    return {"type": "FeatureCollection", "features": list(features)}


def _feature(props, geometry=None):
    return {
        "type": "Feature",
        "properties": props,
        "geometry": geometry or {"type": "LineString", "coordinates": LINE},
    }


def test_a_sites_own_rivers_read_from_geojson(tmp_path):
    path = tmp_path / "rivers.geojson"
    path.write_text(json.dumps(_doc(_feature({"name": "canal", "width_m": 30, "tidal": False}))))
    (canal,) = rivers.read_rivers(path)
    assert (canal.id, canal.width_m, canal.tidal, canal.segment_ids) == ("canal", 30.0, False, ())
    assert canal.length_m == pytest.approx(300.0, abs=0.1)
    p = rivers.on_river(*offset(LAT, LON, -10.0, 50.0), among=[canal])
    assert p == rivers.RiverPoint(
        "canal", pytest.approx(50.0, abs=0.05), pytest.approx(10.0, abs=0.05), False
    )
    assert rivers.on_river(*offset(LAT, LON, -10.0, 50.0)) is None  # not a bundled river
    assert all(r.tidal for r in rivers.rivers().values())  # the bundled ones both turn


@pytest.mark.parametrize(
    ("doc", "says"),
    [
        ({"type": "Feature"}, "not a GeoJSON FeatureCollection"),
        (_doc(), "no river in it"),
        (_doc(_feature({"id": "a"})), "feature 0 (a): no 'width_m'"),
        (_doc(_feature({"id": "a", "width_m": -3})), "width_m must be a width in metres"),
        (_doc(_feature({"id": "a", "width_m": 30, "tidal": "yes"})), "tidal must be true or false"),
        (
            _doc(_feature({"id": "a", "width_m": 30}, {"type": "Polygon", "coordinates": []})),
            "a Polygon, expected",
        ),
        (
            _doc(
                _feature(
                    {"id": "a", "width_m": 30}, {"type": "LineString", "coordinates": [[200, 1], [0, 0]]}
                )
            ),
            "WGS84",
        ),
        (
            _doc(_feature({"id": "a", "width_m": 30}, {"type": "LineString", "coordinates": [["x", 1]]})),
            "feature 0",
        ),
    ],
)
def test_bad_river_data_is_refused_naming_file_and_feature(doc, says):
    with pytest.raises(rivers.RiverDataError, match=r"^ours\.geojson: ") as e:
        rivers.rivers_from_geojson(doc, "ours.geojson")
    assert says in str(e.value)


def test_an_unreadable_river_file_says_so(tmp_path):
    (tmp_path / "bad.geojson").write_text("{not json")
    with pytest.raises(rivers.RiverDataError, match="cannot read GeoJSON"):
        rivers.read_rivers(tmp_path / "bad.geojson")
