"""A drone photo's ground scale read from its own metadata (EXIF, DJI XMP) and the detector run at it."""

from __future__ import annotations

import dataclasses
import json
import math

import cv2
import numpy as np
import pytest
from PIL import Image

from contract.camera import CameraModel, CameraPose, focal_px_from_35mm
from contract.geo import distance_m
from edge.detect.photo_scale import (
    PhotoMeta,
    PhotoScaleUnknown,
    focal_length_px,
    image_gsd,
    photo_scale,
    read_photo_meta,
    xmp_number,
)
from sim.camera.drone_files import focal_35mm, save_photo

# A DJI Mavic 3E's wide camera as its photos describe it: 5280 x 3956, calibrated focal length in px
MAVIC = PhotoMeta(
    width_px=5280,
    height_px=3956,
    focal_35mm_mm=24.0,
    calibrated_focal_px=3713.29,
    original_width_px=5280,
    original_height_px=3956,
    relative_altitude_m=30.0,
    gimbal_pitch_deg=-90.0,
)


def test_the_focal_length_in_pixels_from_each_kind_of_tag():
    assert focal_length_px(MAVIC) == (pytest.approx(3713.29), "XMP CalibratedFocalLength")
    # the same photo resized by half (a phone's share sheet): the calibration refers to the original
    half = PhotoMeta(2640, 1978, calibrated_focal_px=3713.29, original_width_px=5280, original_height_px=3956)
    assert focal_length_px(half)[0] == pytest.approx(3713.29 / 2)
    # no calibration: the 35 mm equivalent, quoted on the full-frame diagonal (43.27 mm)
    f35, source = focal_length_px(PhotoMeta(4000, 3000, focal_35mm_mm=24.0))
    assert f35 == pytest.approx(24.0 / math.hypot(36, 24) * 5000) and source == "EXIF 24 mm 35 mm-equivalent"
    # focal length in mm x the focal plane's pixels per mm
    plane = PhotoMeta(4000, 3000, focal_mm=4.5, focal_plane_px_per_mm=600.0)
    assert focal_length_px(plane)[0] == pytest.approx(2700.0)
    with pytest.raises(PhotoScaleUnknown, match=r"no focal length it can use.*give --lens-mm.*or --gsd-cm"):
        focal_length_px(PhotoMeta(4000, 3000, focal_mm=4.5))


def test_the_gsd_is_height_over_focal_length_and_says_where_each_came_from():
    scale = photo_scale(MAVIC)
    assert scale.gsd_m == pytest.approx(30.0 / 3713.29)
    assert scale.describe() == (
        "0.81 cm/px from 30.0 m (XMP RelativeAltitude) over 3713 px focal length (XMP CalibratedFocalLength)"
    )
    given = photo_scale(MAVIC, altitude_m=42.0)  # the operator knows the height above the water
    assert given.gsd_m == pytest.approx(42.0 / 3713.29) and given.altitude_from == "given"


@pytest.mark.parametrize(
    ("meta", "altitude", "message"),
    [
        (
            PhotoMeta(4000, 3000, focal_35mm_mm=24.0),
            None,
            r"no height \(XMP RelativeAltitude\): give --altitude-m",
        ),
        (
            PhotoMeta(4000, 3000, focal_35mm_mm=24.0, relative_altitude_m=0.4),
            None,
            "XMP RelativeAltitude 0.4 m: not flown above the take-off point",
        ),
        (PhotoMeta(4000, 3000, focal_35mm_mm=24.0), -5.0, r"altitude -5.0 m: must be above the water"),
        (PhotoMeta(4000, 3000, relative_altitude_m=30.0), None, "no focal length"),
        (
            PhotoMeta(4000, 3000, focal_35mm_mm=24.0, relative_altitude_m=30.0, gimbal_pitch_deg=-60.0),
            None,
            r"camera 30 deg off straight down \(gimbal pitch -60\)",
        ),
    ],
)
def test_a_photo_that_does_not_say_enough_is_named_not_guessed(meta, altitude, message):
    with pytest.raises(PhotoScaleUnknown, match=message):
        photo_scale(meta, altitude)


def test_a_tilted_camera_gives_the_centre_gsd_the_edge_agent_computes_in_flight():
    from edge.geolocate import GeoConfig, ground_sample_distance

    camera = CameraModel.from_hfov(4000, 3000, 72.0)
    meta = PhotoMeta(
        4000, 3000, calibrated_focal_px=camera.fx, relative_altitude_m=30.0, gimbal_pitch_deg=-75.0
    )
    pose = CameraPose(lat=22.5, lon=114.0, alt_m=30.0, gimbal_pitch_deg=-75.0)
    in_flight = ground_sample_distance(pose, GeoConfig(camera=camera))
    assert photo_scale(meta).gsd_m == pytest.approx(in_flight, rel=2e-3)
    assert photo_scale(meta).gsd_m > 30.0 / camera.fx * 1.05  # farther than straight down


def test_xmp_numbers_as_attributes_or_elements_under_any_prefix():
    assert xmp_number('<d drone-dji:RelativeAltitude="+30.20"/>', "RelativeAltitude") == 30.2
    assert (
        xmp_number("<drone-dji:GimbalPitchDegree>-89.9</drone-dji:GimbalPitchDegree>", "GimbalPitchDegree")
        == -89.9
    )
    assert xmp_number('<d Camera:RelativeAltitude = "12"/>', "RelativeAltitude") == 12.0
    assert xmp_number('<d drone-dji:RelativeAltitude="high"/>', "RelativeAltitude") is None
    assert xmp_number('<d drone-dji:RelativeAltitude="nan"/>', "RelativeAltitude") is None
    assert xmp_number('<d drone-dji:AbsoluteAltitude="30"/>', "RelativeAltitude") is None


def test_a_photo_saved_as_the_sim_s_drone_saves_it_reads_back_its_scale(tmp_path):
    camera = CameraModel.default()
    image = np.zeros((camera.height, camera.width, 3), np.uint8)
    true_gsd = 30.0 / camera.fx
    rounded = save_photo(tmp_path / "a.jpg", image, camera, 30.0)
    gsd, note = image_gsd(rounded)
    assert focal_35mm(camera) == 25  # EXIF keeps whole millimetres: ~2 % off the lens
    assert gsd == pytest.approx(true_gsd, rel=0.025) and gsd != pytest.approx(true_gsd, rel=1e-3)
    assert "XMP RelativeAltitude" in note and "EXIF 25 mm 35 mm-equivalent" in note
    calibrated = save_photo(tmp_path / "b.jpg", image, camera, 30.0, calibrated_focal=True)
    assert image_gsd(calibrated)[0] == pytest.approx(true_gsd, rel=1e-4)
    assert image_gsd(calibrated, altitude_m=15.0)[0] == pytest.approx(true_gsd / 2, rel=1e-4)
    assert read_photo_meta(calibrated).camera == "RiverPatrol sim.camera"


def test_a_photo_turned_upright_by_its_exif_orientation_keeps_its_scale(tmp_path):
    camera = CameraModel.default().scaled(800, 600)
    path = save_photo(
        tmp_path / "p.jpg", np.zeros((600, 800, 3), np.uint8), camera, 30.0, calibrated_focal=True
    )
    with Image.open(path) as im:
        exif, xmp = im.getexif(), im.info["xmp"]
        exif[0x0112] = 6  # stored sideways, shown turned 90 degrees
        im.save(tmp_path / "turned.jpg", exif=exif, xmp=xmp)
    meta = read_photo_meta(tmp_path / "turned.jpg")
    assert (
        (meta.width_px, meta.height_px)
        == (600, 800)
        == cv2.imread(str(tmp_path / "turned.jpg")).shape[:2][::-1]
    )
    assert image_gsd(tmp_path / "turned.jpg")[0] == pytest.approx(30.0 / camera.fx, rel=1e-4)
    assert meta.orientation == 6


def test_files_without_what_it_needs_say_so(tmp_path):
    plain = tmp_path / "plain.png"
    cv2.imwrite(str(plain), np.zeros((100, 100, 3), np.uint8))
    assert image_gsd(plain) == (
        None,
        "ground scale unknown: no height (XMP RelativeAltitude): give --altitude-m (height above the "
        "water) or --gsd-cm",
    )
    # the operator knows the drone's height and its camera's quoted lens: enough for any image
    gsd, note = image_gsd(plain, altitude_m=30.0, lens_35mm_mm=24.0)
    assert gsd == pytest.approx(30.0 / focal_px_from_35mm(24.0, 100, 100)) and "(given 24 mm" in note
    not_an_image = tmp_path / "notes.jpg"
    not_an_image.write_text("not a photo")
    assert image_gsd(not_an_image) == (None, "no photo metadata readable")
    assert focal_px_from_35mm(24.0, 4000, 3000) == pytest.approx(2773.5, abs=0.1)


@pytest.fixture(scope="module")
def drone_photo(tmp_path_factory):
    """A 4000x3000 photo from 30 m over the litter, saved as a drone saves it, and its truth."""
    from sim.camera import Renderer, RiverScene

    camera = CameraModel.from_hfov(
        4000, 3000, math.degrees(2 * math.atan(2000 / focal_px_from_35mm(24.4, 4000, 3000)))
    )
    scene = RiverScene(seed=9701, domain="train", n_debris=300)
    item = scene.debris[5]
    n, e = item.position_ne(scene.river, 10.0)
    lat, lon = scene.to_lat_lon(float(n), float(e))
    frame = Renderer(scene).render(CameraPose(lat=lat, lon=lon, alt_m=30.0, yaw_deg=30.0), camera, 10.0)
    folder = tmp_path_factory.mktemp("photo")
    path = save_photo(folder / "DJI_0001.JPG", frame.image, camera, 30.0, yaw_deg=30.0, lat=lat, lon=lon)
    truth = [b for b in frame.truth if b.size_m >= 0.3 and b.visible_fraction >= 0.9]
    return path, 30.0 / camera.fx, truth


def _detect_json(*args: str) -> dict:
    from typer.testing import CliRunner

    from edge.detect.cli import app

    result = CliRunner().invoke(app, ["detect", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.splitlines()[-1])


def test_the_detect_command_runs_a_drone_photo_at_the_scale_its_metadata_gives(drone_photo):
    from edge.detect import Detector, DetectorConfig
    from edge.detect.nms import pairwise_overlap

    path, true_gsd, truth = drone_photo
    line = _detect_json(str(path))
    assert line["gsd_cm"] / 100 == pytest.approx(true_gsd, rel=0.025)  # 24.4 mm written as 24
    assert "from 30.0 m (XMP RelativeAltitude)" in line["scale"]
    detector = Detector(DetectorConfig())
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    expected = detector.detect(image, gsd_m=line["gsd_cm"] / 100)
    assert [d["box"] for d in line["detections"]] == [[round(v, 1) for v in d.box] for d in expected]
    # it finds the litter under it, boxes and classes right, and says where each item floats
    boxes = np.asarray([d["box"] for d in line["detections"]], np.float32).reshape(-1, 4)
    found, misplaced = 0, []
    for t in truth:
        iou = pairwise_overlap(np.asarray([t.x1, t.y1, t.x2, t.y2], np.float32), boxes)
        best = int(iou.argmax()) if len(boxes) else -1
        if best >= 0 and iou[best] >= 0.5 and line["detections"][best]["class"] == t.kind:
            found += 1
            at = line["detections"][best]
            misplaced.append(distance_m(at["lat"], at["lon"], t.lat, t.lon))
            assert at["uncertainty_m"] > misplaced[-1]
    assert len(truth) >= 4 and found >= len(truth) / 2, (len(truth), found)
    assert max(misplaced) < 1.0, misplaced  # GPS, heading and height as recorded: the lens rounding

    as_it_comes = _detect_json(str(path), "--no-metadata")
    assert "gsd_cm" not in as_it_comes
    assert [d["box"] for d in as_it_comes["detections"]] == [
        [round(v, 1) for v in d.box] for d in detector.detect(image)
    ]
    higher = _detect_json(str(path), "--altitude-m", "60")
    assert higher["gsd_cm"] == pytest.approx(2 * line["gsd_cm"], rel=1e-3) and "(given)" in higher["scale"]
    assert all("lat" not in d for d in as_it_comes["detections"])  # metadata off: no position either
    given = _detect_json(str(path), "--gsd-cm", "1.5")
    assert given["gsd_cm"] == 1.5 and given["scale"] == "1.5 cm/px (given)"


def test_model_score_runs_and_sizes_each_photo_at_its_own_scale(tmp_path):
    """A folder of drone photos from 60 m (twice the trained height) and their labels: each photo
    is run, and its items sized, at the GSD its metadata gives, exactly as with that GSD given."""
    from typer.testing import CliRunner

    from models.yolo_io import yolo_lines
    from riverpatrol.cli import app
    from sim.camera import Renderer, RiverScene

    camera = CameraModel.default()
    scene = RiverScene(seed=9702, domain="train", n_debris=300)
    renderer, folder = Renderer(scene), tmp_path / "photos"
    (folder / "images").mkdir(parents=True)
    (folder / "labels").mkdir()
    for k, index in enumerate((3, 40)):
        n, e = scene.debris[index].position_ne(scene.river, 5.0)
        lat, lon = scene.to_lat_lon(float(n), float(e))
        frame = renderer.render(CameraPose(lat=lat, lon=lon, alt_m=60.0), camera, 5.0)
        save_photo(folder / "images" / f"DJI_{k:04d}.JPG", frame.image, camera, 60.0)
        boxes = np.asarray([[b.x1, b.y1, b.x2, b.y2] for b in frame.truth], np.float32).reshape(-1, 4)
        classes = np.asarray([b.class_index for b in frame.truth], np.int64)
        (folder / "labels" / f"DJI_{k:04d}.txt").write_text(
            yolo_lines(boxes, classes, camera.width, camera.height)
        )

    def score(*extra: str) -> dict:
        out = tmp_path / f"score{len(extra)}.json"
        res = CliRunner().invoke(app, ["model", "score", str(folder), "--out", str(out), *extra])
        assert res.exit_code == 0, res.output
        return json.loads(out.read_text())

    from_photos = score()
    read = from_photos["dataset"]["gsd_from_photos"]
    assert read["images"] == 2 and read["cm_median"] == pytest.approx(6000 / camera.fx, rel=0.025)
    assert from_photos["dataset"]["sizes"].startswith("metres from each photo's metadata (2 of 2 images)")
    given = score("--gsd-cm", str(read["cm_median"]))
    for key in ("items_ge_0.3m", "items_all", "tp", "fp", "fn", "recall_ge_0.3m", "per_size"):
        assert from_photos[key] == given[key], key
    assert from_photos["items_ge_0.3m"] < from_photos["items_all"]  # small items sized, not counted
    as_they_come = score("--no-metadata")
    assert as_they_come["dataset"]["gsd_from_photos"] is None and as_they_come["per_size"] is None


def test_position_and_heading_read_back_and_what_a_pose_needs(tmp_path):
    from edge.detect.photo_scale import photo_pose

    camera = CameraModel.default()
    image = np.zeros((camera.height, camera.width, 3), np.uint8)
    path = save_photo(
        tmp_path / "s.jpg", image, camera, 25.0, yaw_deg=-120.0, lat=-33.4567891, lon=-70.6543219
    )
    meta = read_photo_meta(path)
    assert meta.lat == pytest.approx(-33.4567891, abs=1e-7) and meta.lon == pytest.approx(
        -70.6543219, abs=1e-7
    )
    assert meta.heading_deg == -120.0
    pose, lens = photo_pose(meta)
    assert (pose.alt_m, pose.yaw_deg, pose.gimbal_pitch_deg) == (25.0, -120.0, -90.0)
    assert lens.fx == pytest.approx(focal_px_from_35mm(25.0, camera.width, camera.height))
    with pytest.raises(PhotoScaleUnknown, match=r"no position \(EXIF GPS\)"):
        photo_pose(PhotoMeta(4000, 3000, focal_35mm_mm=24.0, relative_altitude_m=30.0, heading_deg=0.0))
    with pytest.raises(PhotoScaleUnknown, match="no camera heading"):
        photo_pose(PhotoMeta(4000, 3000, focal_35mm_mm=24.0, relative_altitude_m=30.0, lat=1.0, lon=2.0))
    turned = PhotoMeta(
        3000, 4000, focal_35mm_mm=24.0, relative_altitude_m=30.0, lat=1.0, lon=2.0, heading_deg=0.0
    )
    assert photo_pose(turned)[0].lat == 1.0
    with pytest.raises(PhotoScaleUnknown, match=r"turned or mirrored \(EXIF Orientation 6\)"):
        photo_pose(dataclasses.replace(turned, orientation=6))


def test_the_table_output_in_a_log_keeps_every_position_whole_and_sums_up(drone_photo, tmp_path):
    """Off a terminal (a log, a pipe) rich draws 80 columns: the coordinates must not be cut."""
    from typer.testing import CliRunner

    from edge.detect.cli import app

    path, _gsd, _truth = drone_photo
    line = _detect_json(str(path))
    blank = tmp_path / "water.png"
    cv2.imwrite(str(blank), np.full((540, 960, 3), (90, 110, 100), np.uint8))
    result = CliRunner().invoke(app, ["detect", str(path), str(blank), str(tmp_path / "gone.jpg")])
    assert result.exit_code == 1, result.output  # one input skipped
    out = result.stdout
    n = len(line["detections"])
    assert f"{path}: {n} detections" in out and f"{blank}: 0 detections" in out
    for d in line["detections"]:
        assert f"{d['lat']:.7f}" in out and f"{d['lon']:.7f}" in out
        assert f"│ {d['class']} " in out
    classes = sorted({d["class"] for d in line["detections"]})
    by_class = ", ".join(f"{sum(d['class'] == c for d in line['detections'])} {c}" for c in classes)
    assert f"2 frames run: {n} detections ({by_class})" in out
    assert f"skipped: {tmp_path / 'gone.jpg'}: no such file" in " ".join(out.split())
