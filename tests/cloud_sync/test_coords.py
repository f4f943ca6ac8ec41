"""GCJ-02 / BD-09 conversions against published reference points and round trips."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloud import coords
from contract.geo import distance_m

# (wgs lon, wgs lat, gcj lon, gcj lat): the reference vectors of googollee/eviltransform's tests.
EVILTRANSFORM = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),  # Shanghai
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),  # Shenzhen
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),  # Beijing
]
# GCJ-02 -> BD-09 pair published with the geotool crate's tests (Jiaxing).
GCJ_BD = (121.09626935575027, 30.608604331756705, 121.10271732371203, 30.61484572185035)

china = st.tuples(st.floats(73.5, 134.5), st.floats(18.2, 53.5))


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), EVILTRANSFORM)
def test_wgs84_to_gcj02_matches_reference(wlon, wlat, glon, glat):
    lon, lat = coords.wgs84_to_gcj02(wlon, wlat)
    assert lon == pytest.approx(glon, abs=1e-9)
    assert lat == pytest.approx(glat, abs=1e-9)


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), EVILTRANSFORM)
def test_gcj02_to_wgs84_inverts_reference_to_sub_centimetre(wlon, wlat, glon, glat):
    lon, lat = coords.gcj02_to_wgs84(glon, glat)
    assert distance_m(lat, lon, wlat, wlon) < 0.01


def test_gcj02_to_bd09_matches_reference():
    glon, glat, blon, blat = GCJ_BD
    assert coords.gcj02_to_bd09(glon, glat) == pytest.approx((blon, blat), abs=1e-9)
    lon, lat = coords.bd09_to_gcj02(blon, blat)
    assert distance_m(lat, lon, glat, glon) < 0.01


def test_shift_on_the_shenzhen_river_is_hundreds_of_metres():
    # The reason this module exists: unconverted points sit on the wrong bank.
    glon, glat = coords.wgs84_to_gcj02(114.0632, 22.5205)
    blon, blat = coords.wgs84_to_bd09(114.0632, 22.5205)
    assert 200 < distance_m(22.5205, 114.0632, glat, glon) < 800
    assert 800 < distance_m(22.5205, 114.0632, blat, blon) < 1500


@pytest.mark.parametrize(("lon", "lat"), [(-0.1276, 51.5072), (139.6917, 35.6895), (2.35, 48.85)])
def test_outside_china_gcj02_is_wgs84(lon, lat):
    assert coords.wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert coords.gcj02_to_wgs84(lon, lat) == (lon, lat)


@settings(max_examples=300, deadline=None)
@given(china)
def test_gcj02_round_trip_sub_metre(p):
    lon, lat = p
    back = coords.gcj02_to_wgs84(*coords.wgs84_to_gcj02(lon, lat))
    assert distance_m(lat, lon, back[1], back[0]) < 0.01


@settings(max_examples=300, deadline=None)
@given(china)
def test_bd09_round_trip_sub_metre(p):
    lon, lat = p
    back = coords.bd09_to_wgs84(*coords.wgs84_to_bd09(lon, lat))
    assert distance_m(lat, lon, back[1], back[0]) < 0.01
    g = coords.wgs84_to_gcj02(lon, lat)
    gb = coords.bd09_to_gcj02(*coords.gcj02_to_bd09(*g))
    assert math.hypot(gb[0] - g[0], gb[1] - g[1]) < 1e-7


def test_from_wgs84_by_name_and_rejects_unknown():
    assert coords.from_wgs84("GCJ02", 114.0632, 22.5205) == coords.wgs84_to_gcj02(114.0632, 22.5205)
    assert coords.from_wgs84("wgs84", 1.0, 2.0) == (1.0, 2.0)
    with pytest.raises(ValueError, match="unknown crs 'epsg:3857'"):
        coords.from_wgs84("epsg:3857", 1.0, 2.0)
