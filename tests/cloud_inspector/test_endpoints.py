"""The inspector endpoints over the real app and uvicorn: page assets, rivers, identity, SSE, push."""

from __future__ import annotations

import base64
import json
import os
import threading
from pathlib import Path

import httpx
import pytest

from cloud.inspector.views import page_config, rivers_geojson, sse_frame
from cloud.integrations_config import SegmentConfig
from cloud.segments import Segment
from tests.cloud_inspector.support import INSPECTOR_TOKENS, STATION_TOKEN, alert, app
from tests.cloud_sync.helpers import UvicornThread
from tests.conftest import free_port

LI = {"Authorization": f"Bearer {INSPECTOR_TOKENS['li.wei']}"}


@pytest.fixture
def cloud(tmp_path: Path):
    port = free_port()
    with UvicornThread(app(tmp_path, port), port):
        yield f"http://127.0.0.1:{port}"


def test_sse_frame_and_views_are_plain_data():
    frame = sse_frame({"type": "alert.new", "feature": {"id": "a"}, "segment_id": "s", "extra": 1}, 7)
    assert frame.startswith("id: 7\nevent: alert.new\ndata: ") and frame.endswith("\n\n")
    assert json.loads(frame.split("data: ", 1)[1]) == {
        "type": "alert.new",
        "feature": {"id": "a"},
        "segment_id": "s",
    }
    seg = Segment("sz-1", "shenzhen", "Shenzhen River 1/7", ((114.0, 22.5), (114.1, 22.52)))
    fc = rivers_geojson([seg])
    assert fc["features"][0]["geometry"]["coordinates"] == [[114.0, 22.5], [114.1, 22.52]]
    cfg = page_config([SegmentConfig(id="sz-1", inspectors=["li", "wang"], supervisors=["zhou"])], [seg])
    assert cfg["inspectors"] == ["li", "wang", "zhou"] and cfg["segments"][0]["name"] == "Shenzhen River 1/7"
    assert cfg["segments"][0]["supervisors"] == ["zhou"]


def test_page_assets_rivers_and_config(cloud):
    r = httpx.get(f"{cloud}/inspector/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "/inspector/static/app.js" in r.text and "http" not in r.text.split("<body>")[1].replace(
        "http://www.w3", ""
    )
    assert httpx.get(f"{cloud}/inspector/static/app.js").status_code == 200
    sw = httpx.get(f"{cloud}/inspector/sw.js")
    assert (
        sw.status_code == 200 and "javascript" in sw.headers["content-type"] and "showNotification" in sw.text
    )
    rivers = httpx.get(f"{cloud}/inspector/rivers.geojson").json()
    assert {f["properties"]["river"] for f in rivers["features"]} >= {"shenzhen", "xinzhou"}
    width = {f["properties"]["river"]: f["properties"]["width_m"] for f in rivers["features"]}
    assert width["shenzhen"] == 100 and width["xinzhou"] == 40  # the map draws each river its own width
    cfg = httpx.get(f"{cloud}/inspector/config.json").json()
    assert cfg["inspectors"] == ["li.wei", "wang.fang", "zhou.min"]  # who signs in, supervisors too
    assert next(s for s in cfg["segments"] if s["id"] == "shenzhen-4")["name"] == "Shenzhen River · Huanggang"


def test_whoami_needs_a_real_inspector_token(cloud):
    assert httpx.get(f"{cloud}/inspector/whoami").status_code == 401
    assert httpx.get(f"{cloud}/inspector/whoami", headers={"Authorization": "Bearer nope"}).status_code == 401
    r = httpx.get(f"{cloud}/inspector/whoami", headers={"Authorization": f"Bearer {STATION_TOKEN}"})
    assert r.status_code == 403
    me = httpx.get(f"{cloud}/inspector/whoami", headers=LI).json()
    assert me == {"name": "li.wei", "segments": ["shenzhen-4", "shenzhen-5"], "supervises": []}


def test_sse_streams_new_alerts_live(cloud):
    a = alert(114.0700, 22.5213, "bottle")
    frames: list[str] = []
    ready = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", f"{cloud}/inspector/events", timeout=10) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            buf = ""
            for chunk in r.iter_text():
                buf += chunk
                ready.set()
                while "\n\n" in buf:
                    frame, buf = buf.split("\n\n", 1)
                    frames.append(frame)
                    if a["alert_id"] in frame:
                        return

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    assert ready.wait(5)
    r = httpx.post(f"{cloud}/api/v1/alerts", json=[a], headers={"Authorization": f"Bearer {STATION_TOKEN}"})
    assert r.status_code == 200
    t.join(10)
    hit = next(f for f in frames if a["alert_id"] in f)
    assert "event: alert.new" in hit
    data = json.loads(hit.split("data: ", 1)[1])
    assert data["feature"]["properties"]["segment"] == "shenzhen-4" and data["segment_id"] == "shenzhen-4"


def _sub() -> dict:
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    pub = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    )
    enc = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
    return {
        "endpoint": "https://push.example.org/wpush/abc",
        "keys": {"p256dh": enc(pub), "auth": enc(os.urandom(16))},
    }


def test_push_key_and_subscription(cloud, tmp_path):
    key = httpx.get(f"{cloud}/inspector/push/key").json()["publicKey"]
    assert len(base64.urlsafe_b64decode(key + "=")) == 65
    assert (tmp_path / "notify" / "vapid_private.pem").exists()
    url = f"{cloud}/inspector/push/subscribe"
    assert httpx.post(url, json={"subscription": _sub()}).status_code == 401
    r = httpx.post(url, json={"inspector": "wang.fang", "subscription": _sub()}, headers=LI)
    assert r.status_code == 403
    bad = {**_sub(), "keys": {"p256dh": "AAAA", "auth": "BBBB"}}
    r = httpx.post(url, json={"subscription": bad}, headers=LI)
    assert r.status_code == 422 and "p256dh" in r.text
    r = httpx.post(url, json={"inspector": "li.wei", "subscription": _sub()}, headers=LI)
    assert r.status_code == 201 and r.json() == {
        "inspector": "li.wei",
        "segments": ["shenzhen-4", "shenzhen-5"],
    }
    assert httpx.get(f"{cloud}/notify/health").json()["push_subscriptions"] == 1


def test_sse_stream_ends_by_itself_so_shutdown_never_waits(cloud, monkeypatch):
    import time

    import cloud.inspector as inspector

    monkeypatch.setattr(inspector, "STREAM_MAX_S", 0.5)
    t0 = time.monotonic()
    with httpx.stream("GET", f"{cloud}/inspector/events", timeout=10) as r:
        body = "".join(r.iter_text())
    assert time.monotonic() - t0 < 5
    assert body.startswith("retry: 2000")
