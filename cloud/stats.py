"""Patrol statistics from the work orders and their history: finds per river km, how soon finds
are claimed and cleared per stretch, what each inspector did, false-alarm rate. Pure: the HTTP
endpoint (``/api/v1/stats``) and ``riverpatrol cloud report`` both show these figures."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from cloud.api.features import iso
from cloud.flights import flight_modes
from cloud.storage.base import Row
from cloud.workorders import CLAIMED_STATUSES, OPEN_STATUSES, UNCLAIMED_STATUSES


def _median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def _closing(orders: list[Row]) -> dict[str, Any]:
    """How a set of orders fared: closed how, open how long, claimed and cleared how soon."""
    first = [o.get("first_dispatched_at") or o.get("dispatched_at") for o in orders]
    claimed = [t - o["created_at"] for o, t in zip(orders, first, strict=True) if t is not None]
    cleared = [
        o["cleared_at"] - o["created_at"] for o in orders if o["status"] == "cleared" and o["cleared_at"]
    ]
    return {
        "cleared": sum(1 for o in orders if o["status"] == "cleared"),
        "false_alarms": sum(1 for o in orders if o["status"] == "false_alarm"),
        "open": sum(1 for o in orders if o["status"] in OPEN_STATUSES),
        "unclaimed": sum(1 for o in orders if o["status"] in UNCLAIMED_STATUSES),
        "median_to_claim_s": _median(claimed),
        "median_to_clear_s": _median(cleared),
    }


def _per_inspector(orders: list[Row], events: Iterable[Row]) -> dict[str, dict[str, Any]]:
    """What each person did to these orders: claims (and orders dispatched to them), reviews and
    hand-backs from the history; what they closed and hold now, from the orders; and how long
    from their claim to the clear."""
    ids = {o["id"] for o in orders}
    acts = Counter((e["actor"], e["action"]) for e in events if e["workorder_id"] in ids)
    people = {who for who, _ in acts} | {o["cleared_by"] for o in orders if o.get("cleared_by")}
    people |= {o["assignee"] for o in orders if o.get("assignee")}
    out = {}
    for who in sorted(people):
        closed = [o for o in orders if o.get("cleared_by") == who]
        to_clear = [
            o["cleared_at"] - o["dispatched_at"]
            for o in closed
            if o["status"] == "cleared" and o.get("dispatched_at") is not None and o.get("assignee") == who
        ]
        out[who] = {
            "claimed": acts[(who, "claim")]
            + sum(1 for o in orders if o.get("assignee") == who and o.get("dispatched_by") != who),
            "cleared": sum(1 for o in closed if o["status"] == "cleared"),
            "false_alarms": sum(1 for o in closed if o["status"] == "false_alarm"),
            "handed_back": acts[(who, "release")],
            "holding": sum(1 for o in orders if o.get("assignee") == who and o["status"] in CLAIMED_STATUSES),
            "confirmed": acts[(who, "confirm")],
            "median_claim_to_clear_s": _median(to_clear),
        }
    return out


def in_period(
    rows: Iterable[Row], since: float | None, until: float | None, key: str = "created_at"
) -> list[Row]:
    """The rows whose ``key`` time (an order's finding, a flight's ``armed_at``) is in [since, until];
    an open end takes in everything that side."""
    return [r for r in rows if (since is None or r[key] >= since) and (until is None or r[key] <= until)]


def compute_stats(
    orders: Iterable[Row],
    segments: Mapping[str, tuple[str, float]],
    since: float | None = None,
    until: float | None = None,
    events: Iterable[Row] = (),
    flights: Iterable[Row] = (),
) -> dict[str, Any]:
    """Statistics over work orders created in [since, until]; ``segments``: id -> (river, length m);
    ``events``: the orders' history rows (``workorder_events``), for what each inspector did;
    ``flights``: stored patrol flights, those that took off in the period counted per stretch.

    A *find* is one physical item (one work order); ``alerts`` also counts finds merged into it.
    """
    sel = in_period(orders, since, until)
    by_seg: dict[str | None, list[Row]] = {}
    for o in sel:
        by_seg.setdefault(o["segment_id"], []).append(o)
    period_flights = in_period(flights, since, until, key="armed_at")
    flown: dict[str, list[float]] = {}
    for f in period_flights:
        for sid in json.loads(f["segments"]):
            flown.setdefault(sid, []).append(f["armed_at"])
    per_segment = {}
    rivers: dict[str, dict[str, float]] = {}
    for sid, (river, length_m) in sorted(segments.items()):
        n = len(by_seg.get(sid, []))
        km = length_m / 1000.0
        per_segment[sid] = {
            "river": river,
            "length_km": round(km, 3),
            "finds": n,
            "finds_per_km": round(n / km, 3) if km > 0 else None,
            **_closing(by_seg.get(sid, [])),
            # a stretch without finds was clean only if it was flown
            "flights": len(flown.get(sid, [])),
            "last_flown": iso(max(flown[sid])) if sid in flown else None,
        }
        r = rivers.setdefault(river or "", {"length_km": 0.0, "finds": 0})
        r["length_km"] += km
        r["finds"] += n
    per_river = {
        name: {
            "length_km": round(v["length_km"], 3),
            "finds": int(v["finds"]),
            "finds_per_km": round(v["finds"] / v["length_km"], 3) if v["length_km"] > 0 else None,
        }
        for name, v in rivers.items()
    }
    cleared = [o["cleared_at"] - o["created_at"] for o in sel if o["status"] == "cleared" and o["cleared_at"]]
    n_clear = sum(1 for o in sel if o["status"] == "cleared")
    n_false = sum(1 for o in sel if o["status"] == "false_alarm")
    reasons = [o.get("cleared_note") or "(none given)" for o in sel if o["status"] == "false_alarm"]
    return {
        "finds": len(sel),
        "alerts": sum(o["finds"] for o in sel),
        "flights": len(period_flights),
        # how the period's flights ended: their mission's own end, or turned home (a failsafe's, the
        # fence's or an operator's RTL / SMART_RTL, a LAND); "unknown" from a relay before the modes
        "flights_came_home": dict(
            sorted(Counter(flight_modes(f)[1] or "unknown" for f in period_flights).items())
        ),
        # incidents: the flights whose autopilot warned (a fence breach, a failsafe), for the office
        "flight_warnings": [
            {
                "flight_id": f["flight_id"],
                "vehicle": f["vehicle"],
                "armed_at": iso(f["armed_at"]),
                "segments": json.loads(f["segments"]),
                "warnings": [w["text"] for w in warned],
            }
            for f in sorted(period_flights, key=lambda f: f["armed_at"])
            if (warned := json.loads(f.get("warnings") or "[]"))
        ],
        "unmapped_finds": len(by_seg.get(None, [])),
        "by_class": dict(sorted(Counter(o["debris_class"] for o in sel).items())),
        "by_status": dict(sorted(Counter(o["status"] for o in sel).items())),
        "per_segment": per_segment,
        "per_river": per_river,
        "per_inspector": _per_inspector(sel, events),
        "cleared_with_photo": sum(1 for o in sel if o["status"] == "cleared" and o.get("cleared_photo_sha")),
        "time_to_clear_s": {
            "count": len(cleared),
            "median": _median(cleared),
            "mean": statistics.fmean(cleared) if cleared else None,
        },
        "false_alarm_rate": n_false / (n_clear + n_false) if (n_clear + n_false) else None,
        # what inspectors said the false alarms were: where the detector needs teaching
        "false_alarm_reasons": dict(Counter(reasons).most_common()),
    }
