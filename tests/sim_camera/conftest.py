"""Small frames keep the renderer tests fast; the geometry is the same at any resolution."""

from __future__ import annotations

import pytest

from contract.camera import CameraModel, CameraPose
from sim.camera import RiverScene, WorldItem


@pytest.fixture(scope="module")
def small_camera() -> CameraModel:
    return CameraModel.default().scaled(640, 360)


def pose_over(scene: RiverScene, item: WorldItem, t: float = 0.0, **kw) -> CameraPose:
    """A pose straight above where ``item`` floats at time ``t`` (plus optional offsets)."""
    dn, de = kw.pop("dn", 0.0), kw.pop("de", 0.0)
    n, e = item.position_ne(scene.river, t)
    lat, lon = scene.to_lat_lon(n + dn, e + de)
    kw.setdefault("alt_m", 30.0)
    return CameraPose(lat=lat, lon=lon, **kw)
