"""``/api/v1/stats``: finds per river km, time to clear, false-alarm rate — from stored history."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from cloud.api.params import ParamError, parse_instant
from cloud.api.responses import FastJSON, problem
from cloud.storage.base import Row


def compute_stats(
    orders: Iterable[Row],
    segments: Mapping[str, tuple[str, float]],
    since: float | None = None,
    until: float | None = None,
) -> dict[str, Any]:
    """Statistics over work orders created in [since, until]; ``segments``: id -> (river, length m).

    A *find* is one physical item (one work order); ``alerts`` also counts finds merged into it.
    """
    sel = [
        o
        for o in orders
        if (since is None or o["created_at"] >= since) and (until is None or o["created_at"] <= until)
    ]
    by_seg = Counter(o["segment_id"] for o in sel)
    per_segment = {}
    rivers: dict[str, dict[str, float]] = {}
    for sid, (river, length_m) in sorted(segments.items()):
        n = by_seg.get(sid, 0)
        km = length_m / 1000.0
        per_segment[sid] = {
            "river": river,
            "length_km": round(km, 3),
            "finds": n,
            "finds_per_km": round(n / km, 3) if km > 0 else None,
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
        "unmapped_finds": by_seg.get(None, 0),
        "by_class": dict(sorted(Counter(o["debris_class"] for o in sel).items())),
        "by_status": dict(sorted(Counter(o["status"] for o in sel).items())),
        "per_segment": per_segment,
        "per_river": per_river,
        "cleared_with_photo": sum(1 for o in sel if o["status"] == "cleared" and o.get("cleared_photo_sha")),
        "time_to_clear_s": {
            "count": len(cleared),
            "median": statistics.median(cleared) if cleared else None,
            "mean": statistics.fmean(cleared) if cleared else None,
        },
        "false_alarm_rate": n_false / (n_clear + n_false) if (n_clear + n_false) else None,
        # what inspectors said the false alarms were: where the detector needs teaching
        "false_alarm_reasons": dict(Counter(reasons).most_common()),
    }


router = APIRouter(prefix="/api/v1", tags=["stats"])


@router.get(
    "/stats",
    summary="Patrol statistics",
    description=(
        "Finds per river km (segment centerline length), median/mean time from find to cleared, "
        "false-alarm rate among closed orders, counts by class and status. `since`/`until` select "
        "orders by creation time."
    ),
)
def stats(
    request: Request,
    since: Annotated[str | None, Query(description="RFC 3339.")] = None,
    until: Annotated[str | None, Query(description="RFC 3339.")] = None,
) -> Response:
    try:
        t0 = parse_instant(since, "since") if since else None
        t1 = parse_instant(until, "until") if until else None
    except ParamError as e:
        return problem(400, str(e))
    st = request.app.state
    segs = {s.id: (s.river, s.length_m) for s in st.segments.segments}
    return FastJSON(compute_stats(st.store.all_workorders(), segs, t0, t1))
