"""Tracker events -> wire ``Alert`` messages, with pictures that fit the radio link.

Every alert carries a JPEG crop of the item (with some water around it, so a reviewer can judge
size and surroundings) and a small picture of the whole frame with the box drawn. The 1.4 GHz
telemetry radio budget is ``max_alert_bytes`` for the *whole serialised JSON*, pictures
included, so the pictures are encoded at the best quality that fits, stepping quality down,
then shrinking and finally dropping the context picture: the crop is what a reviewer needs most.

Snapshots are taken when a frame becomes an item's best view (``snapshotter`` plugs into the
tracker), so the tracker keeps ~10 KB per item instead of whole frames.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from datetime import UTC, datetime

import cv2
import numpy as np

from contract.messages import Alert, DebrisClass, Drift, TrackStats
from edge.tracker import Box, TrackEvent

#: Link budget of one serialised alert, pictures included.
MAX_ALERT_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class SnapshotConfig:
    """Picture sizes and the size budget of one alert on the wire."""

    thumb_min_px: int = 96  # small items are enlarged to this, so a reviewer can see them
    thumb_max_px: int = 160
    margin: float = 0.5  # water shown around the box, as a fraction of its size, per side
    context_width: int = 320
    qualities: tuple[int, ...] = (85, 70, 55, 40, 30, 20)
    max_alert_bytes: int = MAX_ALERT_BYTES  # the whole JSON alert, pictures included
    json_reserve_bytes: int = 1536  # room kept for the alert's other fields

    def __post_init__(self) -> None:
        if not 0 < self.thumb_min_px <= self.thumb_max_px:
            raise ValueError("SnapshotConfig: need 0 < thumb_min_px <= thumb_max_px")
        if not self.qualities or any(not 1 <= q <= 100 for q in self.qualities):
            raise ValueError(f"SnapshotConfig.qualities must be JPEG qualities 1..100, got {self.qualities}")
        if self.json_reserve_bytes >= self.max_alert_bytes:
            raise ValueError("SnapshotConfig.json_reserve_bytes must be below max_alert_bytes")

    @property
    def image_budget_bytes(self) -> int:
        """Raw JPEG bytes the two pictures may take together (base64 inflates them by 4/3)."""
        return (self.max_alert_bytes - self.json_reserve_bytes) * 3 // 4


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Encoded pictures of one best view."""

    thumbnail_jpeg: bytes
    context_jpeg: bytes | None
    quality: int

    @property
    def size(self) -> int:
        return len(self.thumbnail_jpeg) + len(self.context_jpeg or b"")


def _as_bgr(frame: np.ndarray) -> np.ndarray:
    if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8 or frame.ndim not in (2, 3):
        raise ValueError(
            f"frame must be a uint8 HxW or HxWx3 array, got {type(frame).__name__} "
            f"{getattr(frame, 'dtype', '')} {getattr(frame, 'shape', '')}"
        )
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    if frame.shape[2] != 3:
        raise ValueError(f"frame must have 3 channels, got shape {frame.shape}")
    return frame


def crop_thumbnail(frame: np.ndarray, box: Box, cfg: SnapshotConfig) -> np.ndarray:
    """Square crop around ``box`` with ``margin`` of context, scaled into [thumb_min_px, thumb_max_px]."""
    img = _as_bgr(frame)
    h, w = img.shape[:2]
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1) * (1.0 + 2.0 * cfg.margin)
    side = int(min(max(side, cfg.thumb_min_px / 2), w, h))
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    left = round(min(max(cx - side / 2.0, 0), w - side))
    top = round(min(max(cy - side / 2.0, 0), h - side))
    crop = img[top : top + side, left : left + side]
    target = min(max(side, cfg.thumb_min_px), cfg.thumb_max_px)
    if target != side:
        interp = cv2.INTER_AREA if target < side else cv2.INTER_LINEAR
        crop = cv2.resize(crop, (target, target), interpolation=interp)
    return crop


def context_image(frame: np.ndarray, box: Box, width: int) -> np.ndarray:
    """The whole frame shrunk to ``width`` pixels wide with the item's box drawn in red."""
    img = _as_bgr(frame)
    h, w = img.shape[:2]
    scale = width / w
    small = cv2.resize(img, (width, max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    p1 = (int(box[0] * scale) - 2, int(box[1] * scale) - 2)
    p2 = (math.ceil(box[2] * scale) + 2, math.ceil(box[3] * scale) + 2)
    cv2.rectangle(small, p1, p2, (0, 0, 255), 2)
    return small


def _jpeg(img: np.ndarray, quality: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 BGR image
        raise ValueError(f"JPEG encoding failed for an image of shape {img.shape}")
    return buf.tobytes()


def make_snapshot(frame: np.ndarray, box: Box, cfg: SnapshotConfig) -> Snapshot:
    """Crop and context pictures at the best quality whose total fits ``cfg.image_budget_bytes``.

    Steps, stopping at the first that fits: each quality with both pictures; then the lowest
    quality with a half-width context; then the crop alone; then a smaller crop.
    """
    budget = cfg.image_budget_bytes
    thumb = crop_thumbnail(frame, box, cfg)
    context = context_image(frame, box, cfg.context_width)
    for q in cfg.qualities:
        snap = Snapshot(_jpeg(thumb, q), _jpeg(context, q), q)
        if snap.size <= budget:
            return snap
    q = cfg.qualities[-1]
    half = context_image(frame, box, max(cfg.context_width // 2, 16))
    snap = Snapshot(_jpeg(thumb, q), _jpeg(half, q), q)
    if snap.size <= budget:
        return snap
    snap = Snapshot(_jpeg(thumb, q), None, q)
    side = thumb.shape[0]
    while snap.size > budget and side > 16:
        side = side * 3 // 4
        snap = Snapshot(_jpeg(cv2.resize(thumb, (side, side), interpolation=cv2.INTER_AREA), q), None, q)
    return snap


def snapshotter(cfg: SnapshotConfig):
    """The ``snapshot`` function for ``edge.tracker.Tracker``: frames in, encoded pictures kept."""

    def snap(frame: np.ndarray, box: Box) -> Snapshot:
        return make_snapshot(frame, box, cfg)

    return snap


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _b64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode("ascii") if data else None


def build_alert(
    event: TrackEvent,
    drone_id: str,
    mission_id: str,
    published_at: datetime,
    cfg: SnapshotConfig | None = None,
) -> Alert:
    """The wire message for one tracker event. ``ValueError`` names the field when one is invalid."""
    cfg = cfg or SnapshotConfig()
    try:
        cls = DebrisClass(event.class_name)
    except ValueError:
        raise ValueError(
            f"alert {event.alert_id}: class {event.class_name!r} is not one of "
            f"{[c.value for c in DebrisClass]}"
        ) from None
    best = event.best
    snap = best.snapshot if best else None
    if isinstance(snap, np.ndarray):  # the tracker kept the frame itself: encode it now
        snap = make_snapshot(snap, best.box, cfg)
    if snap is not None and not isinstance(snap, Snapshot):
        raise ValueError(f"alert {event.alert_id}: best view holds a {type(snap).__name__}, not a Snapshot")
    return Alert(
        alert_id=event.alert_id,
        revision=event.revision,
        event=event.event,
        drone_id=drone_id,
        mission_id=mission_id,
        captured_at=_utc(best.time if best else event.last_seen),
        published_at=published_at,
        lat=event.lat,
        lon=event.lon,
        uncertainty_m=event.uncertainty_m,
        debris_class=cls,
        confidence=event.confidence,
        track=TrackStats(
            sightings=event.sightings,
            passes=event.passes,
            first_seen=_utc(event.first_seen),
            last_seen=_utc(event.last_seen),
            top_score=event.top_score,
            median_score=event.median_score,
        ),
        thumbnail_jpeg=_b64(snap.thumbnail_jpeg) if snap else None,
        context_jpeg=_b64(snap.context_jpeg) if snap else None,
        drift=_drift(event),
    )


def _drift(event: TrackEvent) -> Drift | None:
    """The wire form of the tracker's drift, rounded to what it can tell (cm/s)."""
    d = event.drift
    if d is None:
        return None
    return Drift(
        east_mps=round(d.east_mps, 3),
        north_mps=round(d.north_mps, 3),
        sigma_mps=round(d.sigma_mps, 3),
        over_s=round(max(d.span_s, 0.1), 1),
    )


def alert_payload(alert: Alert, max_bytes: int = MAX_ALERT_BYTES) -> bytes:
    """Serialised JSON of ``alert`` within ``max_bytes``: drops the context, then the crop, if needed.

    Snapshots are sized for the budget already; this is the guarantee, not the usual path.
    """
    data = alert.model_dump_json().encode()
    for strip in ({"context_jpeg": None}, {"context_jpeg": None, "thumbnail_jpeg": None}):
        if len(data) <= max_bytes:
            return data
        data = alert.model_copy(update=strip).model_dump_json().encode()
    if len(data) > max_bytes:
        raise ValueError(f"alert {alert.alert_id} is {len(data)} bytes without pictures, over {max_bytes}")
    return data
