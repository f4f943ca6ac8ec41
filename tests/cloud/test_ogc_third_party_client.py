"""A CIM/GIS client that no part of this project wrote (OWSLib, as QGIS' Python stack uses)
loads the debris layer over real HTTP."""

from __future__ import annotations

import httpx
from owslib.ogcapi.features import Features

from tests.cloud.factory import HOME, STATION_TOKEN, alert


def test_owslib_reads_the_debris_layer(make_server) -> None:
    srv = make_server()
    batch = [alert(lat=HOME[0] + i * 1e-4, lon=HOME[1], cls="foam" if i % 2 else "bottle") for i in range(25)]
    r = httpx.post(
        f"{srv.url}/api/v1/alerts", json=batch, headers={"Authorization": f"Bearer {STATION_TOKEN}"}
    )
    assert r.status_code == 200, r.text

    w = Features(f"{srv.url}/ogc")
    assert "debris" in w.feature_collections()  # the collections OWSLib recognises as features
    conf = w.conformance()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conf
    items = w.collection_items("debris", limit=100)
    assert items["type"] == "FeatureCollection" and len(items["features"]) == 25
    lon, lat = items["features"][0]["geometry"]["coordinates"]
    assert abs(lat - HOME[0]) < 0.01 and abs(lon - HOME[1]) < 0.01
    one = w.collection_item("debris", items["features"][3]["id"])
    assert one["id"] == items["features"][3]["id"]
    box = w.collection_items(
        "debris", bbox=[HOME[1] - 1e-3, HOME[0] - 1e-5, HOME[1] + 1e-3, HOME[0] + 5.5e-4]
    )
    assert 1 <= len(box["features"]) < 25
