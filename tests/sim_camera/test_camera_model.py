"""The shared camera model: projection and unprojection agree, frames follow the documented conventions."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from contract.camera import (
    CameraModel,
    CameraMount,
    CameraPose,
    camera_position_ned,
    ground_footprint,
    intersect_water,
    lat_lon_to_pixel,
    pixel_ray,
    pixel_to_lat_lon,
    pose_rotation,
    project_world_to_pixel,
    rotation_world_from_camera,
)
from contract.geo import bearing_deg, distance_m, offset, to_local

CAM = CameraModel.default()
NADIR = CameraMount()


def test_default_profile_is_a_drone_camera() -> None:
    assert (CAM.width, CAM.height) == (1920, 1080)
    assert CAM.hfov_deg == pytest.approx(73.0)
    assert 78 < CAM.dfov_deg < 84
    assert CAM.has_distortion


@pytest.mark.parametrize("pitch", [-90.0, -60.0, -35.0])
@pytest.mark.parametrize("stabilized", [True, False])
def test_project_unproject_round_trip(pitch: float, stabilized: bool) -> None:
    mount = CameraMount(pitch_deg=pitch, stabilized=stabilized, yaw_deg=10.0)
    r = rotation_world_from_camera(3.0, -4.0, 37.0, mount)
    assert np.allclose(r @ r.T, np.eye(3)) and np.linalg.det(r) == pytest.approx(1.0)
    c = np.array([5.0, -3.0, -42.0])
    rng = np.random.default_rng(1)
    u = rng.uniform(0, CAM.width - 1, 200)
    v = rng.uniform(0, CAM.height - 1, 200)
    rays = pixel_ray(u, v, r, CAM)
    pts = c + rays * rng.uniform(5, 300, 200)[:, None]
    uv, front = project_world_to_pixel(pts, c, r, CAM)
    assert front.all()
    assert np.abs(uv - np.stack([u, v], 1)).max() < 1e-6


def test_distortion_matches_opencv() -> None:
    pts = np.array([[1.0, 2.0, 10.0], [-4.0, 3.0, 8.0], [3.0, -2.5, 5.0]])
    uv, _ = project_world_to_pixel(pts, np.zeros(3), np.eye(3), CAM)
    ref, _ = cv2.projectPoints(pts, np.zeros(3), np.zeros(3), CAM.K, CAM.dist_coeffs)
    assert np.abs(uv - ref.reshape(-1, 2)).max() < 1e-9


def test_nadir_yaw0_has_north_up_east_right() -> None:
    r = rotation_world_from_camera(0, 0, 0, NADIR)
    assert np.allclose(r[:, 2], [0, 0, 1])  # optical axis points down
    assert np.allclose(r[:, 0], [0, 1, 0])  # image right is east
    assert np.allclose(r[:, 1], [-1, 0, 0])  # image down is south
    # yaw 90 (heading east): image up is east
    r90 = rotation_world_from_camera(0, 0, 90, NADIR)
    assert np.allclose(-r90[:, 1], [0, 1, 0])


def test_stabilized_mount_ignores_roll_pitch_but_hard_mount_does_not() -> None:
    a = rotation_world_from_camera(10, -8, 30, NADIR)
    b = rotation_world_from_camera(0, 0, 30, NADIR)
    assert np.allclose(a, b)
    hard = CameraMount(stabilized=False)
    assert not np.allclose(rotation_world_from_camera(10, -8, 30, hard), b)
    # positive pitch (nose up) turns the belly, and a hard-mounted nadir camera, forward (north at yaw 0)
    r = rotation_world_from_camera(0, 10, 0, hard)
    assert r[0, 2] > 0


def test_pixel_to_lat_lon_and_footprint() -> None:
    pose = CameraPose(lat=22.52, lon=114.06, alt_m=50.0, yaw_deg=0.0)
    centre = pixel_to_lat_lon(CAM.cx, CAM.cy, pose, CAM, NADIR)
    assert centre is not None and distance_m(pose.lat, pose.lon, *centre) < 1e-6
    corners = ground_footprint(pose, CAM, NADIR)
    half_w = 50.0 * math.tan(math.radians(73.0 / 2))
    ne = [to_local(pose.lat, pose.lon, la, lo) for la, lo in corners]
    # TL is north-west, BR is south-east; width across is ~2*alt*tan(hfov/2) (distortion shrinks it a bit)
    assert ne[0][0] > 0 > ne[0][1] and ne[2][0] < 0 < ne[2][1]
    assert abs(ne[1][1] - ne[0][1]) == pytest.approx(2 * half_w, rel=0.03)
    # an oblique view looking at the horizon is clipped at max range
    far = ground_footprint(pose.model_copy(update={"gimbal_pitch_deg": -10.0}), CAM, NADIR, max_range_m=400)
    assert distance_m(pose.lat, pose.lon, *far[0]) == pytest.approx(400, rel=1e-3)
    assert bearing_deg(pose.lat, pose.lon, *far[0]) > 270


def test_mount_offset_moves_camera() -> None:
    pose = CameraPose(lat=22.52, lon=114.06, alt_m=30.0, yaw_deg=90.0)
    m = CameraMount(offset_frd_m=(0.5, 0.0, 0.2))
    c = camera_position_ned(pose, pose.lat, pose.lon, m)
    assert c == pytest.approx([0.0, 0.5, -29.8], abs=1e-9)
    hit = intersect_water(c, pixel_ray(CAM.cx, CAM.cy, pose_rotation(pose, m), CAM))[0]
    assert hit[:2] == pytest.approx([0.0, 0.5], abs=1e-9)
    assert offset(pose.lat, pose.lon, 0, 0) == (pose.lat, pose.lon)


def test_calibration_file_round_trip(tmp_path) -> None:
    p = tmp_path / "cam.json"
    CAM.save(p)
    assert CameraModel.load(p) == CAM
    (tmp_path / "bad.json").write_text('{"width": 10}')
    with pytest.raises(ValueError, match=r"bad\.json"):
        CameraModel.load(tmp_path / "bad.json")
    half = CAM.scaled(960, 540)
    assert half.hfov_deg == pytest.approx(CAM.hfov_deg)


def test_lat_lon_pixel_round_trip() -> None:
    pose = CameraPose(lat=22.52, lon=114.06, alt_m=45.0, yaw_deg=123.0, gimbal_pitch_deg=-65.0)
    for u, v in [(100.0, 80.0), (CAM.cx, CAM.cy), (1800.0, 1000.0)]:
        ll = pixel_to_lat_lon(u, v, pose, CAM, NADIR)
        assert ll is not None
        uv = lat_lon_to_pixel(*ll, pose, CAM, NADIR)
        assert uv is not None and uv == pytest.approx((u, v), abs=1e-5)
    behind = offset(
        pose.lat, pose.lon, -60.0 * math.cos(math.radians(123)), -60.0 * math.sin(math.radians(123))
    )
    assert lat_lon_to_pixel(*behind, pose.model_copy(update={"gimbal_pitch_deg": 0.0}), CAM, NADIR) is None
