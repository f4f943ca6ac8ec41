"""The pure parts of the per-frame step: height above the water, calibration scaled to the frame."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from contract.camera import CameraModel
from edge.detect import Detector, DetectorConfig
from edge.geolocate import GeoConfig
from edge.pipeline import FramePipeline, WaterLevel, camera_pose
from edge.telemetry.pose import Pose
from edge.tracker import Tracker, TrackerConfig


def _pose(alt_rel: float = 30.0, alt_msl: float = 35.0) -> Pose:
    return Pose(100.0, 22.52, 114.06, alt_rel, alt_msl, 1.0, -2.0, 90.0, False)


def test_height_above_water_from_home_or_from_the_water_altitude() -> None:
    assert camera_pose(_pose(), WaterLevel(), 3.0).alt_m == 30.0
    assert camera_pose(_pose(), WaterLevel(water_alt_msl=2.0), 3.0).alt_m == pytest.approx(33.0)
    assert "unknown" in camera_pose(_pose(), WaterLevel(home_is_water_level=False), 3.0)
    assert "below min_alt_m" in camera_pose(_pose(alt_rel=1.0), WaterLevel(), 3.0)
    p = camera_pose(_pose(), WaterLevel(), 3.0)
    assert (p.roll_deg, p.pitch_deg, p.yaw_deg) == (1.0, -2.0, 90.0)


def test_geolocation_uses_the_calibration_scaled_to_the_frame() -> None:
    pipe = FramePipeline(None, Tracker(TrackerConfig(drone_id="d")), GeoConfig(), "d", "m")
    g = pipe.geo_for(960, 540)
    assert (g.camera.width, g.camera.height) == (960, 540)
    assert g.camera.fx == pytest.approx(CameraModel.default().fx / 2)
    assert pipe.geo_for(1920, 1080).camera == CameraModel.default()


def test_a_frame_without_pose_is_not_detected_but_time_advances() -> None:
    det = Detector(DetectorConfig(threads=1))
    pipe = FramePipeline(det, Tracker(TrackerConfig(drone_id="d")), GeoConfig(), "d", "m")
    img = np.zeros((540, 960, 3), np.uint8)
    r = pipe.step(img, 1000.0, None, datetime.now(UTC))
    assert r.skipped == "no pose" and r.detections == [] and det.frames == 0
    r = pipe.step(img, 1001.0, _pose(alt_rel=1.0), datetime.now(UTC))
    assert "below min_alt_m" in r.skipped
    r = pipe.step(img, 1002.0, _pose(), datetime.now(UTC))
    assert r.skipped is None and det.frames == 1
    assert pipe.stats.skipped == {"no_pose": 1, "pose_unusable": 1}
