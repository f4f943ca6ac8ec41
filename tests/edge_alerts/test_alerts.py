"""Alert building: wire-valid messages whose JSON, pictures included, fits the radio budget."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime

import cv2
import numpy as np
import pytest

from contract.messages import Alert, AlertEvent
from edge.alerts import (
    MAX_ALERT_BYTES,
    Snapshot,
    SnapshotConfig,
    alert_payload,
    build_alert,
    crop_thumbnail,
    make_snapshot,
    snapshotter,
)
from edge.tracker import BestView, TrackEvent

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _event(best: BestView | None, cls: str = "bottle", drone_len: int = 64) -> TrackEvent:
    t = NOW.timestamp()
    return TrackEvent(
        event=AlertEvent.NEW,
        alert_id=uuid.uuid4(),
        revision=0,
        class_name=cls,
        lat=22.52,
        lon=114.06,
        uncertainty_m=3.2,
        confidence=0.81,
        sightings=7,
        passes=1,
        first_seen=t - 2,
        last_seen=t,
        top_score=0.9,
        median_score=0.8,
        best=best,
    )


def _decode(b64: str) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(base64.b64decode(b64), np.uint8), cv2.IMREAD_COLOR)
    assert img is not None
    return img


def test_worst_case_noise_frame_still_fits_16kb_with_both_pictures():
    rng = np.random.default_rng(0)
    # Incompressible at both scales: 6 px blocks of noise survive the shrink to the 320 px
    # context, pixel noise around the item survives the (unscaled) 160 px crop.
    coarse = rng.integers(0, 256, (180, 320, 3), dtype=np.uint8)
    frame = cv2.resize(coarse, (1920, 1080), interpolation=cv2.INTER_NEAREST)
    frame[400:700, 800:1100] = rng.integers(0, 256, (300, 300, 3), dtype=np.uint8)
    box = (900.0, 500.0, 980.0, 580.0)
    snap = make_snapshot(frame, box, SnapshotConfig())
    assert snap.quality < SnapshotConfig().qualities[0]  # it had to step down
    ev = _event(BestView(NOW.timestamp(), box, 0.9, 4.0, snap))
    alert = build_alert(ev, "d" * 64, "m" * 64, NOW)  # longest ids the contract allows
    data = alert_payload(alert)
    assert len(data) <= MAX_ALERT_BYTES
    parsed = Alert.model_validate_json(data)
    assert parsed.thumbnail_jpeg and parsed.context_jpeg
    assert _decode(parsed.thumbnail_jpeg).shape == (160, 160, 3)
    assert _decode(parsed.context_jpeg).shape[1] in (160, 320)


def test_an_ordinary_frame_keeps_the_best_quality_and_the_box_is_drawn():
    frame = np.full((1080, 1920, 3), (90, 70, 40), np.uint8)  # river water
    cv2.circle(frame, (1000, 500), 12, (240, 240, 240), -1)  # a small bottle
    box = (988.0, 488.0, 1012.0, 512.0)
    snap = make_snapshot(frame, box, SnapshotConfig())
    assert snap.quality == SnapshotConfig().qualities[0]
    alert = build_alert(_event(BestView(NOW.timestamp(), box, 0.9, 0.0, snap)), "d1", "m1", NOW)
    thumb = _decode(alert.thumbnail_jpeg)
    assert thumb.shape == (96, 96, 3)  # a 24 px item with margin is enlarged to the minimum
    assert thumb[48, 48].min() > 200  # the item is in the middle of its crop
    ctx = _decode(alert.context_jpeg)
    assert ctx.shape == (180, 320, 3)
    red = (ctx[:, :, 2] > 180) & (ctx[:, :, 1] < 100)
    assert red.sum() > 20  # the box outline


def test_crop_near_the_frame_edge_stays_square_and_inside():
    frame = np.zeros((1080, 1920, 3), np.uint8)
    crop = crop_thumbnail(frame, (0.0, 1040.0, 30.0, 1079.0), SnapshotConfig())
    assert crop.shape == (96, 96, 3)


def test_the_tracker_can_keep_snapshots_and_raw_frames_are_encoded_late():
    frame = np.full((480, 640), 100, np.uint8)  # grey-scale camera
    box = (300.0, 200.0, 340.0, 240.0)
    snap = snapshotter(SnapshotConfig())(frame, box)
    assert isinstance(snap, Snapshot) and snap.context_jpeg
    alert = build_alert(_event(BestView(1.0, box, 0.9, 0.0, frame)), "d1", "m1", NOW)
    assert alert.thumbnail_jpeg and alert.captured_at == datetime.fromtimestamp(1.0, UTC)
    no_pic = build_alert(_event(None), "d1", "m1", NOW)
    assert no_pic.thumbnail_jpeg is None and no_pic.captured_at == NOW


def test_payload_guarantee_drops_pictures_rather_than_exceed_the_budget():
    big = Snapshot(b"\xff" * 9000, b"\xff" * 9000, 85)  # larger than any snapshot we make
    alert = build_alert(_event(BestView(1.0, (0, 0, 1, 1), 0.9, 0.0, big)), "d1", "m1", NOW)
    data = alert_payload(alert)
    parsed = Alert.model_validate_json(data)
    assert len(data) <= MAX_ALERT_BYTES and parsed.context_jpeg is None and parsed.thumbnail_jpeg


def test_bad_input_names_what_is_wrong():
    with pytest.raises(ValueError, match="'kayak' is not one of"):
        build_alert(_event(None, cls="kayak"), "d1", "m1", NOW)
    with pytest.raises(ValueError, match="uint8"):
        make_snapshot(np.zeros((10, 10), np.float32), (1, 1, 5, 5), SnapshotConfig())
    with pytest.raises(ValueError, match="qualities"):
        SnapshotConfig(qualities=(0,))
