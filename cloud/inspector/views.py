"""Pure shaping of what the inspectors' page needs: river lines, config, live event frames."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from cloud.workorders import OPEN_STATUSES  # the statuses in which a find is on the open list


def rivers_geojson(segments: Iterable[Any]) -> dict[str, Any]:
    """FeatureCollection of segment centerlines (objects with ``id``, ``name``, ``river``, ``line``,
    optionally ``width_m``: the map draws the river that wide)."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": s.id,
                "properties": {
                    "segment": s.id,
                    "name": s.name,
                    "river": s.river,
                    "width_m": getattr(s, "width_m", None),
                },
                "geometry": {"type": "LineString", "coordinates": [list(p) for p in s.line]},
            }
            for s in segments
        ],
    }


def page_config(segment_configs: Iterable[Any], geo_segments: Iterable[Any]) -> dict[str, Any]:
    """Known people and segment names, so the page can offer names, label stretches, and offer a
    stretch's supervisors "Send…" with its inspectors to choose from."""
    names: dict[str, str] = {}
    for s in geo_segments:
        names.setdefault(s.id, s.name)
    segs = []
    inspectors: list[str] = []
    for c in segment_configs:
        segs.append({
            "id": c.id, "name": c.name or names.get(c.id, c.id),
            "inspectors": list(c.inspectors), "supervisors": list(c.supervisors),
        })  # fmt: skip
        inspectors += [i for i in [*c.inspectors, *c.supervisors] if i not in inspectors]
    known = {s["id"] for s in segs}
    segs += [
        {"id": sid, "name": n, "inspectors": [], "supervisors": []}
        for sid, n in names.items()
        if sid not in known
    ]
    return {"inspectors": inspectors, "segments": segs, "open_statuses": list(OPEN_STATUSES)}


def sse_frame(event: dict[str, Any], seq: int) -> str:
    """One Server-Sent Events frame carrying a bus event (type as the SSE event name)."""
    data = {
        k: event.get(k) for k in ("type", "feature", "segment_id", "merged_into", "workorder") if k in event
    }
    body = json.dumps(data, separators=(",", ":"))
    return f"id: {seq}\nevent: {event.get('type', 'message')}\ndata: {body}\n\n"
