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


def _page_once(
    port: int, cfg, segs, tmp_path, event: dict, name: str, pages: int = 1
) -> tuple[NotifyService, list[dict]]:
    """Publish ``event`` on a real bus to a running service; what reached the chat sink on ``port``
    once ``pages`` deliveries were made."""
    chat = HttpSink(port, status=200)

    async def scenario() -> NotifyService:
        bus = EventBus()
        svc = NotifyService(cfg, segs, tmp_path, bus, lambda: "http://cloud.test", lambda s: name)
        async with svc:
            bus.publish(event)
            deadline = time.monotonic() + 10
            while svc.sent + svc.failed < pages and time.monotonic() < deadline:
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


def test_an_inspector_sent_to_a_find_off_every_stretch_is_paged_with_its_river(tmp_path):
    port = free_port()
    cfg = NotifyConfig(apprise_urls={"chen": [f"json://127.0.0.1:{port}/chen"]}, timeout_s=3)
    wo = {"id": "x-0", "status": "dispatched", "action": "dispatch", "actor": "zhou", "assignee": "chen"}
    f = feature("x-0")
    f["properties"]["river"] = "Xinzhou River"
    event = {"type": "workorder.changed", "feature": f, "segment_id": None, "workorder": wo}
    svc, reqs = _page_once(port, cfg, [], tmp_path, event, "unused")
    assert svc.sent == 1 and [r["path"] for r in reqs] == ["/chen"], svc.last_error
    msg = json.loads(reqs[0]["body"])
    assert msg["title"] == "Sent to you: foam on Xinzhou River"
    assert msg["message"].startswith("zhou sent you to clear it.")


def test_the_inspector_who_asked_for_a_closer_look_is_paged_when_it_comes_in(tmp_path):
    port = free_port()
    cfg = NotifyConfig(
        apprise_urls={w: [f"json://127.0.0.1:{port}/{w}"] for w in ("li", "wang")}, timeout_s=3
    )
    segs = [SegmentConfig(id="sz-1", name="Shenzhen River 1", inspectors=["li", "wang"])]
    f = feature("sz-0")
    f["properties"].update(look_asked_by="wang", look_asked_at="2026-11-25T04:01:00Z", look_note="How big?")
    event = {
        "type": "alert.updated",
        "feature": f,
        "segment_id": "sz-1",
        "merged_into": None,
        "look_taken": True,
    }
    svc, reqs = _page_once(port, cfg, segs, tmp_path, event, "Shenzhen River 1")
    assert svc.sent == 1 and [r["path"] for r in reqs] == ["/wang"], svc.last_error
    msg = json.loads(reqs[0]["body"])
    assert msg["title"] == "Closer look taken: foam on Shenzhen River 1"
    assert msg["message"].startswith('The closer look you asked for came in ("How big?"): see its photo.')


def test_the_inspector_who_asked_is_told_when_the_operators_did_not_find_it(tmp_path):
    port = free_port()
    cfg = NotifyConfig(apprise_urls={"wang": [f"json://127.0.0.1:{port}/wang"]}, timeout_s=3, language="zh")
    segs = [SegmentConfig(id="sz-1", name="深圳河", inspectors=["li", "wang"])]
    f = feature("sz-0")
    f["properties"].update(
        look_asked_by="wang", look_asked_at="2026-11-25T04:01:00Z", look_answer="漂到桥下了"
    )
    event = {
        "type": "alert.updated",
        "feature": f,
        "segment_id": "sz-1",
        "merged_into": None,
        "look_missed": True,
    }
    svc, reqs = _page_once(port, cfg, segs, tmp_path, event, "深圳河")
    assert svc.sent == 1 and [r["path"] for r in reqs] == ["/wang"], svc.last_error
    msg = json.loads(reqs[0]["body"])
    assert msg["title"] == "深圳河 漂浮泡沫未能抵近拍摄"
    assert msg["message"].startswith("飞手已飞往原处，但未找到它：漂到桥下了")


def test_a_find_sent_to_someone_else_pages_them_and_tells_whoever_held_it(tmp_path):
    port = free_port()
    cfg = NotifyConfig(
        apprise_urls={w: [f"json://127.0.0.1:{port}/{w}"] for w in ("li", "wang")}, timeout_s=3
    )
    segs = [
        SegmentConfig(id="sz-1", name="Shenzhen River 1", inspectors=["li", "wang"], supervisors=["zhou"])
    ]
    wo = {"id": "sz-0", "status": "dispatched", "action": "dispatch", "actor": "zhou", "assignee": "wang",
          "previous_assignee": "li"}  # fmt: skip
    event = {"type": "workorder.changed", "feature": feature("sz-0"), "segment_id": "sz-1", "workorder": wo}
    svc, reqs = _page_once(port, cfg, segs, tmp_path, event, "Shenzhen River 1", pages=2)
    assert svc.sent == 2, svc.last_error
    msgs = {r["path"]: json.loads(r["body"]) for r in reqs}
    assert msgs["/wang"]["title"] == "Sent to you: foam on Shenzhen River 1"
    assert msgs["/li"]["title"] == "Sent to someone else: foam on Shenzhen River 1"
    assert msgs["/li"]["message"].startswith("zhou sent wang to clear it: you need not go.")


def test_claims_left_open_remind_and_unclaimed_finds_escalate_once_even_across_a_restart(tmp_path):
    port = free_port()
    chat = HttpSink(port, status=200)
    cfg = NotifyConfig(
        apprise_urls={w: [f"json://127.0.0.1:{port}/{w}"] for w in ("li", "wang", "zhou", "chen")},
        claim_reminder_h=4,
        unclaimed_escalate_h=2,
        timeout_s=3,
    )
    segs = [
        SegmentConfig(id="sz-1", inspectors=["li", "wang"], supervisors=["zhou"]),
        SegmentConfig(id="xz-1", inspectors=["chen"]),  # no supervisor: its inspector again
    ]
    now = time.time()
    orders = [
        {"id": "sz-0", "status": "dispatched", "assignee": "li", "dispatched_at": now - 5 * 3600,
         "segment_id": "sz-1", "created_at": now - 6 * 3600, "open_since": now - 6 * 3600},
        {"id": "sz-4", "status": "on_site", "assignee": "li", "dispatched_at": now - 4.5 * 3600,
         "segment_id": "sz-1", "created_at": now - 6 * 3600, "open_since": now - 6 * 3600},
        {"id": "sz-2", "status": "confirmed", "assignee": None, "segment_id": "sz-1",
         "created_at": now - 9 * 3600, "open_since": now - 2.5 * 3600},  # handed back 2.5 h ago
        {"id": "sz-1", "status": "new", "assignee": None, "segment_id": "sz-1",
         "created_at": now - 3 * 3600, "open_since": now - 3 * 3600},
        {"id": "sz-3", "status": "new", "assignee": None, "segment_id": "sz-1",
         "created_at": now - 3600, "open_since": now - 3600},  # an hour: not yet
        {"id": "xz-0", "status": "new", "assignee": None, "segment_id": "xz-1",
         "created_at": now - 2 * 3600 - 60, "open_since": now - 2 * 3600 - 60},
    ]  # fmt: skip

    async def run_server(min_pages: int) -> NotifyService:
        svc = NotifyService(
            cfg, segs, tmp_path, EventBus(), lambda: "http://cloud.test", lambda s: f"River {s}",
            open_orders=lambda: orders, item_feature=feature, remind_every_s=0.05,
        )  # fmt: skip
        async with svc:
            deadline = time.monotonic() + 10
            while svc.sent + svc.failed < min_pages and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # later rounds: nothing is paged again
        return svc

    try:
        svc = asyncio.run(run_server(3))
        reqs = {r["path"]: json.loads(r["body"]) for r in chat.requests}
        assert svc.sent == 3 and len(chat.requests) == 3, (svc.last_error, list(chat.requests))
        again = asyncio.run(run_server(0))  # a restart: same data_dir, same waits
        assert again.sent == 0 and len(chat.requests) == 3
    finally:
        chat.close()
    assert reqs["/li"]["title"] == "Still open: foam on River sz-1"
    assert reqs["/li"]["message"].startswith("You claimed it 5 h ago: clear it, or hand it back")
    assert reqs["/li"]["message"].endswith("\nAnd 1 more find(s) you claimed are still open.")  # one page
    # the two finds of sz-1 unclaimed for 2 h or more are one page to its supervisor, not its inspectors
    assert reqs["/zhou"]["title"] == "Unclaimed for 3 h: foam on River sz-1"
    lines = reqs["/zhou"]["message"].splitlines()
    assert lines[0] == "Nobody has claimed it in 3 h. Inspectors of this stretch: li, wang."
    assert lines[-1] == "And 1 more find(s) on this stretch unclaimed as long."
    assert reqs["/chen"]["title"] == "Unclaimed for 2 h: foam on River xz-1"


def test_an_overdue_patrol_pages_the_stretchs_supervisors_once_even_across_a_restart(tmp_path):
    port = free_port()
    chat = HttpSink(port, status=200)
    cfg = NotifyConfig(apprise_urls={"zhou": [f"json://127.0.0.1:{port}/zhou"]}, timeout_s=3)
    segs = [
        SegmentConfig(id="sz-1", supervisors=["zhou"], patrol_every_h=24),  # flown 30 h ago
        SegmentConfig(id="sz-2", supervisors=["zhou"], patrol_every_h=24),  # flown 2 h ago
        SegmentConfig(id="sz-3", supervisors=["zhou"], patrol_every_h=24),  # never, watched for 25 h
        SegmentConfig(id="sz-4", patrol_every_h=24),  # overdue, but nobody to tell
    ]
    now = time.time()
    (tmp_path / "notify").mkdir()
    (tmp_path / "notify" / "follow_ups.json").write_text(json.dumps({"watching_since": now - 25 * 3600}))
    flown = {"sz-1": now - 30 * 3600, "sz-2": now - 2 * 3600}

    async def run_server(min_pages: int) -> NotifyService:
        svc = NotifyService(
            cfg, segs, tmp_path, EventBus(), lambda: "http://cloud.test", lambda s: f"River {s}",
            open_orders=lambda: [], item_feature=feature, remind_every_s=0.05, last_flown=lambda: flown,
        )  # fmt: skip
        async with svc:
            deadline = time.monotonic() + 10
            while svc.sent + svc.failed < min_pages and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
        return svc

    try:
        svc = asyncio.run(run_server(2))
        titles = sorted(json.loads(r["body"])["title"] for r in chat.requests)
        assert svc.sent == 2, (svc.last_error, titles)
        assert asyncio.run(run_server(0)).sent == 0  # a restart pages nothing again
    finally:
        chat.close()
    assert titles == ["No patrol for 25 h: River sz-3", "No patrol for 30 h: River sz-1"]
