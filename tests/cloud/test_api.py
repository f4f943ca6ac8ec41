"""The HTTP API over a real uvicorn: ingest, auth, validation, reads, OGC, work orders, stats."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from datetime import timedelta
from typing import Any

import httpx
import pytest

from contract.geo import offset
from tests.cloud.factory import HOME, INSPECTOR_TOKENS, T0, alert, spread


def post(c: httpx.Client, body: Any) -> httpx.Response:
    return c.post("/api/v1/alerts", json=body)


def test_ingest_counts_and_idempotency(make_server, db_url) -> None:
    srv = make_server(db_url=db_url)
    with srv.client() as c:
        batch = spread(5)
        r = post(c, batch)
        assert r.status_code == 200, r.text
        assert r.json() == {
            "received": 5,
            "accepted": 5,
            "duplicates": 0,
            "stale": 0,
            "new_items": 5,
            "merged": 0,
        }
        r = post(c, {"alerts": batch})
        assert r.json()["duplicates"] == 5 and r.json()["accepted"] == 0
        assert c.get("/api/v1/alerts").json()["total"] == 5
        metrics = c.get("/metrics").text
        assert "riverpatrol_cloud_alerts_ingested_total 5.0" in metrics
        assert "riverpatrol_cloud_alerts_duplicate_total 5.0" in metrics


def test_auth_is_required_and_clear(make_server) -> None:
    srv = make_server()
    with srv.client(token=None) as c:
        r = post(c, spread(1))
        assert r.status_code == 401 and "bearer token" in r.json()["detail"]
    with srv.client(token="wrong") as c:
        assert post(c, spread(1)).status_code == 401
    with srv.client(token=INSPECTOR_TOKENS["alice"]) as c:
        r = post(c, spread(1))
        assert r.status_code == 403 and "station" in r.json()["detail"]


def test_db_token_from_cli_authenticates(make_server, tmp_path) -> None:
    from typer.testing import CliRunner

    from cloud.cli import app

    db = f"sqlite:///{tmp_path / 'tok.db'}"
    out = CliRunner().invoke(app, ["token", "create", "--station", "gs7", "--db", db])
    assert out.exit_code == 0, out.output
    token = out.stdout.strip().splitlines()[0]
    srv = make_server(db_url=db)
    with srv.client(token=token) as c:
        assert post(c, spread(1)).json()["accepted"] == 1
        assert c.get("/api/v1/alerts").json()["items"][0]["station"] == "gs7"


@pytest.mark.parametrize(
    ("mutate", "status", "field"),
    [
        (lambda b: b[3].update(lat=123.0), 422, "alerts[3].lat"),
        (
            lambda b: b[1].update(schema_version=2),
            422,
            "alerts[1].schema_version: unsupported schema_version 2",
        ),
        (lambda b: b[2]["track"].pop("sightings"), 422, "alerts[2].track.sightings"),
        (lambda b: b[0].update(thumbnail_jpeg="!!notbase64"), 422, "alerts[0].thumbnail_jpeg"),
        (lambda b: b[4].update(thumbnail_jpeg="aGVsbG8="), 422, "alerts[4].thumbnail_jpeg: not a JPEG"),
        (lambda b: b[0].update(surprise=1), 422, "alerts[0].surprise"),
    ],
)
def test_bad_batch_names_field_and_stores_nothing(make_server, mutate, status, field) -> None:
    srv = make_server()
    with srv.client() as c:
        batch = spread(5)
        mutate(batch)
        r = post(c, batch)
        assert r.status_code == status, r.text
        assert any(e.startswith(field) for e in r.json()["errors"]), r.json()
        assert c.get("/api/v1/alerts").json()["total"] == 0
        assert "riverpatrol_cloud_alerts_rejected_total{reason=" in c.get("/metrics").text


def test_malformed_bodies(make_server) -> None:
    srv = make_server(max_batch=3)
    with srv.client() as c:
        r = c.post("/api/v1/alerts", content=b'[{"alert_id": ', headers={"content-type": "application/json"})
        assert r.status_code == 400 and "invalid JSON" in r.json()["detail"]
        r = c.post("/api/v1/alerts", content=b'"hi"', headers={"content-type": "application/json"})
        assert r.status_code == 400
        r = post(c, spread(4))
        assert r.status_code == 413 and "limit of 3" in r.json()["detail"]


def test_concurrent_duplicate_posts_store_once(make_server, db_url) -> None:
    srv = make_server(db_url=db_url)  # over HTTP against SQLite and PostgreSQL
    batch = spread(30)
    results: list[dict] = []
    barrier = threading.Barrier(6)

    def worker() -> None:
        with srv.client() as c:
            barrier.wait()
            results.append(post(c, batch).json())

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(r["accepted"] for r in results) == 30
    assert sum(r["duplicates"] for r in results) == 150
    with srv.client() as c:
        assert c.get("/api/v1/alerts").json()["total"] == 30
        assert c.get("/api/v1/workorders").json()["total"] == 30


def test_alert_reads_filters_and_thumbnail(make_server) -> None:
    srv = make_server()
    with srv.client() as c:
        batch = spread(7)
        batch[2]["debris_class"] = "bag"
        post(c, batch)
        page = c.get("/api/v1/alerts", params={"limit": 3}).json()
        assert page["total"] == 7 and len(page["items"]) == 3
        seen = [i["id"] for i in page["items"]]
        while page["next"]:
            page = c.get(page["next"]).json()
            seen += [i["id"] for i in page["items"]]
        assert seen == [a["alert_id"] for a in batch]
        bags = c.get("/api/v1/alerts", params={"class": "bag"}).json()
        assert [i["id"] for i in bags["items"]] == [batch[2]["alert_id"]]
        assert c.get("/api/v1/alerts", params={"river": "shenzhen"}).json()["total"] == 7
        since = (T0 + timedelta(seconds=5)).isoformat()
        assert c.get("/api/v1/alerts", params={"since": since}).json()["total"] == 2
        assert c.get("/api/v1/alerts", params={"status": "bogus"}).status_code == 400
        one = c.get(f"/api/v1/alerts/{batch[0]['alert_id']}").json()
        assert one["segment"].startswith("shenzhen-") and one["status"] == "new"
        img = c.get(one["thumbnail"])
        assert img.status_code == 200 and img.headers["content-type"] == "image/jpeg"
        assert img.content[:3] == b"\xff\xd8\xff"
        assert c.get("/api/v1/alerts/00000000-0000-0000-0000-000000000000").status_code == 404


def test_ogc_landing_conformance_collection(make_server) -> None:
    srv = make_server()
    with srv.client() as c:
        post(c, spread(3))
        land = c.get("/ogc")
        assert land.headers["content-type"].startswith("application/json")
        rels = {link["rel"] for link in land.json()["links"]}
        assert {"self", "service-desc", "conformance", "data"} <= rels
        conf = c.get("/ogc/conformance", params={"f": "json"}).json()["conformsTo"]
        assert any(x.endswith("/conf/core") for x in conf) and any(x.endswith("/conf/geojson") for x in conf)
        assert any(x.endswith("/conf/oas30") for x in conf)
        cols = c.get("/ogc/collections").json()["collections"]
        assert [x["id"] for x in cols] == ["debris", "flights"]
        col = c.get("/ogc/collections/debris").json()
        x0, y0, x1, y1 = col["extent"]["spatial"]["bbox"][0]
        assert x0 <= HOME[1] <= x1 and y0 <= HOME[0] <= y1
        assert col["extent"]["spatial"]["crs"].endswith("CRS84")
        assert col["extent"]["temporal"]["interval"][0][0].startswith("2026-05-01T07:59:55")
        assert c.get("/ogc", params={"f": "html"}).status_code == 400


def _valid_feature(f: dict) -> None:
    assert f["type"] == "Feature" and isinstance(f["id"], str)
    assert f["geometry"]["type"] == "Point" and len(f["geometry"]["coordinates"]) == 2
    for key in (
        "class",
        "confidence",
        "status",
        "first_seen",
        "last_seen",
        "sightings",
        "drone",
        "mission",
        "segment",
        "thumbnail",
        "cleared_at",
        "cleared_by",
    ):
        assert key in f["properties"], key


def test_ogc_items_paging_follows_next_to_the_end(make_server) -> None:
    srv = make_server()
    with srv.client() as c:
        batch = spread(23)
        post(c, batch)
        r = c.get("/ogc/collections/debris/items")
        assert r.headers["content-type"].startswith("application/geo+json")
        page = r.json()
        assert (page["numberMatched"], page["numberReturned"]) == (23, 10)
        assert page["timeStamp"].endswith("Z")
        ids, hops = [], 0
        url: str | None = "/ogc/collections/debris/items?limit=4"
        while url:
            page = c.get(url).json()
            assert page["type"] == "FeatureCollection"
            for f in page["features"]:
                _valid_feature(f)
            ids += [f["id"] for f in page["features"]]
            links = {link["rel"]: link["href"] for link in page["links"]}
            assert "self" in links and ("prev" in links) == (hops > 0)
            url = links.get("next")
            hops += 1
        assert ids == [a["alert_id"] for a in batch] and hops == 6
        assert c.get("/ogc/collections/debris/items", params={"limit": 99999}).json()["numberReturned"] == 23


def test_ogc_bbox_datetime_crs_and_single_item(make_server) -> None:
    srv = make_server()
    with srv.client() as c:
        batch = spread(10)
        post(c, batch)
        a5 = batch[5]
        box = f"{a5['lon'] - 1e-5},{a5['lat'] - 1e-5},{a5['lon'] + 1e-5},{a5['lat'] + 1e-5}"
        got = c.get("/ogc/collections/debris/items", params={"bbox": box}).json()
        assert [f["id"] for f in got["features"]] == [a5["alert_id"]]
        # item i is seen during [T0+i-5s, T0+i]
        t = T0 + timedelta(seconds=7)
        assert (
            c.get("/ogc/collections/debris/items", params={"datetime": f"{t.isoformat()}/.."}).json()[
                "numberMatched"
            ]
            == 3
        )
        end = (T0 - timedelta(seconds=4)).isoformat().replace("+00:00", "Z")
        assert (
            c.get("/ogc/collections/debris/items", params={"datetime": f"../{end}"}).json()["numberMatched"]
            == 2
        )
        inst = (T0 + timedelta(seconds=2)).isoformat()
        assert c.get("/ogc/collections/debris/items", params={"datetime": inst}).json()["numberMatched"] == 6
        for bad in ({"bbox": "1,2,3"}, {"datetime": "yesterday"}, {"crs": "epsg:3857"}, {"status": "lost"}):
            r = c.get("/ogc/collections/debris/items", params=bad)
            assert r.status_code == 400 and next(iter(bad)) in r.json()["detail"]
        one = c.get(f"/ogc/collections/debris/items/{a5['alert_id']}")
        assert one.headers["content-type"].startswith("application/geo+json")
        _valid_feature(one.json())
        gcj = c.get(f"/ogc/collections/debris/items/{a5['alert_id']}", params={"crs": "gcj02"}).json()
        (lon, lat), (lon2, lat2) = one.json()["geometry"]["coordinates"], gcj["geometry"]["coordinates"]
        assert 0.003 < abs(lon2 - lon) + abs(lat2 - lat) < 0.02  # GCJ-02 shifts a few hundred metres
        assert c.get("/ogc/collections/debris/items/nope").status_code == 404


class _Collector:
    """A service in app.state.services: subscribes on start-up and keeps every event."""

    def __init__(self, bus: Any) -> None:
        self.bus, self.events, self._task = bus, [], None

    async def __aenter__(self) -> _Collector:
        sub = self.bus.subscribe()

        async def run() -> None:
            async for ev in sub:
                self.events.append(ev)

        self._task = asyncio.create_task(run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def _wait_for(pred, timeout: float = 5.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_workorder_flow_merge_events_and_stats(make_server) -> None:
    from cloud.integrations_config import SegmentConfig
    from cloud.segments import bundled_segments

    collectors: list[_Collector] = []

    def add_collector(app: Any) -> None:
        collectors.append(_Collector(app.state.bus))
        app.state.services.append(collectors[-1])

    srv = make_server(
        before_start=add_collector,
        segments=[
            SegmentConfig(id="shenzhen-4", river="shenzhen", review_required=True),
            SegmentConfig(id="shenzhen-5", river="shenzhen"),
        ],
    )
    collector = collectors[0]
    alice = srv.client(INSPECTOR_TOKENS["alice"])
    with srv.client() as c:
        first = alert()
        lat, lon = offset(HOME[0], HOME[1], 2.0, 2.0)
        near = alert(lat=lat, lon=lon, drone="d2")
        r = post(c, [first, near]).json()
        assert (r["new_items"], r["merged"]) == (1, 1)
        wo = first["alert_id"]
        _wait_for(lambda: len(collector.events) == 2)
        assert [e["type"] for e in collector.events] == ["alert.new", "alert.updated"]
        assert collector.events[1]["merged_into"] == wo
        assert collector.events[0]["feature"]["properties"]["segment"] == "shenzhen-4"
        assert collector.events[0]["feature"] == {
            k: v for k, v in c.get(f"/ogc/collections/debris/items/{wo}").json().items() if k != "links"
        }

        r = alice.post(f"/api/v1/workorders/{wo}/dispatch", json={})
        assert r.status_code == 409 and "confirm it before" in r.json()["detail"]
        assert c.post(f"/api/v1/workorders/{wo}/confirm", json={}).status_code == 403  # station token
        r = alice.post(f"/api/v1/workorders/{wo}/confirm", json={"actor": "bob"})
        assert r.status_code == 403
        for action in ("confirm", "claim", "arrive"):
            r = alice.post(f"/api/v1/workorders/{wo}/{action}", json={"note": action})
            assert r.status_code == 200, r.text
        r = alice.post(f"/api/v1/workorders/{wo}/confirm", json={})
        assert r.status_code == 409 and "on_site" in r.json()["detail"]
        assert alice.post(f"/api/v1/workorders/{wo}/clear", json={}).json()["status"] == "cleared"
        detail = c.get(f"/api/v1/workorders/{wo}").json()
        assert [h["action"] for h in detail["history"]] == ["confirm", "claim", "arrive", "clear"]
        assert detail["finds"] == 2 and detail["cleared_by"] == "alice"
        feat = c.get(f"/ogc/collections/debris/items/{wo}").json()["properties"]
        assert feat["status"] == "cleared" and feat["cleared_by"] == "alice" and feat["cleared_at"]
        merged = c.get(f"/api/v1/alerts/{near['alert_id']}").json()
        assert merged["merged_into"] == wo and merged["status"] == "cleared"
        _wait_for(lambda: len(collector.events) == 6)
        assert [e["workorder"]["status"] for e in collector.events[2:]] == [
            "confirmed",
            "dispatched",
            "on_site",
            "cleared",
        ]

        # a second find on a segment without review: dispatch directly, then a false alarm
        seg5 = next(s for s in bundled_segments() if s.id == "shenzhen-5").line
        lon, lat = (seg5[0][0] + seg5[1][0]) / 2, (seg5[0][1] + seg5[1][1]) / 2
        second = alert(lat=lat, lon=lon, cls="foam")
        post(c, [second])
        assert c.get(f"/api/v1/alerts/{second['alert_id']}").json()["segment"] == "shenzhen-5"
        assert (
            alice.post(f"/api/v1/workorders/{second['alert_id']}/dispatch", json={"assignee": "bob"}).json()[
                "assignee"
            ]
            == "bob"
        )
        assert (
            alice.post(
                f"/api/v1/workorders/{second['alert_id']}/clear", json={"outcome": "false_alarm"}
            ).json()["status"]
            == "false_alarm"
        )
        assert alice.post("/api/v1/workorders/nope/arrive", json={}).status_code == 404
        assert c.get("/api/v1/workorders", params={"status": "cleared"}).json()["total"] == 1

        stats = c.get("/api/v1/stats").json()
        assert stats["finds"] == 2 and stats["alerts"] == 3
        assert stats["by_status"] == {"cleared": 1, "false_alarm": 1}
        assert stats["false_alarm_rate"] == 0.5
        assert stats["time_to_clear_s"]["count"] == 1 and stats["time_to_clear_s"]["median"] >= 0
        seg = stats["per_segment"]["shenzhen-4"]
        assert seg["finds"] == 1 and seg["finds_per_km"] == pytest.approx(1 / seg["length_km"], rel=1e-2)
    alice.close()


def test_services_are_entered_and_exited(tmp_path) -> None:
    """An integration's service appended before start-up runs for the app's lifetime."""
    from cloud.app import create_app
    from cloud.settings import CloudSettings
    from tests.cloud.factory import STATION_TOKEN, Server
    from tests.conftest import free_port

    entered: list[str] = []

    class Svc:
        async def __aenter__(self) -> None:
            entered.append("in")

        async def __aexit__(self, *exc: object) -> None:
            entered.append("out")

    app = create_app(CloudSettings(data_dir=tmp_path, station_tokens={"gs1": STATION_TOKEN}))
    app.state.services.append(Svc())
    with Server(app, free_port()) as srv, srv.client() as c:
        assert c.get("/healthz").json()["status"] == "ok"
        assert entered == ["in"]
    assert entered == ["in", "out"]


def test_openapi_documents_everything(make_server) -> None:
    srv = make_server()
    with srv.client() as c:
        doc = c.get("/openapi.json").json()
    for path, ops in doc["paths"].items():
        if not path.startswith(("/api/v1", "/ogc")):
            continue
        for method, op in ops.items():
            assert op.get("summary"), f"{method} {path} has no summary"
    body = doc["paths"]["/api/v1/alerts"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert "Alert" in doc["components"]["schemas"] and "oneOf" in body
    assert "IngestResponse" in doc["components"]["schemas"]


def test_a_database_that_fails_mid_ingest_gives_503_with_the_reason_and_keeps_nothing_half(make_server):
    """A full disk under the cloud: the batch is refused whole with why, and a retry succeeds."""
    srv = make_server()
    conn = srv.app.state.store.conn
    (pages,) = conn.execute("PRAGMA page_count").fetchone()
    conn.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own "disk is full"
    batch = spread(40)
    with srv.client() as c:
        r = post(c, batch)
        assert r.status_code == 503 and r.headers["Retry-After"] == "5", r.text
        assert "storage unavailable" in r.json()["detail"] and "full" in r.json()["detail"]
        assert c.get("/api/v1/alerts").json()["total"] == 0
        assert 'riverpatrol_cloud_alerts_rejected_total{reason="storage"} 1.0' in c.get("/metrics").text
        conn.execute("PRAGMA max_page_count = 1073741823")
        r = post(c, batch)
        assert r.status_code == 200 and r.json()["accepted"] == 40, r.text
