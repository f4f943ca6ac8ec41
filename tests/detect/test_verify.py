"""The second-look verifier: full-frame crops, combined scores, vetoes, bad files refused.

Runtime behaviour is tested with hand-built ONNX graphs (real onnxruntime); the shipped pair is
checked on a rendered frame.
"""

from __future__ import annotations

import numpy as np
import pytest

from contract.messages import DEBRIS_CLASSES
from edge.detect import DEFAULT_MODEL, Detector, DetectorConfig, ModelLoadError
from edge.detect.verify import (
    CropGeometry,
    box_targets,
    boxes_from_targets,
    combine,
    crop_windows,
    decide_class,
    proposal_floor,
    verifier_spec,
    windows,
)
from tests.detect.onnx_builders import bright_blob_centernet, not_a_detector_model, red_verifier


def test_crop_is_centred_on_the_box_at_full_resolution():
    frame = np.full((200, 300, 3), 50, np.uint8)
    frame[90:110, 140:160] = (255, 0, 0)  # a blue 20 px square (BGR) centred on (150, 100)
    g = CropGeometry(crop=40, context=2.0, min_side=32, max_side=320)
    x = crop_windows(frame, np.array([[140, 90, 160, 110]], np.float32), g)
    assert x.shape == (1, 4, 40, 40) and x.dtype == np.float32
    # a 40 px window (2 x 20) is resized 1:1: the square fills the middle 20 x 20, in RGB order
    assert x[0, 2, 10:30, 10:30].min() == 1.0 and x[0, 0, 10:30, 10:30].max() == 0.0
    assert np.allclose(x[0, :3, :9, :], 50 / 255)
    assert np.allclose(x[0, 3], g.size_plane_value(40))


def test_window_past_the_frame_edge_is_padded_grey():
    frame = np.zeros((100, 100, 3), np.uint8)
    g = CropGeometry(crop=32, context=2.0, min_side=32, max_side=320)
    x = crop_windows(frame, np.array([[0, 0, 8, 8]], np.float32), g)  # window 32 px centred on (4, 4)
    assert np.allclose(x[0, :3, 0, 0], 114 / 255)  # outside the frame
    assert np.allclose(x[0, :3, -1, -1], 0.0)  # inside it


def test_window_side_is_clamped_and_its_size_readable():
    g = CropGeometry(crop=40, context=2.0, min_side=32, max_side=320)
    assert g.side(5, 3) == 32
    assert g.side(50, 80) == 160
    assert g.side(400, 10) == 320
    assert g.size_plane_value(32) == 0.0 and g.size_plane_value(320) == pytest.approx(1.0)
    assert 0 < g.size_plane_value(100) < 1


def test_windows_are_cut_at_native_scale_whatever_the_frames_resolution():
    g = CropGeometry(crop=48, context=2.5, min_side=32, max_side=320)
    big = np.full((1080, 1920, 3), 60, np.uint8)
    big[500:540, 900:980] = (200, 220, 240)  # an 80 x 40 px item in the 1080p frame
    boxes = np.array([[900, 500, 980, 540], [10, 10, 18, 16]], np.float32)
    small = big[::2, ::2].copy()  # the same view at 960 x 540
    w_big, w_small = windows(boxes, g), windows(boxes / 2, g, scale=2.0)
    assert w_big[:, 2].tolist() == [200, 32]  # 2.5 x 80; the small item clamps to min_side
    assert w_small[:, 2].tolist() == [100, 16]  # the same ground area: half the pixels
    x_big = crop_windows(big, boxes, g)
    x_small = crop_windows(small, boxes / 2, g, scale=2.0)
    assert np.allclose(x_small[:, 3], x_big[:, 3])  # the size plane reads the native size
    assert np.abs(x_small[0, :3] - x_big[0, :3]).mean() < 0.02  # and the crop looks the same
    # without the scale a small item's window clamps to twice the ground area, and the size
    # plane reads every window as half its size
    assert windows(boxes / 2, g)[1, 2] == 32
    assert crop_windows(small, boxes / 2, g)[0, 3, 0, 0] < x_big[0, 3, 0, 0] - 0.2


def test_box_targets_round_trip_and_read_in_window_units():
    g = CropGeometry(crop=40, context=2.0, min_side=32, max_side=320)
    candidates = np.array([[100, 100, 110, 108], [0, 0, 60, 30]], np.float32)
    wins = windows(candidates, g)
    assert wins.tolist() == [[89, 88, 32], [-30, -45, 120]]  # left, top, side
    items = np.array([[102, 99, 114, 109], [5, 2, 50, 33]], np.float32)
    t = box_targets(items, wins)
    assert t[0, 0] == pytest.approx((108 - 105) / 32) and t[0, 2] == pytest.approx(np.log(12 / 32))
    assert np.allclose(boxes_from_targets(t, wins), items, atol=1e-3)


def test_combined_score_lets_either_look_veto():
    s = combine(np.array([0.95, 0.81, 0.2]), np.array([0.01, 1.0, 1.0]))
    assert s[0] < 0.1  # the verifier vetoes a confident detector
    assert s[1] == pytest.approx(0.9)
    assert s[2] < s[1]  # and cannot lift a weak candidate past a confident one


def test_detector_weight_shifts_the_say_between_the_looks():
    s, p = np.array([0.6, 0.95]), np.array([0.999, 0.6])
    assert np.allclose(combine(s, p, 0.5), np.sqrt(s * p))
    assert np.allclose(combine(s, p, 0.0), p) and np.allclose(combine(s, p, 1.0), s)
    low_w = combine(s, p, 0.1)
    assert low_w[0] > low_w[1]  # weighted to the verifier, its confident item wins
    # the floor is exact: a candidate just below it cannot reach t even with p = 1
    for w, t in ((0.5, 0.85), (0.25, 0.9), (0.1, 0.98)):
        floor = proposal_floor(t, w)
        assert combine(np.array([floor]), np.array([1.0]), w)[0] == pytest.approx(t, rel=1e-5)
        assert combine(np.array([floor * 0.99]), np.array([1.0]), w)[0] < t
    assert proposal_floor(0.9, 0.0) == 0.0  # the verifier alone decides: every candidate is looked at


@pytest.fixture()
def blob_pair(tmp_path):
    """A grey-level blob detector and a verifier that only believes red things."""
    det = bright_blob_centernet(tmp_path / "blob.onnx", (64, 128), box_px=20.0)
    ver = red_verifier(tmp_path / "red.onnx", ["blob"])
    frame = np.zeros((128, 256, 3), np.uint8)
    frame[40:80, 40:80] = (0, 0, 255)  # red (BGR): mean grey level 1/3
    frame[40:80, 160:200] = (255, 0, 0)  # blue: the same grey level
    return det, ver, frame


def test_verifier_vetoes_what_the_detector_cannot_tell_apart(blob_pair):
    det, ver, frame = blob_pair
    alone = Detector(DetectorConfig(model_path=det, score_threshold=0.1, nms_iou=0.3))
    assert alone.verifier is None
    xs = sorted(round((d.x1 + d.x2) / 2) for d in alone.detect(frame))
    assert xs == [60, 180]  # both squares
    both = Detector(DetectorConfig(model_path=det, verifier_path=ver, score_threshold=0.1, nms_iou=0.3))
    assert both.verifier is not None
    dets = both.detect(frame)
    assert [round((d.x1 + d.x2) / 2) for d in dets] == [60]  # the red one only
    (red,) = [d for d in alone.detect(frame) if d.x1 < 128]
    assert dets[0].score == pytest.approx(np.sqrt(red.score * 1.0), rel=1e-5)
    off = Detector(DetectorConfig(model_path=det, verifier_path=ver, verifier="off", score_threshold=0.1))
    assert off.verifier is None and len(off.detect(frame)) == 2


def test_verifier_metadata_sets_the_detector_weight(blob_pair, tmp_path):
    det, _, frame = blob_pair
    (red,) = [
        d for d in Detector(DetectorConfig(model_path=det, score_threshold=0.1)).detect(frame) if d.x1 < 128
    ]
    for w in ("0.0", "0.25"):
        ver = red_verifier(tmp_path / f"w{w}.onnx", ["blob"], detector_weight=w)
        both = Detector(DetectorConfig(model_path=det, verifier_path=ver, score_threshold=0.1, nms_iou=0.3))
        assert both.verifier.spec.detector_weight == float(w)
        (d,) = both.detect(frame)
        assert d.score == pytest.approx(red.score ** float(w) * 1.0, rel=1e-5)
    bad = red_verifier(tmp_path / "bad.onnx", ["blob"], detector_weight="1.5")
    with pytest.raises(
        ModelLoadError, match=r"bad\.onnx: metadata detector_weight must be in \[0, 1\], got 1.5"
    ):
        Detector(DetectorConfig(model_path=det, verifier_path=bad))


def test_a_frame_decided_again_with_another_weight_matches_a_verifier_built_with_it(blob_pair, tmp_path):
    """The operating-point search re-decides cached candidates per weight (``Detector.decide``)
    instead of re-running both networks; that must be what a verifier with that weight detects."""
    det, _, frame = blob_pair
    shipped = red_verifier(tmp_path / "w0.5.onnx", ["blob"], detector_weight="0.5")
    probe = Detector(DetectorConfig(model_path=det, verifier_path=shipped, score_threshold=0.1, nms_iou=0.3))
    cands = probe.candidates(frame)
    assert probe.decide(cands) == probe.detect(frame)
    for w in ("0.0", "0.25", "1.0"):
        ver = red_verifier(tmp_path / f"w{w}.onnx", ["blob"], detector_weight=w)
        built = Detector(DetectorConfig(model_path=det, verifier_path=ver, score_threshold=0.1, nms_iou=0.3))
        assert probe.decide(cands, float(w)) == built.detect(frame)
    # the weight only counts where a verifier looked: the detector alone decides as before
    alone = Detector(DetectorConfig(model_path=det, score_threshold=0.1, nms_iou=0.3))
    assert alone.decide(alone.candidates(frame), 0.0) == alone.detect(frame)


def test_a_box_redrawn_past_the_frame_edge_is_dropped_and_counted(blob_pair, tmp_path):
    """The verifier may put an item at the frame's edge just past it; clipped, such a box has no
    area (the tracker refused it as empty), so the detector drops it and counts it."""
    from dataclasses import replace

    from prometheus_client import REGISTRY

    det, _, frame = blob_pair
    ver = red_verifier(tmp_path / "w0.onnx", ["blob"], detector_weight="0.0")
    probe = Detector(DetectorConfig(model_path=det, verifier_path=ver, score_threshold=0.1, nms_iou=0.3))
    cands = probe.candidates(frame)
    p_debris, p_class, boxes = cands.second
    (kept,) = probe.decide(cands)
    past = boxes.copy()
    past[:, 1], past[:, 3] = 128.4, 140.0  # below the 128 px frame
    dropped = "riverpatrol_detect_off_frame_boxes_total"
    before = REGISTRY.get_sample_value(dropped)
    assert probe.decide(replace(cands, second=(p_debris, p_class, past))) == []
    assert REGISTRY.get_sample_value(dropped) == before + 1  # the red one; the blue one was vetoed
    edge = boxes.copy()
    edge[:, 3] = 140.0  # over the edge, partly inside: clipped to it, kept
    (clipped,) = probe.decide(replace(cands, second=(p_debris, p_class, edge)))
    assert (clipped.y1, clipped.y2) == (kept.y1, 128.0) and clipped.score == kept.score


def test_a_second_look_with_another_verifier_decides_as_that_verifier_would(blob_pair, tmp_path):
    """``PatrolSet.look_again_with`` (how ``models.compare_verifiers`` puts verifiers side by side)
    keeps the detector's candidates and decides as a detector built with the other verifier."""
    import cv2

    from models.patrol_eval import PatrolSet

    det, red, frame = blob_pair
    blue = red_verifier(tmp_path / "blue.onnx", ["blob"], channel=2)

    def probe(verifier) -> Detector:
        return Detector(
            DetectorConfig(model_path=det, verifier_path=verifier, score_threshold=0.1, nms_iou=0.3)
        )

    jpeg = cv2.imencode(".png", frame)[1].tobytes()  # lossless: JPEG bleeds red into blue
    patrols = object.__new__(PatrolSet)  # one littered patrol of one frame, no rendering
    patrols._rendered, patrols._n_clean = [[(jpeg, None, 0.0, [], [])]], 0
    patrols.detect_with(probe(red))

    def centres() -> list[int]:
        return [round((d.x1 + d.x2) / 2) for d in patrols.littered[0][1][0]]

    assert centres() == [60]  # the red square
    found = patrols._candidates[0][0].found
    patrols.look_again_with(probe(blue))
    assert centres() == [180]  # the blue one
    assert patrols._candidates[0][0].found is found  # the detector did not run again
    decoded = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert patrols.littered[0][1][0] == probe(blue).detect(decoded)
    with pytest.raises(ValueError, match="no verifier"):
        patrols.look_again_with(Detector(DetectorConfig(model_path=det)))


def test_two_verifiers_fused_keep_what_both_are_sure_of(blob_pair, tmp_path):
    """``compare_verifiers --fuse a``: p1^a x p2^(1-a) on the same candidates. a = 1 decides as the
    first verifier, a = 0 as the second, and between them an item only one is sure of fades."""
    import cv2

    from models.build import ValidationPatrols
    from models.patrol_eval import PatrolSet

    det, red, frame = blob_pair
    blue = red_verifier(tmp_path / "blue.onnx", ["blob"], channel=2)

    def probe(verifier) -> Detector:
        return Detector(
            DetectorConfig(model_path=det, verifier_path=verifier, score_threshold=0.1, nms_iou=0.3)
        )

    jpeg = cv2.imencode(".png", frame)[1].tobytes()
    patrols = object.__new__(PatrolSet)  # one littered patrol of one frame, no rendering
    patrols._rendered, patrols._n_clean = [[(jpeg, None, 0.0, [], [])]], 0
    patrols.detect_with(probe(red))
    both = object.__new__(ValidationPatrols)  # one look of that patrol
    both.looks, both.record = {"train": patrols}, {}
    red_look = both.candidates()
    patrols.look_again_with(probe(blue))
    blue_look = both.candidates()

    def fused(a: float) -> list[int]:
        both.fuse(probe(red), red_look, blue_look, a)
        return [round((d.x1 + d.x2) / 2) for d in patrols.littered[0][1][0]]

    assert fused(1.0) == [60]  # the red square, as the red verifier alone
    assert fused(0.0) == [180]  # the blue one, as the blue verifier alone
    assert fused(0.5) == []  # each verifier doubts the other's square
    assert red_look["train"][0][0].found is blue_look["train"][0][0].found  # one detector pass


def test_threshold_comes_from_the_verifier_unless_set(blob_pair):
    det, ver, _ = blob_pair
    assert Detector(DetectorConfig(model_path=det)).score_threshold == 0.5  # the detector's own
    assert Detector(DetectorConfig(model_path=det, verifier_path=ver)).score_threshold == 0.3
    cfg = DetectorConfig(model_path=det, verifier_path=ver, score_threshold=0.2)
    assert Detector(cfg).score_threshold == 0.2


def test_bad_verifier_files_are_refused_with_a_reason(blob_pair, tmp_path):
    det, _, _ = blob_pair
    with pytest.raises(ModelLoadError, match=r"nope\.onnx: file does not exist"):
        Detector(DetectorConfig(model_path=det, verifier_path=tmp_path / "nope.onnx"))
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00not onnx" * 20)
    with pytest.raises(ModelLoadError, match=r"junk\.onnx: not a loadable ONNX model"):
        Detector(DetectorConfig(model_path=det, verifier_path=junk))
    relu = not_a_detector_model(tmp_path / "relu.onnx")
    with pytest.raises(ModelLoadError, match=r"relu\.onnx: not a RiverPatrol verifier"):
        Detector(DetectorConfig(model_path=det, verifier_path=relu))
    other = red_verifier(tmp_path / "other.onnx", ["bottle", "bag"])
    with pytest.raises(ModelLoadError, match=r"\['bottle', 'bag'\] differ from the model's \['blob'\]"):
        Detector(DetectorConfig(model_path=det, verifier_path=other))


SHIPPED_VERIFIER = DEFAULT_MODEL.with_name("riverpatrol_verifier.onnx")


@pytest.mark.skipif(not SHIPPED_VERIFIER.is_file(), reason="shipped verifier not built")
def test_shipped_model_names_its_verifier_and_uses_it():
    d = Detector(DetectorConfig())
    assert d.spec.verifier == SHIPPED_VERIFIER.name
    assert d.verifier is not None and d.verifier.spec.names == DEBRIS_CLASSES
    assert SHIPPED_VERIFIER.stat().st_size < 1e6
    assert 0.05 < d.score_threshold < 1.0
    assert Detector(DetectorConfig(verifier="off")).verifier is None


def _spec_metadata(**extra: str) -> dict[str, str]:
    return {
        "riverpatrol_format": "verifier-v1",
        "names": '["bottle", "bag", "foam"]',
        "crop": "48",
        "context": "2.5",
        "min_side": "32",
        "max_side": "320",
        "proposal_threshold": "0.2",
        "score_threshold": "0.99",
        **extra,
    }


def test_class_weights_rename_what_is_nearly_a_tie_and_nothing_else():
    p = np.array([[0.1, 0.5, 0.4], [0.05, 0.9, 0.05], [0.7, 0.2, 0.1]], np.float32)
    assert decide_class(p).tolist() == [1, 1, 0]
    assert decide_class(p, (1.0, 1.0, 1.0)).tolist() == [1, 1, 0]
    # bag needs a larger share to win: the near tie goes to foam, the clear bag stays a bag
    assert decide_class(p, (1.0, 0.6, 1.0)).tolist() == [2, 1, 0]


def test_verifier_metadata_carries_class_weights_or_says_what_is_wrong():
    io = ([("crops", ["n", 4, 48, 48])], [("probs", ["n", 8])])
    assert verifier_spec("v.onnx", *io, _spec_metadata()).class_weights is None
    spec = verifier_spec("v.onnx", *io, _spec_metadata(class_weights="[1, 0.6, 1]"))
    assert spec.class_weights == (1.0, 0.6, 1.0)
    wrong_count = r"v\.onnx: metadata class_weights must be 3 positive numbers"
    for raw in ("[1, 0.6]", "[1, 0, 1]", "[1, -1, 1]", '[1, "nan", 1]'):
        with pytest.raises(ModelLoadError, match=wrong_count):
            verifier_spec("v.onnx", *io, _spec_metadata(class_weights=raw))
    not_a_list = r"v\.onnx: metadata class_weights is not a JSON list of numbers"
    for raw in ("bag", "{", "[1, [2], 1]"):
        with pytest.raises(ModelLoadError, match=not_a_list):
            verifier_spec("v.onnx", *io, _spec_metadata(class_weights=raw))
