"""Through the whole cloud app: an ingested find reaches the CIM webhook and pages its inspector."""

from __future__ import annotations

import json

import httpx

from tests.cloud_inspector.support import INSPECTOR_TOKENS, STATION_TOKEN, alert, app
from tests.cloud_notify.helpers import HttpSink
from tests.cloud_sync.helpers import Recorder, UvicornThread, wait_for
from tests.conftest import free_port


def test_ingest_to_webhook_and_page(tmp_path):
    hook_port, chat = free_port(), HttpSink(free_port(), status=200)
    rec = Recorder(hook_port)
    rec.start()
    port = free_port()
    cloud = app(
        tmp_path,
        port,
        public_url="https://river.example.cn",
        sync={"geojson_webhook_url": f"http://127.0.0.1:{hook_port}/cim", "backoff_base_s": 0.05},
        notify={"apprise_urls": {"li.wei": [f"json://127.0.0.1:{chat.port}/li"]}},
    )
    a = alert(114.0700, 22.5213, "bottle")
    base = f"http://127.0.0.1:{port}"
    try:
        with UvicornThread(cloud, port):
            r = httpx.post(
                f"{base}/api/v1/alerts", json=[a], headers={"Authorization": f"Bearer {STATION_TOKEN}"}
            )
            assert r.status_code == 200
            r = httpx.post(
                f"{base}/api/v1/workorders/{a['alert_id']}/claim",
                json={},
                headers={"Authorization": f"Bearer {INSPECTOR_TOKENS['li.wei']}"},
            )
            assert r.status_code == 200, r.text
            wait_for(lambda: len(rec.received) == 2, what="2 webhook deliveries")
            (page,) = chat.wait(1)
            health = httpx.get(f"{base}/sync/health").json()
            metrics = httpx.get(f"{base}/metrics").text
            notify = httpx.get(f"{base}/notify/health").json()
    finally:
        rec.stop()
        chat.close()
    assert [(x["event"], x["feature"]["properties"]["status"]) for x in rec.received] == [
        ("alert.new", "new"),
        ("workorder.changed", "dispatched"),
    ]
    assert rec.received[0]["feature"]["id"] == a["alert_id"]
    msg = json.loads(page["body"])
    assert "Shenzhen River · Huanggang" in msg["title"]
    assert f"https://river.example.cn/inspector/#alert-{a['alert_id']}" in msg["message"]
    assert "Photo: https://river.example.cn/api/v1/thumbnails/" in msg["message"]
    assert health["connectors"]["geojson_webhook"]["delivered"] == 2 and health["ok"]
    assert 'riverpatrol_sync_delivered_total{connector="geojson_webhook"} 2.0' in metrics
    assert 'riverpatrol_notify_deliveries_total{channel="apprise",outcome="sent"} 1.0' in metrics
    assert notify["sent"] == 1 and notify["ok"]
