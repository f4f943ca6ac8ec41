"""The whole cloud app on a free port, and contract alerts with real JPEG crops, for browser tests."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from cloud.app import create_app
from cloud.settings import CloudSettings

STATION_TOKEN = "station-secret"
INSPECTOR_TOKENS = {"li.wei": "li-secret", "wang.fang": "wang-secret", "zhou.min": "zhou-secret"}


def settings(tmp_path: Path, port: int, **extra: Any) -> CloudSettings:
    return CloudSettings(
        host="127.0.0.1",
        port=port,
        data_dir=tmp_path,
        station_tokens={"gs-1": STATION_TOKEN},
        inspector_tokens=INSPECTOR_TOKENS,
        segments=[
            {
                "id": "shenzhen-4",
                "name": "Shenzhen River · Huanggang",
                "river": "shenzhen",
                "inspectors": ["li.wei", "wang.fang"],
                "supervisors": ["zhou.min"],  # the stretch's river chief
            },
            {
                "id": "shenzhen-5",
                "name": "Shenzhen River · Futian Port",
                "river": "shenzhen",
                "inspectors": ["li.wei"],
            },
        ],
        **extra,
    )


def app(tmp_path: Path, port: int, **extra: Any):
    return create_app(settings(tmp_path, port, **extra))


def jpeg(colour: tuple[int, int, int], seed: int = 0) -> str:
    """A small aerial-looking crop: rippled water with a bright blob of debris."""
    rng = np.random.default_rng(seed)
    img = np.zeros((96, 96, 3), np.uint8)
    img[:] = (120, 95, 40)  # BGR murky river
    noise = rng.normal(0, 9, img.shape)
    img = np.clip(img + noise, 0, 255).astype(np.uint8)
    cv2.ellipse(
        img, (48 + int(rng.integers(-8, 8)), 50), (22, 12), int(rng.integers(0, 180)), 0, 360, colour, -1
    )
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return base64.b64encode(buf.tobytes()).decode()


def alert(
    lon: float, lat: float, cls: str = "bottle", minutes_ago: float = 2.0, seed: int = 0
) -> dict[str, Any]:
    """A contract ``Alert`` (event new, revision 0) as a ground station would post it."""
    now = datetime.now(UTC)
    seen = now - timedelta(minutes=minutes_ago)
    colours = {
        "bottle": (230, 230, 240),
        "bag": (200, 200, 255),
        "foam": (240, 250, 250),
        "styrofoam": (255, 255, 255),
    }
    return {
        "schema_version": 1,
        "alert_id": str(uuid.uuid4()),
        "revision": 0,
        "event": "new",
        "drone_id": "drone-1",
        "mission_id": "m-1",
        "captured_at": seen.isoformat(),
        "published_at": seen.isoformat(),
        "lat": lat,
        "lon": lon,
        "uncertainty_m": 3.0,
        "debris_class": cls,
        "confidence": 0.91,
        "track": {
            "sightings": 6,
            "passes": 1,
            "first_seen": (seen - timedelta(seconds=5)).isoformat(),
            "last_seen": seen.isoformat(),
            "top_score": 0.95,
            "median_score": 0.9,
        },
        "thumbnail_jpeg": jpeg(colours.get(cls, (0, 200, 255)), seed),
    }
