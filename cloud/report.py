"""``riverpatrol cloud report``: a period's figures for the district's river office, per stretch and
per inspector (the river-chief system's monthly review), and its work orders as a spreadsheet.

Pure formatting over :func:`cloud.stats.compute_stats`; the command reads the store."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import IO, Any
from zoneinfo import ZoneInfo

from rich.table import Table

from cloud.api.features import thumbnail_url
from cloud.storage.base import Row


class PeriodError(ValueError):
    """A --since/--until that is neither a date nor an RFC 3339 time."""


def parse_bound(text: str, tz: str, name: str, end: bool = False) -> float:
    """Epoch seconds of ``YYYY-MM-DD`` (that day's start in ``tz``, or with ``end`` the next day's:
    ``--until 2026-11-30`` takes in all of the 30th) or of an RFC 3339 time (naive: in ``tz``)."""
    text = text.strip()
    zone = ZoneInfo(tz)
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=zone)
            return (start + timedelta(days=1) if end else start).timestamp()
        t = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise PeriodError(
            f"{name}: {text!r} is neither a date (2026-11-01) nor a time (2026-11-01T08:00+08:00)"
        ) from None
    return (t if t.tzinfo else t.replace(tzinfo=zone)).timestamp()


def duration(seconds: float | None) -> str:
    """``40 min``, ``3 h 05 min``, ``2 d 4 h``: how long, as an office reads it; ``-`` for none."""
    if seconds is None:
        return "-"
    m = round(seconds / 60)
    if m < 60:
        return f"{m} min"
    h, m = divmod(m, 60)
    if h < 48:
        return f"{h} h {m:02d} min"
    d, h = divmod(h, 24)
    return f"{d} d {h} h"


def local(t: float | None, tz: str) -> str:
    """A stored time as local ``YYYY-MM-DD HH:MM`` (what a spreadsheet sorts and a person reads)."""
    return "" if t is None else datetime.fromtimestamp(t, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def _when(iso: str | None, tz: str) -> str:
    """An RFC 3339 time of the stats as local ``MM-DD HH:MM`` (the report's period gives the year)."""
    if iso is None:
        return "-"
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(ZoneInfo(tz)).strftime("%m-%d %H:%M")


def tables(
    stats: Mapping[str, Any], names: Mapping[str, str], tz: str = "UTC", watched: Iterable[str] = ()
) -> list[Table]:
    """The summary, one row per stretch flown or with finds, one per inspector, and the false
    alarms' reasons; the summary names the ``watched`` stretches (those with inspectors) that no
    flight patrolled in the period: no finds there means nothing, not clean."""
    seg_rows = {sid: s for sid, s in stats["per_segment"].items() if s["finds"] or s["flights"]}
    closed = sum(stats["by_status"].get(k, 0) for k in ("cleared", "false_alarm"))
    rate = stats["false_alarm_rate"]
    not_flown = [w for w in watched if not stats["per_segment"].get(w, {}).get("flights")]
    summary = Table(title="Summary", title_justify="left", show_header=False)
    summary.add_column(no_wrap=True)
    summary.add_column()
    for k, v in (
        ("finds (items)", f"{stats['finds']} ({stats['alerts']} alerts)"),
        ("cleared", str(stats["by_status"].get("cleared", 0))),
        (
            "false alarms",
            f"{stats['by_status'].get('false_alarm', 0)}"
            + (f" ({rate:.0%} of {closed} closed)" if rate is not None else ""),
        ),
        ("still open", str(sum(s["open"] for s in stats["per_segment"].values()))),
        ("median find to clear", duration(stats["time_to_clear_s"]["median"])),
        ("off every stretch", str(stats["unmapped_finds"])),
        ("flights", _flights_line(stats["flights"], stats.get("flights_came_home") or {})),
        ("not flown", ", ".join(names.get(w, w) for w in not_flown) or "-"),
    ):
        summary.add_row(k, v)
    out = [summary]

    t = Table(
        title=f"Per stretch ({len(seg_rows)} flown or with finds, of {len(stats['per_segment'])})",
        title_justify="left",
    )
    for col in (
        "stretch",
        "river",
        "km",
        "flights",
        "last flown",
        "finds",
        "/km",
        "cleared",
        "false",
        "open",
        "unclaimed",
        "to claim",
        "to clear",
    ):
        t.add_column(col, justify="left" if col in ("stretch", "river") else "right", no_wrap=col != "river")
    for sid, s in sorted(seg_rows.items(), key=lambda kv: -kv[1]["finds"]):
        t.add_row(
            names.get(sid, sid), s["river"], f"{s['length_km']:.1f}", str(s["flights"]),
            _when(s["last_flown"], tz), str(s["finds"]),
            "-" if s["finds_per_km"] is None else f"{s['finds_per_km']:.1f}",
            str(s["cleared"]), str(s["false_alarms"]), str(s["open"]), str(s["unclaimed"]),
            duration(s["median_to_claim_s"]), duration(s["median_to_clear_s"]),
        )  # fmt: skip
    out.append(t)

    t = Table(title=f"Per inspector ({len(stats['per_inspector'])})", title_justify="left")
    for col in ("inspector", "claimed", "cleared", "false", "handed back", "holding", "claim to clear"):
        t.add_column(col, justify="left" if col == "inspector" else "right", no_wrap=True)
    for who, p in sorted(stats["per_inspector"].items(), key=lambda kv: (-kv[1]["cleared"], kv[0])):
        t.add_row(
            who, str(p["claimed"]), str(p["cleared"]), str(p["false_alarms"]), str(p["handed_back"]),
            str(p["holding"]), duration(p["median_claim_to_clear_s"]),
        )  # fmt: skip
    out.append(t)

    if stats["flight_warnings"]:
        t = Table(title="What the autopilots warned of in flight", title_justify="left")
        for col in ("took off", "vehicle", "stretches", "warnings"):
            t.add_column(col, no_wrap=col != "warnings")
        for f in stats["flight_warnings"]:
            t.add_row(
                _when(f["armed_at"], tz),
                f["vehicle"],
                ", ".join(names.get(s, s) for s in f["segments"]) or "-",
                "; ".join(dict.fromkeys(f["warnings"])),
            )
        out.append(t)

    if stats["false_alarm_reasons"]:
        t = Table(title="What the false alarms were", title_justify="left")
        t.add_column("inspectors said")
        t.add_column("times", justify="right")
        for why, n in stats["false_alarm_reasons"].items():
            t.add_row(why, str(n))
        out.append(t)
    return out


ORDER_CSV_COLUMNS = (
    "id", "found", "river", "stretch", "class", "lat", "lon", "alerts", "status", "claimed", "assignee",
    "cleared", "closed_by", "note", "cleared_photo",
)  # fmt: skip


def write_orders_csv(
    f: IO[str], orders: Iterable[Row], names: Mapping[str, str], tz: str, base_url: str = ""
) -> int:
    """One row per work order, oldest first, times local to ``tz``; returns how many. Callers open
    ``f`` with ``encoding="utf-8-sig"`` so that Excel reads Chinese names right."""
    w = csv.writer(f)
    w.writerow(ORDER_CSV_COLUMNS)
    base = base_url.rstrip("/")
    n = 0
    for o in sorted(orders, key=lambda o: (o["created_at"], o["id"])):
        w.writerow([
            o["id"], local(o["created_at"], tz), o.get("river") or "",
            names.get(o.get("segment_id") or "", o.get("segment_id") or ""), o["debris_class"],
            f"{o['lat']:.6f}", f"{o['lon']:.6f}", o["finds"], o["status"], local(o.get("dispatched_at"), tz),
            o.get("assignee") or "", local(o.get("cleared_at"), tz), o.get("cleared_by") or "",
            o.get("cleared_note") or "", thumbnail_url(o.get("cleared_photo_sha"), base) or "",
        ])  # fmt: skip
        n += 1
    return n


def _flights_line(n: int, came_home: Mapping[str, int]) -> str:
    """``12 (10 to their mission's end; turned home: RTL 1, SMART_RTL 1)``: a patrol turned home
    early left river unflown."""
    if not n:
        return "0"
    parts = [f"{came_home['mission']} to their mission's end"] if came_home.get("mission") else []
    turned = [f"{how} {k}" for how, k in came_home.items() if how not in ("mission", "unknown")]
    if turned:
        parts.append("turned home: " + ", ".join(turned))
    if came_home.get("unknown"):
        parts.append(f"{came_home['unknown']} not said")
    return f"{n} ({'; '.join(parts)})" if parts else str(n)
