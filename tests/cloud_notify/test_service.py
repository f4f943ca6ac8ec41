"""The paging worker on a real event bus: one page per cluster, to the right people, failures counted."""

from __future__ import annotations

import asyncio
import json
import time

import http_ece

from cloud.events import EventBus
from cloud.integrations_config import NotifyConfig, SegmentConfig
from cloud.notify.service import NotifyService
from tests.cloud_notify.helpers import HttpSink
from tests.cloud_notify.test_channels import browser_subscription
from tests.conftest import free_port


def feature(alert: str) -> dict:
    return {
        "type": "Feature",
        "id": alert,
        "geometry": {"type": "Point", "coordinates": [114.0632, 22.5205]},
        "properties": {
            "class": "foam",
            "confidence": 0.9,
            "last_seen": "2026-11-25T04:00:00Z",
            "thumbnail": None,
        },
    }


def test_cluster_pages_responsible_inspectors_once(tmp_path):
    chat = HttpSink(free_port(), status=200)
    push = HttpSink(free_port(), status=201)
    dead_port = free_port()
    cfg = NotifyConfig(
        apprise_urls={
            "li": [f"json://127.0.0.1:{chat.port}/li"],
            "wang": [f"json://127.0.0.1:{dead_port}/wang"],  # this pager is down
            "chen": [f"json://127.0.0.1:{chat.port}/chen"],
        },
        cooldown_s=300,
        per_segment_per_hour=6,
        timeout_s=3,
    )
    segs = [
        SegmentConfig(id="sz-1", name="Shenzhen River 1", inspectors=["li", "wang"]),
        SegmentConfig(id="xz-1", name="Xinzhou River 1", inspectors=["chen"]),
    ]
    key, auth, sub = browser_subscription(f"{push.url}/sub/li-phone")

    async def scenario() -> NotifyService:
        bus = EventBus()
        svc = NotifyService(cfg, segs, tmp_path, bus, lambda: "http://cloud.test", lambda s: f"name of {s}")
        svc.subs.add("li", sub)
        async with svc:
            for i in range(5):  # a cluster of debris on one stretch
                bus.publish({"type": "alert.new", "feature": feature(f"sz-{i}"), "segment_id": "sz-1"})
            bus.publish({"type": "alert.updated", "feature": feature("sz-0"), "segment_id": "sz-1"})
            bus.publish(
                {
                    "type": "alert.new",
                    "feature": feature("merged"),
                    "segment_id": "sz-1",
                    "merged_into": "sz-0",
                }
            )
            deadline = time.monotonic() + 10
            while svc.sent + svc.failed < 3 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # nothing more should come
            return svc

    try:
        svc = asyncio.run(scenario())
        chat_reqs = list(chat.requests)
        push_reqs = list(push.requests)
    finally:
        chat.close()
        push.close()
    assert [r["path"] for r in chat_reqs] == ["/li"]
    msg = json.loads(chat_reqs[0]["body"])
    assert msg["title"].startswith("Floating foam on name of sz-1")
    assert "http://cloud.test/inspector/#alert-sz-0" in msg["message"]
    assert len(push_reqs) == 1
    payload = json.loads(
        http_ece.decrypt(push_reqs[0]["body"], private_key=key, auth_secret=auth, version="aes128gcm")
    )
    assert payload["tag"] == "sz-0"
    assert svc.sent == 2 and svc.failed == 1 and "wang" not in (svc.last_error or "")
    decisions = {
        s.labels["reason"]: s.value
        for m in svc.m.decisions.collect()
        for s in m.samples
        if s.name.endswith("_total")
    }
    assert decisions == {"page": 1, "cooldown": 4, "not_new": 1, "merged": 1}


def test_expired_push_subscription_is_forgotten(tmp_path):
    push = HttpSink(free_port(), status=410)
    _, _, sub = browser_subscription(f"{push.url}/sub/old")
    segs = [SegmentConfig(id="sz-1", inspectors=["li"])]

    async def scenario() -> NotifyService:
        svc = NotifyService(NotifyConfig(), segs, tmp_path, EventBus(), lambda: "http://c", str)
        svc.subs.add("li", sub)
        async with svc:
            out = await svc.handle(
                {"type": "alert.new", "feature": feature("x"), "segment_id": "sz-1"}, time.time()
            )
            assert out == [("li", "webpush", "gone")]
            assert svc.subs.count() == 0
        return svc

    try:
        asyncio.run(scenario())
    finally:
        push.close()


def _page_once(port: int, cfg, segs, tmp_path, event: dict, name: str) -> tuple[NotifyService, list[dict]]:
    """Publish ``event`` on a real bus to a running service; what reached the chat sink on ``port``."""
    chat = HttpSink(port, status=200)

    async def scenario() -> NotifyService:
        bus = EventBus()
        svc = NotifyService(cfg, segs, tmp_path, bus, lambda: "http://cloud.test", lambda s: name)
        async with svc:
            bus.publish(event)
            deadline = time.monotonic() + 10
            while svc.sent + svc.failed < 1 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            return svc

    try:
        svc = asyncio.run(scenario())
        return svc, list(chat.requests)
    finally:
        chat.close()


def test_a_chinese_district_is_paged_in_chinese(tmp_path):
    """``[cloud.notify] language = "zh"``: the WeCom/DingTalk/Feishu message a find sends is Chinese."""
    port = free_port()
    cfg = NotifyConfig(apprise_urls={"li": [f"json://127.0.0.1:{port}/li"]}, language="zh", timeout_s=3)
    segs = [SegmentConfig(id="sz-1", name="深圳河 皇岗段", inspectors=["li"])]
    event = {"type": "alert.new", "feature": feature("sz-0"), "segment_id": "sz-1"}
    svc, reqs = _page_once(port, cfg, segs, tmp_path, event, "深圳河 皇岗段")
    assert svc.sent == 1, svc.last_error
    msg = json.loads(reqs[0]["body"])
    assert msg["title"].startswith("深圳河 皇岗段 发现漂浮泡沫")
    assert "查看：http://cloud.test/inspector/#alert-sz-0" in msg["message"]


def test_a_find_handed_back_pages_the_other_inspectors(tmp_path):
    port = free_port()
    cfg = NotifyConfig(
        apprise_urls={who: [f"json://127.0.0.1:{port}/{who}"] for who in ("li", "wang")}, timeout_s=3
    )
    segs = [SegmentConfig(id="sz-1", name="Shenzhen River 1", inspectors=["li", "wang"])]
    wo = {"id": "sz-0", "status": "new", "action": "release", "actor": "li", "note": "Needs a boat"}
    event = {"type": "workorder.changed", "feature": feature("sz-0"), "segment_id": "sz-1", "workorder": wo}
    svc, reqs = _page_once(port, cfg, segs, tmp_path, event, "Shenzhen River 1")
    assert svc.sent == 1, svc.last_error
    assert [r["path"] for r in reqs] == ["/wang"]
    msg = json.loads(reqs[0]["body"])
    assert msg["title"] == "Handed back: foam on Shenzhen River 1"
    assert msg["message"].startswith("li handed it back (Needs a boat): it needs someone else")


def test_an_inspector_is_reminded_of_a_find_they_claimed_hours_ago(tmp_path):
    port = free_port()
    chat = HttpSink(port, status=200)
    cfg = NotifyConfig(apprise_urls={"li": [f"json://127.0.0.1:{port}/li"]}, claim_reminder_h=4, timeout_s=3)
    claimed_at = time.time() - 5 * 3600
    claims = [
        {
            "id": "sz-0",
            "status": "dispatched",
            "assignee": "li",
            "dispatched_at": claimed_at,
            "segment_id": "sz-1",
        }
    ]

    async def scenario() -> NotifyService:
        svc = NotifyService(
            cfg, [], tmp_path, EventBus(), lambda: "http://cloud.test", lambda s: "Shenzhen River 1",
            open_claims=lambda: claims, item_feature=feature, remind_every_s=0.05,
        )  # fmt: skip
        async with svc:
            deadline = time.monotonic() + 10
            while svc.sent + svc.failed < 1 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # later rounds: the same claim is not paged again
            return svc

    try:
        svc = asyncio.run(scenario())
        reqs = list(chat.requests)
    finally:
        chat.close()
    assert svc.sent == 1 and [r["path"] for r in reqs] == ["/li"], svc.last_error
    msg = json.loads(reqs[0]["body"])
    assert msg["title"] == "Still open: foam on Shenzhen River 1"
    assert msg["message"].startswith("You claimed it 5 h ago: clear it, or hand it back")
