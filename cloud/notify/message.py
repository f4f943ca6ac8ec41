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


def _local_time(iso: str | None, tz: str) -> str:
    if not iso:
        return "unknown time"
    t = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(ZoneInfo(tz))
    return t.strftime("%Y-%m-%d %H:%M:%S %Z")


def render(
    feature: dict[str, Any], segment_name: str, base_url: str, tz: str = "Asia/Shanghai", held_back: int = 0
) -> Page:
    """A :class:`Page` for one debris Feature; ``base_url`` makes links absolute."""
    p = feature.get("properties") or {}
    lon, lat = (feature.get("geometry") or {}).get("coordinates", [None, None])[:2]
    base = base_url.rstrip("/")
    url = f"{base}/inspector/#alert-{feature['id']}"
    photo = p.get("thumbnail")
    photo_url = f"{base}{photo}" if photo and photo.startswith("/") else photo
    cls = p.get("class") or "debris"
    conf = p.get("confidence")
    # a detector's score is never certainty: 0.996 reads "99%", not "100%"
    pct = f"{min(99, round(conf * 100))}%" if isinstance(conf, int | float) else ""
    title = f"Floating {cls} on {segment_name}" + (f" ({pct})" if pct else "")
    lines = [
        f"What: {cls}" + (f", detector confidence {pct}" if pct else ""),
        f"Where: {segment_name}" + (f" — {lat:.5f}N {lon:.5f}E" if lat is not None else ""),
        f"When: {_local_time(p.get('last_seen') or p.get('first_seen'), tz)}",
        f"Open: {url}",
    ]
    if photo_url:
        lines.append(f"Photo: {photo_url}")
    if p.get("review_required"):
        lines.append("This stretch needs a person to confirm AI finds first.")
    if held_back:
        lines.append(f"Also {held_back} more find(s) on this stretch since the last page.")
    return Page(str(feature["id"]), title, "\n".join(lines), url, photo_url)
