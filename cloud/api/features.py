"""Pure rendering of stored items as GeoJSON Features (the CIM debris layer's one shape).

Used by the OGC endpoints, ``/api/v1/alerts`` and the event bus, so every consumer sees the same
properties. Stored coordinates are WGS84; an optional ``transform`` re-projects for display.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cloud.storage.base import Row
from cloud.storage.items import DRIFT_COLUMNS
from contract.messages import Drift

Transform = Callable[[float, float], tuple[float, float]]  # (lon, lat) -> (lon, lat)

THUMBNAIL_PATH = "/api/v1/thumbnails/{sha}.jpg"


def iso(ts: float | None) -> str | None:
    """RFC 3339 UTC string of epoch seconds (``None`` passes through)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def thumbnail_url(sha: str | None, base: str = "") -> str | None:
    return f"{base}{THUMBNAIL_PATH.format(sha=sha)}" if sha else None


def drift_of(row: Row) -> dict[str, float] | None:
    """A stored item's drift as the contract's ``Drift`` (None where no drone could tell it)."""
    if row.get("drift_east_mps") is None:
        return None
    return {c.removeprefix("drift_"): row[c] for c in DRIFT_COLUMNS}


def drift_properties(row: Row) -> dict[str, float | None]:
    """The drift as layer properties: its components for a client that extrapolates, and speed
    and compass bearing (degrees clockwise from north it drifts toward) for a person who reads
    them; all null where it is unknown, the bearing also where it does not move."""
    d = drift_of(row)
    if d is None:
        keys = ("east_mps", "north_mps", "sigma_mps", "over_s", "speed_mps", "toward_deg")
        return {f"drift_{k}": None for k in keys}
    wire = Drift.model_construct(None, **d)  # stored from a validated alert: no second validation a row
    speed = wire.speed_mps
    toward = round(wire.toward_deg, 1) if speed else None
    return {
        **{f"drift_{k}": v for k, v in d.items()},
        "drift_speed_mps": round(speed, 3),
        "drift_toward_deg": toward,
    }


def feature(row: Row, base: str = "", transform: Transform | None = None) -> dict[str, Any]:
    """GeoJSON Feature of one joined item row (``SqlStore`` item + work-order columns)."""
    lon, lat = row["lon"], row["lat"]
    if transform is not None:
        lon, lat = transform(lon, lat)
    props = {
        "class": row["debris_class"],
        "confidence": row["confidence"],
        "top_score": row["top_score"],
        "status": row["status"],
        "first_seen": iso(row["first_seen"]),
        "last_seen": iso(row["last_seen"]),
        "sightings": row["sightings"],
        "passes": row["passes"],
        "uncertainty_m": row["uncertainty_m"],
        "revision": row["revision"],
        "ended": bool(row["ended"]),
        "drone": row["drone_id"],
        "mission": row["mission_id"],
        "station": row["station"],
        "segment": row["segment_id"],
        "river": row["river"],
        "thumbnail": thumbnail_url(row["thumbnail_sha"], base),
        "context_image": thumbnail_url(row["context_sha"], base),
        "workorder_id": row["workorder_id"],
        "merged_into": row["merged_into"],
        "finds": row.get("finds"),
        "review_required": bool(row.get("review_required")),
        "reviewed_by": row.get("reviewed_by"),
        "assignee": row.get("assignee"),
        "dispatched_at": iso(row.get("dispatched_at")),
        "arrived_at": iso(row.get("arrived_at")),
        "cleared_at": iso(row.get("cleared_at")),
        "cleared_by": row.get("cleared_by"),
        "cleared_photo": thumbnail_url(row.get("cleared_photo_sha"), base),
        "cleared_note": row.get("cleared_note"),
        "look_asked_at": iso(row.get("look_asked_at")),
        "look_asked_by": row.get("look_asked_by"),
        "look_note": row.get("look_note"),
        "look_done_at": iso(row.get("look_done_at")),
        "look_seen_at": iso(row.get("look_seen_at")),
        "look_seen_by": row.get("look_seen_by"),
        "look_outcome": row.get("look_outcome"),
        "look_answer": row.get("look_answer"),
        **drift_properties(row),
        "received_at": iso(row["received_at"]),
        "updated_at": iso(row["updated_at"]),
    }
    return {
        "type": "Feature",
        "id": row["alert_id"],
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": props,
    }


def event(kind: str, row: Row, base: str = "", **extra: Any) -> dict[str, Any]:
    """A bus event (see ``cloud/events.py``) for a changed item row."""
    return {
        "type": kind,
        "feature": feature(row, base),
        "segment_id": row["segment_id"],
        "merged_into": row["merged_into"],
        **extra,
    }
