"""Builders for cloud tests: valid contract alerts with real JPEGs, and a real uvicorn in a thread."""

from __future__ import annotations

import base64
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import cv2
import httpx
import numpy as np
import uvicorn

from contract.geo import offset

STATION_TOKEN = "station-secret"
INSPECTOR_TOKENS = {"alice": "alice-secret", "bob": "bob-secret"}
T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
HOME = (22.5205, 114.0632)  # on the Shenzhen River


def jpeg(seed: int, size: int = 24) -> str:
    """A small real JPEG (base64), different per seed."""
    rng = np.random.default_rng(seed)
    ok, buf = cv2.imencode(".jpg", rng.integers(0, 255, (size, size, 3), dtype=np.uint8))
    assert ok
    return base64.b64encode(buf.tobytes()).decode()


def alert(
    *,
    alert_id: str | None = None,
    revision: int = 0,
    lat: float = HOME[0],
    lon: float = HOME[1],
    cls: str = "bottle",
    confidence: float = 0.8,
    at: datetime = T0,
    sightings: int = 3,
    thumb_seed: int | None = 1,
    drone: str = "d1",
) -> dict[str, Any]:
    """A valid contract Alert as JSON-ready dict."""
    return {
        "schema_version": 1,
        "alert_id": alert_id or str(uuid.uuid4()),
        "revision": revision,
        "event": "new" if revision == 0 else "update",
        "drone_id": drone,
        "mission_id": "m1",
        "captured_at": at.isoformat(),
        "published_at": (at + timedelta(seconds=1)).isoformat(),
        "lat": lat,
        "lon": lon,
        "uncertainty_m": 1.5,
        "debris_class": cls,
        "confidence": confidence,
        "track": {
            "sightings": sightings,
            "passes": 1,
            "first_seen": (at - timedelta(seconds=5)).isoformat(),
            "last_seen": at.isoformat(),
            "top_score": confidence,
            "median_score": confidence - 0.05,
        },
        "thumbnail_jpeg": jpeg(thumb_seed) if thumb_seed is not None else None,
    }


def spread(n: int, step_m: float = 20.0, **kw: Any) -> list[dict[str, Any]]:
    """``n`` alerts along the river, ``step_m`` apart (so none merge), one second apart."""
    out = []
    for i in range(n):
        lat, lon = offset(HOME[0], HOME[1], 0.0, -step_m * i)
        out.append(alert(lat=lat, lon=lon, at=T0 + timedelta(seconds=i), thumb_seed=i, **kw))
    return out


class Server:
    """A real uvicorn serving ``app`` on a free port in a background thread."""

    def __init__(self, app: Any, port: int) -> None:
        self.app = app
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def client(self, token: str | None = STATION_TOKEN) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=20)
