"""The renderer's pixels and its truth agree with each other and with the shared camera model."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from contract.camera import CameraMount, ground_footprint, pose_rotation, project_world_to_pixel
from contract.messages import DEBRIS_CLASSES
from sim.camera import DISTRACTOR_KINDS, Appearance, Renderer, RiverScene, footprint, render, wind_to_ne
from sim.camera.render import local_of
from tests.sim_camera.conftest import pose_over

# a look without blur/noise-free so pixel differences are exact, but with normal water
FLAT = dict(noise_sigma=0.0, blur_sigma=0.0)


def _scene(seed: int, **kw) -> RiverScene:
    sc = RiverScene(seed=seed, **kw)
    return sc


def _calm(seed: int, **kw) -> RiverScene:
    base = RiverScene(seed=seed, n_debris=0, n_distractors=0)
    assert base.appearance is not None
    ap = base.appearance.model_copy(update=FLAT)
    return RiverScene(seed=seed, appearance=ap, **kw)


def test_same_seed_same_frame(small_camera) -> None:
    a, b = RiverScene(seed=3), RiverScene(seed=3)
    pose = pose_over(a, a.debris[0], yaw_deg=40)
    fa, fb = render(a, pose, small_camera, t=2.0), render(b, pose, small_camera, t=2.0)
    assert np.array_equal(fa.image, fb.image)
    assert fa.truth == fb.truth
    other = render(RiverScene(seed=4), pose, small_camera, t=2.0)
    assert not np.array_equal(fa.image, other.image)


def test_boxes_cover_exactly_the_pixels_debris_changes(small_camera) -> None:
    littered = _calm(5, n_debris=300, n_distractors=0)
    clean = _calm(5, n_debris=0, n_distractors=0)
    item = next(d for d in littered.debris if d.kind == "foam" and d.size_m > 0.8)
    checked = 0
    for k, alt in enumerate((15.0, 25.0)):
        pose = pose_over(littered, item, alt_m=alt, yaw_deg=30.0 * k, de=2.0)
        f = Renderer(littered).render(pose, small_camera, 1.0)
        g = Renderer(clean).render(pose, small_camera, 1.0)
        assert f.truth and not g.truth
        diff = cv2.absdiff(f.image, g.image).max(axis=2) > 10
        inside = np.zeros_like(diff)
        for b in f.truth:
            x1, y1 = int(np.floor(b.x1)) - 2, int(np.floor(b.y1)) - 2
            inside[max(y1, 0) : int(np.ceil(b.y2)) + 2, max(x1, 0) : int(np.ceil(b.x2)) + 2] = True
        assert diff.sum() > 50
        assert (diff & ~inside).sum() <= 0.01 * diff.sum(), "pixels changed outside every truth box"
        for b in f.truth:
            w, h = b.x2 - b.x1, b.y2 - b.y1
            if b.visible_fraction > 0.9 and min(w, h) >= 4:
                sub = diff[int(b.y1) : int(np.ceil(b.y2)), int(b.x1) : int(np.ceil(b.x2))]
                assert sub.mean() > 0.08, f"box {b} holds almost no changed pixels"
                checked += 1
    assert checked >= 2


def test_item_world_position_is_where_the_pixels_are_from_any_pose(small_camera) -> None:
    littered = _calm(8, n_debris=1, n_distractors=0)
    clean = _calm(8, n_debris=0, n_distractors=0)
    item = littered.debris[0]
    mount = CameraMount()
    centres = []
    for kw in ({"alt_m": 18.0, "yaw_deg": 0.0, "de": 6.0}, {"alt_m": 26.0, "yaw_deg": 75.0, "dn": -8.0}):
        pose = pose_over(littered, item, t=4.0, **kw)
        f = Renderer(littered).render(pose, small_camera, 4.0)
        g = Renderer(clean).render(pose, small_camera, 4.0)
        diff = cv2.absdiff(f.image, g.image).max(axis=2).astype(np.float32)
        ys, xs = np.nonzero(diff > 10)
        assert len(xs) > 10
        # the changed pixels' centroid is where the contract's projection puts the item
        n, e = item.position_ne(littered.river, 4.0)
        from contract.camera import camera_position_ned

        c = camera_position_ned(pose, *littered.origin, mount)
        uv, front = project_world_to_pixel(
            np.array([[n, e, 0.0]]), c, pose_rotation(pose, mount), small_camera
        )
        assert front.all()
        w = diff[ys, xs]
        centroid = np.array([(xs * w).sum() / w.sum(), (ys * w).sum() / w.sum()])
        size_px = max(f.truth[0].x2 - f.truth[0].x1, f.truth[0].y2 - f.truth[0].y1)
        assert np.hypot(*(centroid - uv[0])) < 0.25 * size_px + 1.0
        centres.append(uv[0])
        b = f.truth[0]
        assert b.item_id == item.item_id
        assert b.x1 - 1 <= uv[0][0] + 0.5 <= b.x2 + 1 and b.y1 - 1 <= uv[0][1] + 0.5 <= b.y2 + 1
    assert np.hypot(*(centres[0] - centres[1])) > 20  # the box really moved between the poses


def test_debris_free_scene_has_no_truth_but_keeps_distractors(small_camera) -> None:
    sc = RiverScene(seed=11, n_debris=0, n_distractors=400)
    seen = []
    for d in sc.distractors[:6]:
        f = render(sc, pose_over(sc, d, alt_m=40), small_camera, 0.0)
        assert f.truth == []
        seen += f.distractors
    assert seen
    assert {b.kind for b in seen} <= set(DISTRACTOR_KINDS)
    assert all(b.class_index == -1 for b in seen)


def test_distractor_mix_is_chosen_per_scene_and_defaults_unchanged() -> None:
    birds = RiverScene(seed=13, n_debris=0, n_distractors=200, distractor_weights={"bird": 1.0})
    assert {d.kind for d in birds.distractors} == {"bird"}
    default = RiverScene(seed=13, n_debris=0, n_distractors=200)
    assert len({d.kind for d in default.distractors}) == len(DISTRACTOR_KINDS)
    # the default mix is the same world whether asked for by None or not at all
    assert RiverScene(seed=13, n_debris=0, n_distractors=200, distractor_weights=None).distractors == (
        default.distractors
    )
    for bad in ({"dog": 1.0}, {"bird": -1.0, "boat": 2.0}, {}, {"bird": 0.0}):
        with pytest.raises(ValueError, match="distractor_weights"):
            RiverScene(seed=13, n_distractors=5, distractor_weights=bad)


def test_distractors_never_in_truth(small_camera) -> None:
    sc = RiverScene(seed=12, n_debris=150, n_distractors=300)
    distractor_ids = {d.item_id for d in sc.distractors}
    n_truth = n_dis = 0
    for it in sc.debris[:5]:
        f = render(sc, pose_over(sc, it, alt_m=45), small_camera, 0.0)
        for b in f.truth:
            assert b.kind in DEBRIS_CLASSES and DEBRIS_CLASSES[b.class_index] == b.kind
            assert b.item_id not in distractor_ids
            assert 0 <= b.x1 < b.x2 <= small_camera.width and 0 <= b.y1 < b.y2 <= small_camera.height
            assert 0 < b.visible_fraction <= 1
        n_truth += len(f.truth)
        n_dis += len(f.distractors)
        assert {b.item_id for b in f.distractors} <= distractor_ids
    assert n_truth >= 5 and n_dis >= 1


@pytest.mark.parametrize("kind", ["bottle", "vegetation"])
def test_pixel_size_scales_with_one_over_altitude(small_camera, kind: str) -> None:
    sc = RiverScene(seed=21, n_debris=60, n_distractors=0)
    item = next(d for d in sc.debris if d.kind == kind)
    sizes = {}
    for alt in (15.0, 30.0, 60.0):
        f = render(sc, pose_over(sc, item, alt_m=alt, yaw_deg=10.0), small_camera, 0.0)
        b = next(b for b in f.truth if b.item_id == item.item_id)
        sizes[alt] = np.hypot(b.x2 - b.x1, b.y2 - b.y1)
    assert sizes[15.0] / sizes[30.0] == pytest.approx(2.0, rel=0.08)
    assert sizes[30.0] / sizes[60.0] == pytest.approx(2.0, rel=0.08)
    # and the real size is right: box diagonal <= item size in pixels at nadir (fx / alt per metre)
    assert sizes[30.0] <= item.size_m * small_camera.fx / 30.0 * 1.5


def test_items_drift_downstream_deterministically() -> None:
    sc = RiverScene(seed=2)
    it = sc.debris[0]
    s0, s1 = it.arc_at(sc.river, 0.0), it.arc_at(sc.river, 10.0)
    assert (s1 - s0) % sc.river.length_m == pytest.approx(it.speed_m_s * 10.0)
    assert 0 < it.speed_m_s < 0.5
    assert RiverScene(seed=2).debris[0] == it


def test_footprint_helper_matches_frame(small_camera) -> None:
    sc = RiverScene(seed=1, n_debris=5)
    pose = pose_over(sc, sc.debris[0], alt_m=50, yaw_deg=20, gimbal_pitch_deg=-70)
    f = render(sc, pose, small_camera)
    assert f.footprint == ground_footprint(pose, small_camera, CameraMount(), 600.0)
    assert footprint(pose, small_camera) == ground_footprint(pose, small_camera, CameraMount())


def test_appearance_domains_are_disjoint() -> None:
    rng = np.random.default_rng(0)
    train = [Appearance.sample(rng, "train") for _ in range(60)]
    held = [Appearance.sample(rng, "heldout") for _ in range(60)]
    assert {a.water_family for a in train}.isdisjoint({a.water_family for a in held})
    assert all(30 <= a.sun_elev_deg <= 70 for a in train)
    assert not any(30 <= a.sun_elev_deg <= 70 for a in held)
    assert RiverScene(seed=9, domain="heldout").appearance.domain == "heldout"
    shift = [Appearance.sample(rng, "shift") for _ in range(60)]
    shift_families = {a.water_family for a in shift}
    assert shift_families.isdisjoint({a.water_family for a in train} | {a.water_family for a in held})
    assert len(shift_families) == 3  # every family of the look is drawn
    assert all(30 <= a.sun_elev_deg <= 70 for a in shift)  # only the water is new
    extreme = [Appearance.sample(rng, "extreme") for _ in range(60)]
    assert {a.water_family for a in extreme} <= {a.water_family for a in train}  # only sun and waves
    for a in extreme:  # beyond both the training and the held-out ranges
        assert a.sun_elev_deg < 12 or a.sun_elev_deg > 85
        assert a.wave_length_m < 0.25 or a.wave_length_m > 4
    assert all(12 <= a.sun_elev_deg <= 85 for a in held)
    assert all(0.25 <= a.wave_length_m <= 4 for a in held)
    far = [Appearance.sample(rng, "far") for _ in range(60)]
    assert {a.water_family for a in far} == shift_families  # the shift look's water ...
    for a in far:  # ... under the extreme look's sun and waves
        assert a.sun_elev_deg < 12 or a.sun_elev_deg > 85
        assert a.wave_length_m < 0.25 or a.wave_length_m > 4


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="centerline"):
        RiverScene(seed=1, centerline=[(22.5, 114.0)])
    with pytest.raises(ValueError, match="width"):
        RiverScene(seed=1, width_m=0)
    with pytest.raises(ValueError, match=r"domain must be one of .*'shift'.*got 'held-out'"):
        RiverScene(seed=1, domain="held-out")  # type: ignore[arg-type]


def _single(seed: int, kind: str, **kw) -> RiverScene:
    """A scene with one debris item of ``kind`` placed by hand (fields of ``WorldItem`` in kw)."""
    sc = RiverScene(seed=seed, n_debris=200, n_distractors=100)
    d = next(i for i in sc.debris if i.kind == kind)
    sc.debris = [replace(d, spin_deg_s=0.0, speed_m_s=0.0, **kw)]
    sc.distractors = []
    return sc


def test_boats_and_bridges_hide_debris(small_camera) -> None:
    sc = _single(31, "foam", s0=300.0, lateral=0.0, size_m=1.2)
    pose = pose_over(sc, sc.debris[0], alt_m=25)
    assert [b.visible_fraction for b in render(sc, pose, small_camera).truth] == [1.0]
    boat = next(i for i in RiverScene(seed=31, n_debris=0, n_distractors=200).distractors if i.kind == "boat")
    sc.distractors = [replace(boat, s0=300.0, lateral=0.0, speed_m_s=0.0, size_m=6.0)]
    f = render(sc, pose, small_camera)
    assert [b.kind for b in f.distractors] == ["boat"]
    assert all(b.visible_fraction < 0.2 for b in f.truth)
    bridge = sc.bridges[0]
    under = _single(31, "foam", s0=bridge.s, lateral=0.0, size_m=1.0)
    f = render(under, pose_over(under, under.debris[0], alt_m=40), small_camera)
    assert all(b.visible_fraction < 0.05 for b in f.truth)


def test_random_poses_are_over_the_river_and_reproducible(small_camera) -> None:
    sc = RiverScene(seed=13, n_debris=400)
    a = [sc.random_pose(np.random.default_rng(5)) for _ in range(2)]
    assert a[0] == a[1]
    rng = np.random.default_rng(6)
    over = 0
    for _ in range(20):
        p = sc.random_pose(rng, alt_m=(30, 60))
        assert 30 <= p.alt_m <= 60 and -90 <= p.gimbal_pitch_deg <= -60
        _s, lat = sc.river.locate(*[np.array([v]) for v in local_of(sc, p.lat, p.lon)])
        over += abs(float(lat[0])) <= sc.width_m / 2
    assert over >= 10
    f = render(sc, sc.random_pose(rng), small_camera)
    assert f.appearance["water_family"] == sc.appearance.water_family


def test_pose_seeing_no_water_is_named_and_counted(small_camera) -> None:
    from sim.camera import metrics

    sc = RiverScene(seed=1, n_debris=3)
    before = metrics.BAD_POSES._value.get()
    frames = metrics.FRAMES._value.get()
    with pytest.raises(ValueError, match="sees no water"):
        render(sc, pose_over(sc, sc.debris[0], gimbal_pitch_deg=30.0), small_camera)
    assert metrics.BAD_POSES._value.get() == before + 1
    render(sc, pose_over(sc, sc.debris[0]), small_camera)  # and the renderer carries on
    assert metrics.FRAMES._value.get() == frames + 1


def test_frame_does_not_depend_on_render_history(small_camera) -> None:
    sc = RiverScene(seed=17, n_debris=300)
    a = pose_over(sc, sc.debris[0], alt_m=30, yaw_deg=15)
    b = pose_over(sc, sc.debris[1], alt_m=70, gimbal_pitch_deg=-60)
    r = Renderer(sc)
    first = r.render(a, small_camera, 3.0)
    r.render(b, small_camera, 5.0)
    again = r.render(a, small_camera, 3.0)
    assert np.array_equal(first.image, again.image) and first.truth == again.truth


@pytest.mark.parametrize(("pitch", "tol_px"), [(-90.0, 0.01), (-60.0, 0.06), (-45.0, 0.12)])
def test_coarse_lens_map_is_subpixel_exact(pitch: float, tol_px: float) -> None:
    """The per-pixel map is bilinear between exact rays on a coarse grid: check it against the
    contract's exact projection over the whole 1080p image."""
    from contract.camera import CameraModel, CameraPose

    cam = CameraModel.default()
    pose = CameraPose(lat=22.52, lon=114.06, alt_m=40.0, yaw_deg=30.0, gimbal_pitch_deg=pitch)
    r = pose_rotation(pose, CameraMount())
    c = np.array([0.0, 0.0, -40.0])
    rays, (gw, gh), _border, _radius = Renderer(RiverScene(seed=1, n_debris=0))._lens_for(cam)
    d = rays.astype(np.float64) @ r.T
    t = -c[2] / d[:, 2]
    east = Renderer._up((d[:, 1] * t).astype(np.float32).reshape(gh, gw), cam)
    north = Renderer._up((d[:, 0] * t).astype(np.float32).reshape(gh, gw), cam)
    v, u = np.mgrid[0:1080:7, 0:1920:7]
    pts = np.stack([north[v, u].ravel(), east[v, u].ravel(), np.zeros(u.size)], 1)
    uv, front = project_world_to_pixel(pts, c, r, cam)
    assert front.all()
    assert np.hypot(uv[:, 0] - u.ravel(), uv[:, 1] - v.ravel()).max() < tol_px


def test_debris_sizes_are_the_issues_real_sizes() -> None:
    from sim.camera import DEBRIS_SIZE_M

    assert tuple(DEBRIS_SIZE_M) == DEBRIS_CLASSES
    sc = RiverScene(seed=3, n_debris=500)
    for kind, (lo, hi) in DEBRIS_SIZE_M.items():
        sizes = [d.size_m for d in sc.debris if d.kind == kind]
        assert sizes and lo <= min(sizes) and max(sizes) <= hi
    half = sc.width_m / 2
    assert all(abs(d.lateral) + d.size_m / 2 <= half for d in sc.debris)  # all afloat


def test_sun_glint_appears_where_the_sun_mirrors(small_camera) -> None:
    """Sun high in the north: its mirror image on the water is north of nadir, i.e. above the image
    centre for a north-up nadir camera, and that part of the frame is the brightest."""
    base = RiverScene(seed=2, n_debris=0, n_distractors=0)
    ap = base.appearance.model_copy(
        update={"sun_elev_deg": 75.0, "sun_az_deg": 0.0, "glint": 1.2, "wind_speed": 0.3, **FLAT}
    )
    sc = RiverScene(seed=2, n_debris=0, n_distractors=0, appearance=ap)
    n, e = sc.river.point_at(400.0)
    lat, lon = sc.to_lat_lon(float(n), float(e))
    from contract.camera import CameraPose, pixel_to_lat_lon

    pose = CameraPose(lat=lat, lon=lon, alt_m=12.0, yaw_deg=0.0)
    img = render(sc, pose, small_camera).image.astype(np.float32).mean(axis=2)
    assert pixel_to_lat_lon(small_camera.cx, 0, pose, small_camera, CameraMount())[0] > lat
    h = img.shape[0]
    # specular point: 15 deg off nadir towards north -> above the centre row
    v_spec = small_camera.cy - small_camera.fy * np.tan(np.radians(15.0))
    band = img[int(v_spec) - 15 : int(v_spec) + 15].mean()
    bottom = img[h - 40 :].mean()
    assert band > bottom + 15


def test_a_breeze_blows_debris_across_the_river_until_a_bank(small_camera) -> None:
    calm = RiverScene(seed=2)
    windy = RiverScene(seed=2, wind_to_ne_mps=wind_to_ne(5.0, 90.0))  # 5 m/s from the east
    assert all(it.lateral_speed_m_s == 0.0 for it in calm.debris)  # calm air: as before the wind
    assert [replace(it, speed_m_s=0, lateral_speed_m_s=0, bank_m=0) for it in windy.debris] == [
        replace(it, speed_m_s=0, lateral_speed_m_s=0, bank_m=0) for it in calm.debris
    ]  # the same items, only their drift differs
    assert windy.distractors == calm.distractors
    for before, it in zip(calm.debris, windy.debris, strict=True):
        dn, de = windy.river.direction_at(it.s0)
        # the westward wind (north 0, east -5): -5 de of it along the flow, -5 dn across (right normal)
        k = (it.speed_m_s - before.speed_m_s) / (-5.0 * de)  # its leeway, from the share along
        assert 0.005 - 1e-9 <= k <= 0.05 + 1e-9
        assert it.lateral_speed_m_s == pytest.approx(k * -5.0 * dn)
        assert abs(it.lateral_at(1e5)) == pytest.approx(it.bank_m) and it.bank_m < windy.width_m / 2
    # the renderer draws each item where position_ne says, wind and all
    item = max(windy.debris, key=lambda it: abs(it.lateral_speed_m_s))
    t = 200.0
    f = Renderer(windy).render(pose_over(windy, item, t=t), small_camera, t)
    (box,) = [b for b in f.truth if b.item_id == item.item_id]
    lat, lon = windy.to_lat_lon(*item.position_ne(windy.river, t))
    assert (box.lat, box.lon) == pytest.approx((lat, lon), abs=1e-7)
    assert abs(item.lateral_at(t) - item.lateral) > 5.0  # it really was blown across
