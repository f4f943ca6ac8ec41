"""Geolocation: accuracy under realistic noise, calibrated radius, and rays that miss the water."""

from __future__ import annotations

import math

import numpy as np
import pytest

from contract.camera import CameraModel, CameraMount, CameraPose, pixel_to_lat_lon
from contract.geo import distance_m, offset, to_local
from edge.geolocate import GeoConfig, GeoFix, NoGroundIntersection, geolocate_box, geolocate_pixel

LAT, LON = 22.5205, 114.0632
PATROL_ALT_M = 30.0


def _noisy_trials(mount: CameraMount, n: int, seed: int, att_deg: float, gps_m: float):
    """(error_m, reported_radius_m) of n sightings, each with freshly drawn sensor noise."""
    rng = np.random.default_rng(seed)
    cam = CameraModel.default()
    cfg = GeoConfig(
        camera=cam,
        mount=mount,
        tilt_sigma_deg=att_deg,
        yaw_sigma_deg=att_deg,
        altitude_sigma_m=0.5,
        gps_sigma_m=gps_m,
        pixel_sigma_px=2.0,
    )
    errors, radii = [], []
    while len(errors) < n:
        true = CameraPose(
            lat=LAT,
            lon=LON,
            alt_m=PATROL_ALT_M,
            roll_deg=rng.uniform(-5, 5),
            pitch_deg=rng.uniform(-8, 3),
            yaw_deg=rng.uniform(0, 360),
        )
        u, v = rng.uniform(0, cam.width - 1), rng.uniform(0, cam.height - 1)
        truth = pixel_to_lat_lon(u, v, true, cam, mount)
        assert truth is not None
        n_err, e_err = rng.normal(0, gps_m, 2)
        lat, lon = offset(LAT, LON, n_err, e_err)
        # A stabilized gimbal turns attitude error into gimbal pointing error; CameraPose can
        # express gimbal pitch, so for it we perturb gimbal pitch and heading.
        g_pitch = None if not mount.stabilized else mount.pitch_deg + rng.normal(0, att_deg)
        seen = CameraPose(
            lat=lat,
            lon=lon,
            alt_m=PATROL_ALT_M + rng.normal(0, 0.5),
            roll_deg=true.roll_deg + rng.normal(0, att_deg),
            pitch_deg=true.pitch_deg + rng.normal(0, att_deg),
            yaw_deg=true.yaw_deg + rng.normal(0, att_deg),
            gimbal_pitch_deg=g_pitch,
        )
        fix = geolocate_pixel(u + rng.normal(0, 2.0), v + rng.normal(0, 2.0), seen, cfg)
        assert isinstance(fix, GeoFix)
        errors.append(distance_m(truth[0], truth[1], fix.lat, fix.lon))
        radii.append(fix.uncertainty_m)
    return np.array(errors), np.array(radii)


@pytest.mark.parametrize(
    "mount",
    [CameraMount(stabilized=False), CameraMount()],
    ids=["hard-mount", "gimbal"],
)
def test_median_error_within_3m_at_patrol_altitude(mount):
    errors, radii = _noisy_trials(mount, n=400, seed=7, att_deg=1.5, gps_m=1.5)
    assert np.median(errors) <= 3.0, f"median {np.median(errors):.2f} m"
    # The radius is meant to hold ~95%: not a decoration, so check it is neither tiny nor huge.
    covered = float(np.mean(errors <= radii))
    assert 0.9 <= covered <= 0.999, f"radius covers {covered:.3f}"
    assert np.median(radii) < 4 * np.median(errors)


def test_worse_sensors_give_larger_radius_and_error():
    good_e, good_r = _noisy_trials(CameraMount(stabilized=False), n=150, seed=3, att_deg=1.0, gps_m=1.0)
    bad_e, bad_r = _noisy_trials(CameraMount(stabilized=False), n=150, seed=3, att_deg=4.0, gps_m=3.0)
    assert np.median(bad_e) > np.median(good_e)
    assert np.median(bad_r) > 1.5 * np.median(good_r)


def test_nadir_centre_is_below_the_vehicle_and_yaw_turns_the_image():
    cam = CameraModel.default()
    cfg = GeoConfig(camera=cam)
    pose = CameraPose(lat=LAT, lon=LON, alt_m=PATROL_ALT_M, yaw_deg=90.0)
    centre = geolocate_pixel(cam.cx, cam.cy, pose, cfg)
    assert isinstance(centre, GeoFix)
    assert distance_m(LAT, LON, centre.lat, centre.lon) < 1e-6
    assert centre.off_nadir_deg == pytest.approx(0.0, abs=1e-6)
    # Heading east: image right points south.
    right = geolocate_box((cam.width - 60, cam.cy - 5, cam.width - 40, cam.cy + 5), pose, cfg)
    assert isinstance(right, GeoFix)
    north, east = to_local(LAT, LON, right.lat, right.lon)
    assert north < -15 and abs(east) < 0.5
    assert right.uncertainty_m > centre.uncertainty_m  # oblique views are less certain


def test_rays_at_or_above_the_horizon_are_a_typed_miss_not_nan():
    cam = CameraModel.default()
    cfg = GeoConfig(camera=cam, mount=CameraMount(pitch_deg=0.0))  # looking at the horizon
    pose = CameraPose(lat=LAT, lon=LON, alt_m=PATROL_ALT_M)
    sky = geolocate_pixel(cam.cx, 10.0, pose, cfg)
    assert isinstance(sky, NoGroundIntersection) and "horizon" in sky.reason
    at_horizon = geolocate_pixel(cam.cx, cam.cy, pose, cfg)
    assert isinstance(at_horizon, NoGroundIntersection)
    far = geolocate_pixel(cam.cx, cam.cy + 5, pose, cfg)  # just below the horizon: kilometres away
    assert isinstance(far, NoGroundIntersection) and "max_range_m" in far.reason
    near = geolocate_pixel(cam.cx, cam.height - 10, pose, cfg)
    assert isinstance(near, GeoFix) and math.isfinite(near.lat) and math.isfinite(near.uncertainty_m)
    assert isinstance(geolocate_pixel(float("nan"), 1.0, pose, cfg), NoGroundIntersection)


def test_bad_config_is_rejected_with_the_field_name():
    with pytest.raises(ValueError, match="gps_sigma_m"):
        GeoConfig(gps_sigma_m=-1)
    with pytest.raises(ValueError, match="confidence"):
        GeoConfig(confidence=1.0)
