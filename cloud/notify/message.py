"""The text of a page: what, where (segment + coordinates + link), when, and the photo."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Page:
    """One notification, rendered once and sent on every channel."""

    alert_id: str
    title: str
    body: str
    url: str
    photo_url: str | None

    def push_payload(self) -> dict[str, Any]:
        """JSON the page's service worker turns into a system notification."""
        return {
            "title": self.title,
            "body": self.body,
            "url": self.url,
            "icon": self.photo_url,
            "tag": self.alert_id,
        }


#: The page's words in each language of ``NotifyConfig.language``; ``{x}`` are filled in.
TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Floating {cls} on {segment}",
        "title_pct": " ({pct})",
        "what": "What: {cls}",
        "confidence": ", detector confidence {pct}",
        "where": "Where: {segment}",
        "when": "When: {when}",
        "open": "Open: {url}",
        "photo": "Photo: {url}",
        "review": "This stretch needs a person to confirm AI finds first.",
        "held_back": "Also {n} more find(s) on this stretch since the last page.",
        "unknown_time": "unknown time",
        "debris": "debris",
        "back_title": "Handed back: {cls} on {segment}",
        "back": "{who} handed it back: it needs someone else to clear it.",
        "back_why": "{who} handed it back ({why}): it needs someone else to clear it.",
        "remind_title": "Still open: {cls} on {segment}",
        "sent_title": "Sent to you: {cls} on {segment}",
        "overdue_title": "No patrol for {hours}: {segment}",
        "overdue": "The last flight over it was {when}; one is due every {every}.",
        "overdue_never": "No flight over it since {when}; one is due every {every}.",
        "sent": "{who} sent you to clear it.",
        "moved_title": "Sent to someone else: {cls} on {segment}",
        "moved": "{who} sent {to} to clear it: you need not go.",
        "remind": "You claimed it {hours} ago: clear it, or hand it back for someone else.",
        "unclaimed_title": "Unclaimed for {hours}: {cls} on {segment}",
        "unclaimed": "Nobody has claimed it in {hours}. Inspectors of this stretch: {who}.",
        "unclaimed_more": "And {n} more find(s) on this stretch unclaimed as long.",
        "remind_more": "And {n} more find(s) you claimed are still open.",
        "hours": "{n} h",
        "minutes": "{n} min",
        "look_title": "Closer look taken: {cls} on {segment}",
        "look": "The closer look you asked for came in: see its photo.",
        "look_note": 'The closer look you asked for came in ("{note}"): see its photo.',
        "missed_title": "Closer look not taken: {cls} on {segment}",
        "missed": "The drone operators flew there and did not find it.",
        "missed_why": "The drone operators flew there and did not find it: {why}",
    },
    "zh": {
        "title": "{segment} 发现漂浮{cls}",
        "title_pct": "（{pct}）",
        "what": "内容：{cls}",
        "confidence": "，识别置信度 {pct}",
        "where": "位置：{segment}",
        "when": "时间：{when}",
        "open": "查看：{url}",
        "photo": "照片：{url}",
        "review": "该河段的 AI 发现需先由人工确认。",
        "held_back": "自上次通知以来，该河段另有 {n} 处发现。",
        "unknown_time": "时间未知",
        "debris": "漂浮物",
        "back_title": "{segment} 漂浮{cls}已被退回",
        "back": "{who} 已退回此处漂浮物，需其他人前往清理。",
        "back_why": "{who} 已退回此处漂浮物（{why}），需其他人前往清理。",
        "remind_title": "{segment} 漂浮{cls}尚未处理",
        "sent_title": "{segment} 漂浮{cls}已派给您",
        "overdue_title": "{segment} 已 {hours} 未巡河",
        "overdue": "上次无人机巡河：{when}；应每 {every} 巡河一次。",
        "overdue_never": "自 {when} 起尚无无人机巡河；应每 {every} 巡河一次。",
        "sent": "{who} 派您前往清理。",
        "moved_title": "{segment} 漂浮{cls}已改派他人",
        "moved": "{who} 已改派 {to} 前往清理，您无需前往。",
        "remind": "您已认领 {hours}：请尽快清理，或退回由他人处理。",
        "unclaimed_title": "{segment} 漂浮{cls}已 {hours} 无人认领",
        "unclaimed": "该处漂浮物已 {hours} 无人认领。本河段巡河员：{who}。",
        "unclaimed_more": "该河段另有 {n} 处漂浮物同样无人认领。",
        "remind_more": "您认领的另有 {n} 处漂浮物尚未处理。",
        "hours": "{n} 小时",
        "minutes": "{n} 分钟",
        "look_title": "{segment} 漂浮{cls}已抵近拍摄",
        "look": "您请求的抵近查看已完成，请查看照片。",
        "look_note": "您请求的抵近查看（“{note}”）已完成，请查看照片。",
        "missed_title": "{segment} 漂浮{cls}未能抵近拍摄",
        "missed": "飞手已飞往原处，但未找到它。",
        "missed_why": "飞手已飞往原处，但未找到它：{why}",
    },
}
#: Debris classes as a Chinese inspector names them (as the inspectors' page does).
CLASS_NAMES_ZH = {
    "bottle": "塑料瓶",
    "bag": "塑料袋",
    "foam": "泡沫",
    "styrofoam": "泡沫塑料",
    "vegetation": "水草",
}


def _local_time(iso: str | None, tz: str, unknown: str) -> str:
    if not iso:
        return unknown
    t = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(ZoneInfo(tz))
    return t.strftime("%Y-%m-%d %H:%M:%S %Z")


def _hours(seconds: float, text: dict[str, str]) -> str:
    """A wait as a person says it: whole hours ("5 h", "5 小时"), minutes under an hour."""
    if seconds < 3570:
        return text["minutes"].format(n=max(1, round(seconds / 60)))
    return text["hours"].format(n=round(seconds / 3600))


def render(
    feature: dict[str, Any],
    segment_name: str,
    base_url: str,
    tz: str = "Asia/Shanghai",
    held_back: int = 0,
    language: str = "en",
    handed_back_by: str | None = None,
    handed_back_why: str = "",
    claimed_for_s: float | None = None,
    unclaimed_for_s: float | None = None,
    inspectors: tuple[str, ...] = (),
    dispatched_by: str | None = None,
    reassigned_to: str | None = None,
    look_taken: bool = False,
    look_missed: bool = False,
) -> Page:
    """A :class:`Page` for one debris Feature in ``language`` (en, zh); ``base_url`` makes links
    absolute. ``handed_back_by``: the page says that inspector gave it back (``release``), and
    ``handed_back_why`` their reason. ``claimed_for_s``: a reminder to the inspector who claimed
    it. ``unclaimed_for_s``: an escalation of a find nobody claimed, naming the stretch's
    ``inspectors``. ``dispatched_by``: that person sent the paged inspector to it, or, with
    ``reassigned_to``, sent that one instead of the paged inspector who held it. ``look_taken``:
    the closer look the paged inspector asked for (the feature's ``look_note``) came in;
    ``look_missed``: the operators flew there and did not find it (``look_answer``: why)."""
    text = TEXTS.get(language, TEXTS["en"])
    p = feature.get("properties") or {}
    lon, lat = (feature.get("geometry") or {}).get("coordinates", [None, None])[:2]
    base = base_url.rstrip("/")
    url = f"{base}/inspector/#alert-{feature['id']}"
    photo = p.get("thumbnail")
    photo_url = f"{base}{photo}" if photo and photo.startswith("/") else photo
    cls = p.get("class") or text["debris"]
    if language == "zh":
        cls = CLASS_NAMES_ZH.get(cls, cls)
    conf = p.get("confidence")
    # a detector's score is never certainty: 0.996 reads "99%", not "100%"
    pct = f"{min(99, round(conf * 100))}%" if isinstance(conf, int | float) else ""
    if look_missed:
        title = text["missed_title"].format(cls=cls, segment=segment_name)
    elif look_taken:
        title = text["look_title"].format(cls=cls, segment=segment_name)
    elif handed_back_by is not None:
        title = text["back_title"].format(cls=cls, segment=segment_name)
    elif claimed_for_s is not None:
        title = text["remind_title"].format(cls=cls, segment=segment_name)
    elif reassigned_to is not None:
        title = text["moved_title"].format(cls=cls, segment=segment_name)
    elif dispatched_by is not None:
        title = text["sent_title"].format(cls=cls, segment=segment_name)
    elif unclaimed_for_s is not None:
        title = text["unclaimed_title"].format(
            hours=_hours(unclaimed_for_s, text), cls=cls, segment=segment_name
        )
    else:
        title = text["title"].format(cls=cls, segment=segment_name)
        title += text["title_pct"].format(pct=pct) if pct else ""
    when = _local_time(p.get("last_seen") or p.get("first_seen"), tz, text["unknown_time"])
    lines = []
    if look_missed:
        why = " ".join(str(p.get("look_answer") or "").split())[:200]
        lines.append(text["missed_why" if why else "missed"].format(why=why))
    elif look_taken:
        note = " ".join(str(p.get("look_note") or "").split())[:200]
        lines.append(text["look_note" if note else "look"].format(note=note))
    if claimed_for_s is not None:
        lines.append(text["remind"].format(hours=_hours(claimed_for_s, text)))
    if unclaimed_for_s is not None:
        who = ", " if language == "en" else "、"
        lines.append(
            text["unclaimed"].format(hours=_hours(unclaimed_for_s, text), who=who.join(inspectors) or "-")
        )
    if reassigned_to is not None:
        lines.append(text["moved"].format(who=dispatched_by or "-", to=reassigned_to))
    elif dispatched_by is not None:
        lines.append(text["sent"].format(who=dispatched_by))
    if handed_back_by is not None:
        why = " ".join(handed_back_why.split())[:200]
        lines.append(text["back_why" if why else "back"].format(who=handed_back_by, why=why))
    lines += [
        text["what"].format(cls=cls) + (text["confidence"].format(pct=pct) if pct else ""),
        text["where"].format(segment=segment_name) + (f" — {lat:.5f}N {lon:.5f}E" if lat is not None else ""),
        text["when"].format(when=when),
        text["open"].format(url=url),
    ]
    if photo_url:
        lines.append(text["photo"].format(url=photo_url))
    if p.get("review_required"):
        lines.append(text["review"])
    if held_back:
        more = "held_back"
        if unclaimed_for_s is not None:
            more = "unclaimed_more"
        elif claimed_for_s is not None:
            more = "remind_more"
        lines.append(text[more].format(n=held_back))
    return Page(str(feature["id"]), title, "\n".join(lines), url, photo_url)


def render_overdue(
    segment_id: str,
    segment_name: str,
    last_flown: float | None,
    since: float,
    every_s: float,
    now: float,
    base_url: str,
    tz: str = "Asia/Shanghai",
    language: str = "en",
) -> Page:
    """The page to a stretch's supervisors when its patrol is overdue (``last_flown`` None: never
    flown since ``since``, when the schedule began to be watched)."""
    text = TEXTS.get(language, TEXTS["en"])
    start = last_flown if last_flown is not None else since
    when = _local_time(datetime.fromtimestamp(start, ZoneInfo("UTC")).isoformat(), tz, text["unknown_time"])
    body = text["overdue" if last_flown is not None else "overdue_never"]
    url = f"{base_url.rstrip('/')}/ogc/collections/flights/items"
    return Page(
        f"patrol-{segment_id}",
        text["overdue_title"].format(hours=_hours(now - start, text), segment=segment_name),
        body.format(when=when, every=_hours(every_s, text)),
        url,
        None,
    )
