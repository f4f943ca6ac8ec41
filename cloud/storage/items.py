"""Pure rules for turning wire alerts into stored debris items (no I/O, unit tested).

Why here: both storage engines must apply exactly the same "never regress" merge, so the rule
lives once, outside SQL.
"""

from __future__ import annotations

import binascii
import hashlib
from typing import Any

from cloud.storage.base import PreparedAlert, Row
from contract.messages import Alert, Drift

#: An item's drift on the water at its ``last_seen`` (``contract.messages.Drift``); all NULL or none.
DRIFT_COLUMNS: tuple[str, ...] = ("drift_east_mps", "drift_north_mps", "drift_sigma_mps", "drift_over_s")
#: Columns of the items table, in storage order.
ITEM_COLUMNS: tuple[str, ...] = (
    "alert_id",
    "revision",
    "event",
    "drone_id",
    "mission_id",
    "station",
    "debris_class",
    "confidence",
    "lat",
    "lon",
    "uncertainty_m",
    "first_seen",
    "last_seen",
    "captured_at",
    "published_at",
    "received_at",
    "updated_at",
    "sightings",
    "passes",
    "top_score",
    "median_score",
    "thumbnail_sha",
    "thumbnail_score",
    "context_sha",
    "segment_id",
    "river",
    "workorder_id",
    "merged_into",
    "ended",
    "thumbnail_drone",
    "look_asked_at",
    "look_asked_by",
    "look_note",
    "look_done_at",
    "look_seen_at",
    "look_seen_by",
    "look_outcome",
    "look_answer",
    *DRIFT_COLUMNS,
)
#: How a closer look ended: a photo of it came in, or the operators did not find it there.
LOOK_PHOTO, LOOK_NOT_FOUND = "photo", "not_found"


class LookRefused(ValueError):
    """A closer look asked of an item whose work order is closed (HTTP 409)."""


def look_open(item: Row) -> bool:
    """Whether an inspector's request for a closer look at ``item`` waits for a view."""
    return item.get("look_asked_at") is not None and item.get("look_done_at") is None


class ThumbnailError(ValueError):
    """A thumbnail field is not base64 JPEG (or too large); ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def decode_jpeg(b64: str, field: str, max_bytes: int) -> tuple[str, bytes]:
    """(sha256 hex, bytes) of a base64 JPEG; ``ThumbnailError`` naming ``field`` otherwise."""
    try:
        data = binascii.a2b_base64(b64, strict_mode=True)  # strict like b64decode(validate=True), faster
    except (binascii.Error, ValueError) as e:
        raise ThumbnailError(field, f"not valid base64 ({e})") from None
    if len(data) > max_bytes:
        raise ThumbnailError(field, f"{len(data)} bytes exceeds the limit of {max_bytes}")
    if data[:3] != b"\xff\xd8\xff":
        raise ThumbnailError(field, "not a JPEG (missing FFD8FF start-of-image marker)")
    return hashlib.sha256(data).hexdigest(), data


def prepare(alert: Alert, station: str, now: float, field: str, max_thumb_bytes: int) -> PreparedAlert:
    """Flatten one validated alert; ``field`` (e.g. ``alerts[3]``) prefixes any error."""
    thumb = ctx = None
    if alert.thumbnail_jpeg:
        thumb = decode_jpeg(alert.thumbnail_jpeg, f"{field}.thumbnail_jpeg", max_thumb_bytes)
    if alert.context_jpeg:
        ctx = decode_jpeg(alert.context_jpeg, f"{field}.context_jpeg", max_thumb_bytes)
    t = alert.track
    row: Row = {
        "alert_id": str(alert.alert_id),
        "revision": alert.revision,
        "event": alert.event.value,
        "drone_id": alert.drone_id,
        "mission_id": alert.mission_id,
        "station": station,
        "debris_class": alert.debris_class.value,
        "confidence": alert.confidence,
        "lat": alert.lat,
        "lon": alert.lon,
        "uncertainty_m": alert.uncertainty_m,
        "first_seen": t.first_seen.timestamp(),
        "last_seen": t.last_seen.timestamp(),
        "captured_at": alert.captured_at.timestamp(),
        "published_at": alert.published_at.timestamp(),
        "received_at": now,
        "updated_at": now,
        "sightings": t.sightings,
        "passes": t.passes,
        "top_score": t.top_score,
        "median_score": t.median_score,
        "thumbnail_sha": thumb[0] if thumb else None,
        "thumbnail_score": alert.confidence if thumb else None,
        "context_sha": ctx[0] if ctx else None,
        "ended": 1 if alert.event.value == "end" else 0,
        "thumbnail_drone": alert.drone_id if thumb else None,
        **drift_row(alert.drift),
    }
    return PreparedAlert(row=row, thumbnail=thumb, context=ctx)


def drift_row(drift: Drift | None) -> Row:
    """The ``DRIFT_COLUMNS`` of a wire drift (all None where the drone could not tell)."""
    if drift is None:
        return dict.fromkeys(DRIFT_COLUMNS)
    values = (drift.east_mps, drift.north_mps, drift.sigma_mps, drift.over_s)
    return dict(zip(DRIFT_COLUMNS, values, strict=True))


def merged_drift(existing: Row, incoming: Row) -> Row:
    """The drift an item keeps after a newer event, which ``where_now`` extrapolates from its
    newest ``last_seen``. A sighting as new or newer that tells one brings it; one that cannot (a
    glimpse, or another drone's: the current does not turn in minutes, and the drones' trackers
    keep their last estimate so too) keeps the one before; an older sighting (sent late) never
    replaces it."""
    if incoming["last_seen"] >= existing["last_seen"] and incoming.get("drift_east_mps") is not None:
        return {c: incoming.get(c) for c in DRIFT_COLUMNS}
    return {c: existing.get(c) for c in DRIFT_COLUMNS}


def new_item(
    incoming: Row, segment_id: str | None, river: str | None, workorder_id: str, merged_into: str | None
) -> Row:
    """The stored item for the first event we see of an alert."""
    item: dict[str, Any] = {c: incoming.get(c) for c in ITEM_COLUMNS}
    item.update(segment_id=segment_id, river=river, workorder_id=workorder_id, merged_into=merged_into)
    return item


def merge_item(existing: Row, incoming: Row) -> Row | None:
    """The item after a newer event, or ``None`` when ``incoming`` is not newer (never regress).

    Latest revision wins for position/class/confidence; counters and scores only grow. An
    inspector's request for a closer look is done by an event whose photo was taken after the
    station read it. The photo is the drone's pick of its views (the tracker's best: a clearer or a
    closer one), so the drone that took it replaces it with each newer pick, even one a little less
    sure (a closer look); another drone's photo replaces it only from an event at least as confident.
    The drift is the one at the newest sighting (:func:`merged_drift`).
    """
    if incoming["revision"] <= existing["revision"]:
        return None
    item = dict(existing)
    for c in (
        "revision",
        "event",
        "drone_id",
        "mission_id",
        "station",
        "debris_class",
        "confidence",
        "lat",
        "lon",
        "uncertainty_m",
        "captured_at",
        "published_at",
        "updated_at",
    ):
        item[c] = incoming[c]
    item["first_seen"] = min(existing["first_seen"], incoming["first_seen"])
    item["last_seen"] = max(existing["last_seen"], incoming["last_seen"])
    for c in ("sightings", "passes"):
        item[c] = max(existing[c], incoming[c])
    item["top_score"] = max(existing["top_score"], incoming["top_score"])
    item["median_score"] = incoming["median_score"]
    taker = incoming.get("thumbnail_drone")
    if incoming["thumbnail_sha"] and (
        existing["thumbnail_sha"] is None
        or (taker is not None and taker == existing.get("thumbnail_drone"))
        or incoming["thumbnail_score"] >= (existing["thumbnail_score"] or 0)
    ):
        item["thumbnail_sha"] = incoming["thumbnail_sha"]
        item["thumbnail_score"] = incoming["thumbnail_score"]
        item["thumbnail_drone"] = taker
    if incoming["context_sha"]:
        item["context_sha"] = incoming["context_sha"]
    item["ended"] = max(existing["ended"], incoming["ended"])
    item.update(merged_drift(existing, incoming))
    seen = existing.get("look_seen_at")
    if look_open(existing) and seen is not None and incoming["captured_at"] > seen:
        # the drone's best photo of it is from after the operators had the request: the look they
        # flew. Not one from before: the patrol still over the find when the inspector asked sends
        # its own better views, and a pass that saw it again kept its older photo (and the request).
        item["look_done_at"], item["look_outcome"] = incoming["received_at"], LOOK_PHOTO
    return item
