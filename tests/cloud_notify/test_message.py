"""Page text: what, where, when (local time), link and photo."""

from __future__ import annotations

import re
from pathlib import Path

from cloud.notify.message import CLASS_NAMES_ZH, render
from contract.messages import DEBRIS_CLASSES

FEATURE = {
    "type": "Feature",
    "id": "5d1c0b6e-1111-4a4a-9c9c-000000000001",
    "geometry": {"type": "Point", "coordinates": [114.0632, 22.5205]},
    "properties": {
        "class": "bottle",
        "confidence": 0.873,
        "last_seen": "2026-11-25T04:00:00Z",
        "thumbnail": "/api/v1/thumbnails/abc.jpg",
    },
}


def test_page_says_what_where_when_and_links():
    page = render(FEATURE, "Shenzhen River 3/7", "https://cloud.example.cn/", "Asia/Shanghai")
    assert page.title == "Floating bottle on Shenzhen River 3/7 (87%)"
    assert "Where: Shenzhen River 3/7 — 22.52050N 114.06320E" in page.body
    assert "When: 2026-11-25 12:00:00 CST" in page.body
    assert page.url == "https://cloud.example.cn/inspector/#alert-5d1c0b6e-1111-4a4a-9c9c-000000000001"
    assert page.photo_url == "https://cloud.example.cn/api/v1/thumbnails/abc.jpg"
    assert f"Open: {page.url}" in page.body
    assert page.push_payload()["tag"] == FEATURE["id"]


def test_held_back_finds_and_missing_photo():
    f = {**FEATURE, "properties": {**FEATURE["properties"], "thumbnail": None}}
    page = render(f, "S", "http://h:1", held_back=4)
    assert page.photo_url is None and "Photo:" not in page.body
    assert "Also 4 more find(s)" in page.body


def test_a_near_certain_score_still_reads_as_a_guess():
    f = {**FEATURE, "properties": {**FEATURE["properties"], "confidence": 0.9963}}
    page = render(f, "S", "http://h:1")
    assert page.title == "Floating bottle on S (99%)" and "detector confidence 99%" in page.body
    assert "100%" not in page.title + page.body


def test_pages_in_chinese_for_a_chinese_district():
    f = {**FEATURE, "properties": {**FEATURE["properties"], "review_required": True}}
    page = render(f, "深圳河 3/7", "https://cloud.example.cn", "Asia/Shanghai", held_back=2, language="zh")
    assert page.title == "深圳河 3/7 发现漂浮塑料瓶（87%）"
    assert page.body.splitlines() == [
        "内容：塑料瓶，识别置信度 87%",
        "位置：深圳河 3/7 — 22.52050N 114.06320E",
        "时间：2026-11-25 12:00:00 CST",
        f"查看：{page.url}",
        "照片：https://cloud.example.cn/api/v1/thumbnails/abc.jpg",
        "该河段的 AI 发现需先由人工确认。",
        "自上次通知以来，该河段另有 2 处发现。",
    ]
    assert page.url == "https://cloud.example.cn/inspector/#alert-5d1c0b6e-1111-4a4a-9c9c-000000000001"


def test_pages_and_the_inspectors_page_name_every_class_alike():
    """A page says 塑料瓶 where the inspector's list does: both name every class of the contract."""
    js = (Path(__file__).parents[2] / "cloud/inspector/static/i18n.js").read_text(encoding="utf-8")
    zh_block = js[js.index("\n  zh: {") :]
    page_names = dict(re.findall(r'"class\.(\w+)": "([^"]+)"', zh_block))
    assert set(DEBRIS_CLASSES) == set(page_names) == set(CLASS_NAMES_ZH)
    assert page_names == CLASS_NAMES_ZH


def test_a_page_for_a_find_handed_back_says_who_gave_it_back():
    page = render(FEATURE, "S 3/7", "http://h:1", handed_back_by="li.wei")
    assert page.title == "Handed back: bottle on S 3/7"
    assert page.body.splitlines()[0] == "li.wei handed it back: it needs someone else to clear it."
    assert page.push_payload()["tag"] == FEATURE["id"]  # replaces the find's own notification
    zh = render(FEATURE, "深圳河 3/7", "h", language="zh", handed_back_by="李伟", handed_back_why="需要船只")
    assert zh.title == "深圳河 3/7 漂浮塑料瓶已被退回"
    assert zh.body.startswith("李伟 已退回此处漂浮物（需要船只）")


def test_an_escalation_says_how_long_nobody_claimed_it_and_whose_stretch_it_is():
    page = render(FEATURE, "S 3/7", "h", unclaimed_for_s=40 * 60, inspectors=("li", "wang"), held_back=2)
    assert page.title == "Unclaimed for 40 min: bottle on S 3/7"
    lines = page.body.splitlines()
    assert lines[0] == "Nobody has claimed it in 40 min. Inspectors of this stretch: li, wang."
    assert lines[-1] == "And 2 more find(s) on this stretch unclaimed as long."
    zh = render(
        FEATURE, "深圳河 3/7", "h", language="zh", unclaimed_for_s=2.4 * 3600, inspectors=("李伟", "王芳")
    )
    assert zh.title == "深圳河 3/7 漂浮塑料瓶已 2 小时 无人认领"
    assert zh.body.splitlines()[0] == "该处漂浮物已 2 小时 无人认领。本河段巡河员：李伟、王芳。"


def test_a_page_for_an_inspector_sent_to_a_find_says_who_sent_them():
    page = render(FEATURE, "S 3/7", "h", dispatched_by="zhou")
    assert (
        page.title == "Sent to you: bottle on S 3/7"
        and page.body.splitlines()[0] == "zhou sent you to clear it."
    )
    zh = render(FEATURE, "深圳河 3/7", "h", language="zh", dispatched_by="周")
    assert zh.title == "深圳河 3/7 漂浮塑料瓶已派给您" and zh.body.startswith("周 派您前往清理。")


def test_a_page_for_an_inspector_whose_find_went_to_someone_else_says_they_need_not_go():
    page = render(FEATURE, "S 3/7", "h", dispatched_by="zhou", reassigned_to="wang")
    assert page.title == "Sent to someone else: bottle on S 3/7"
    assert page.body.splitlines()[0] == "zhou sent wang to clear it: you need not go."
    zh = render(FEATURE, "深圳河 3/7", "h", language="zh", dispatched_by="周", reassigned_to="王")
    assert zh.title == "深圳河 3/7 漂浮塑料瓶已改派他人" and zh.body.startswith(
        "周 已改派 王 前往清理，您无需前往。"
    )


def test_an_overdue_patrol_says_when_it_was_last_flown_and_how_often_it_is_due():
    from cloud.notify.message import render_overdue

    flown = 1_764_576_000.0  # 2025-12-01 08:00 UTC
    page = render_overdue("sz-4", "S 4/7", flown, 0.0, 24 * 3600, flown + 30 * 3600, "http://h:1", "UTC")
    assert page.title == "No patrol for 30 h: S 4/7" and page.alert_id == "patrol-sz-4"
    assert page.body == "The last flight over it was 2025-12-01 08:00:00 UTC; one is due every 24 h."
    assert page.url == "http://h:1/ogc/collections/flights/items"
    zh = render_overdue("sz-4", "深圳河 4/7", None, flown, 24 * 3600, flown + 25 * 3600, "h", "UTC", "zh")
    assert zh.title == "深圳河 4/7 已 25 小时 未巡河"
    assert zh.body == "自 2025-12-01 08:00:00 UTC 起尚无无人机巡河；应每 24 小时 巡河一次。"
