"""Pure parts of the training pipeline: heatmap targets, YOLO label round trip, metrics."""

from __future__ import annotations

import json

import numpy as np
import pytest

from models.evaluate import (
    FramePred,
    FrameTruth,
    Matched,
    average_precision,
    class_confusion,
    map50,
    match_frame,
    pr_at,
)
from models.targets import make_targets
from models.yolo_io import parse_yolo, yolo_lines


def test_targets_peak_at_centre_with_size_and_offset():
    boxes = np.array([[10.0, 20.0, 30.0, 28.0]], np.float32)  # centre (20, 24) px -> cell (5, 6) at stride 4
    t = make_targets(boxes, np.array([2]), (64, 64), 5, 4)
    assert t.heat.shape == (5, 16, 16)
    assert t.heat[2, 6, 5] == pytest.approx(1.0)
    assert t.heat[[0, 1, 3, 4]].max() == 0
    assert t.mask.sum() == 1 and t.mask[6, 5] == 1
    assert t.box[:, 6, 5] == pytest.approx([np.log(5.0), np.log(2.0), 0.0, 0.0])


def test_yolo_round_trip_and_bad_line():
    boxes = np.array([[10, 20, 30, 28], [0, 0, 1920, 1080]], np.float32)
    text = yolo_lines(boxes, np.array([1, 4]), 1920, 1080)
    back, classes = parse_yolo(text, 1920, 1080, "x.txt")
    assert back == pytest.approx(boxes, abs=0.01)
    assert list(classes) == [1, 4]
    with pytest.raises(ValueError, match=r"x\.txt:2: expected 'class cx cy w h'"):
        parse_yolo("0 0.5 0.5 0.1 0.1\n0 0.5 0.5\n", 100, 100, "x.txt")


def _truth(boxes, classes, sizes, ignore=None):
    return FrameTruth(
        np.asarray(boxes, np.float32),
        np.asarray(classes),
        np.asarray(sizes, np.float32),
        None if ignore is None else np.asarray(ignore),
    )


def _pred(boxes, classes, scores):
    return FramePred(
        np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(classes), np.asarray(scores, np.float32)
    )


def test_matching_precision_recall_and_ignore():
    m = Matched()
    truth = _truth(
        [[0, 0, 10, 10], [50, 50, 60, 60], [100, 100, 104, 104], [200, 0, 210, 10]],
        [0, 1, 0, 0],
        [0.5, 0.4, 0.2, 0.5],
        ignore=[False, False, False, True],
    )
    pred = _pred(
        [[0, 0, 10, 10], [50, 50, 60, 60], [300, 300, 310, 310], [201, 0, 210, 10], [100, 100, 104, 104]],
        [0, 0, 0, 0, 0],  # second one has the wrong class
        [0.9, 0.8, 0.7, 0.6, 0.5],
    )
    match_frame(truth, pred, m)
    # items >= 0.3 m: #0 (hit), #1 (missed: wrong class); #3 ignored; #2 too small (pred on it ignored)
    p, r, tp, fp, fn = pr_at(m, 0.5, 0.3)
    assert (tp, fp, fn) == (1, 2, 1)
    assert p == pytest.approx(1 / 3) and r == pytest.approx(0.5)
    assert pr_at(m, 0.95, 0.3)[1] == 0.0
    m_any = Matched()
    match_frame(truth, pred, m_any, class_aware=False)
    assert pr_at(m_any, 0.5, 0.3)[1] == 1.0
    # where class-aware precision went: item #1 (class 1) was called class 0; #0 rightly so; the
    # box on nothing, the ignored item's and the small item's are not in the table
    assert class_confusion(m_any, 0.5, 2, 0.3).tolist() == [[1, 0], [1, 0]]
    assert class_confusion(m_any, 0.85, 2, 0.3).tolist() == [[1, 0], [0, 0]]
    assert class_confusion(m_any, 0.5, 2).tolist() == [[2, 0], [1, 0]]  # the 0.2 m item's too


def test_a_model_that_boxes_nothing_scores_zero_recall_not_a_crash():
    m = Matched()  # items, and not one prediction: a fresh or a foreign model on this water
    match_frame(_truth([[0, 0, 10, 10], [50, 50, 60, 60]], [0, 1], [0.5, 0.4]), _pred([], [], []), m)
    for cls in (None, 1):
        p, r, tp, fp, fn = pr_at(m, 0.5, 0.3, cls=cls)
        assert np.isnan(p) and r == 0.0 and (tp, fp) == (0, 0) and fn == (2 if cls is None else 1)
    assert np.isnan(map50(m, 2)[0])


def test_average_precision_perfect_and_half():
    assert average_precision(np.array([0.9, 0.8]), np.array([True, True]), 2) == pytest.approx(1.0)
    assert average_precision(np.array([0.9, 0.8]), np.array([False, True]), 2) == pytest.approx(0.25)
    m = Matched()
    match_frame(_truth([[0, 0, 10, 10]], [1], [1.0]), _pred([[0, 0, 10, 10]], [1], [0.9]), m)
    mean, aps = map50(m, 3)
    assert mean == pytest.approx(1.0) and np.isnan(aps[0]) and aps[1] == pytest.approx(1.0)


def test_verifier_labels_candidates_on_items_near_items_and_elsewhere():
    from models.verifier import NOT_DEBRIS, label_candidates

    truth = np.array([[100, 100, 120, 110], [300, 300, 400, 380]], np.float32)  # 20 px and 100 px items
    classes = np.array([0, 4])
    cand = np.array(
        [
            [102, 98, 122, 112],  # on the bottle
            [330, 320, 350, 340],  # inside the big mat, 30 px off its centre: on it
            [135, 100, 145, 110],  # 30 px from the bottle's centre: too near to call
            [600, 600, 610, 610],  # open water
        ],
        np.float32,
    )
    assert label_candidates(cand, truth, classes).tolist() == [0, 4, -2, NOT_DEBRIS]
    assert label_candidates(cand, truth[:0], classes[:0]).tolist() == [NOT_DEBRIS] * 4


def test_verifier_trains_exports_and_runs_in_the_runtime(tmp_path):
    """A few steps on a toy task (a bright square vs plain water) through export and onnxruntime."""
    from edge.detect.verify import CropGeometry, Verifier
    from models.verifier import Crops, VerifierTrainConfig, export_verifier, train_verifier

    rng = np.random.default_rng(0)
    g = CropGeometry(crop=24, min_side=16)
    x = rng.uniform(0.2, 0.3, (64, 4, 24, 24)).astype(np.float16)
    x[:32, :3, 8:16, 8:16] = 0.95
    label = np.r_[np.full(32, 1), np.full(32, -1)]
    box = np.zeros((64, 4), np.float32)
    box[:32, 2:] = np.log(0.5)  # the item is half the window's side, centred
    net, info = train_verifier(Crops(x, label, box), 2, VerifierTrainConfig(steps=150, batch=32, lr=5e-3))
    assert info["steps_done"] == 150
    path = export_verifier(net, tmp_path / "v.onnx", ("a", "b"), g, 0.2, 0.4, "test")
    v = Verifier(path, threads=1)
    assert v.spec.names == ("a", "b") and v.spec.score_threshold == 0.4 and v.spec.geometry == g
    frame = np.full((64, 64, 3), 64, np.uint8)
    frame[28:36, 28:36] = 245
    p, cls, boxes = v(frame, np.array([[26, 27, 34, 35], [2, 2, 10, 10]], np.float32))
    assert p[0] > 0.5 > p[1]
    assert cls.shape == (2, 2) and np.allclose(cls.sum(axis=1), 1, atol=1e-5)
    assert v.spec.refines_boxes
    # taught "half the window's side, centred": the 16 px window around (30, 31) gives ~[26, 27, 34, 35]
    assert np.abs(boxes[0] - [26, 27, 34, 35]).max() < 5


def test_look_jitter_ripples_lights_and_glares_crops_reproducibly():
    import torch

    from models.verifier import look_jitter

    x = torch.full((256, 3, 48, 48), 0.4)
    x[:, :, 20:28, 22:26] = 0.9  # an item
    out = look_jitter(x, torch.Generator().manual_seed(3))
    again = look_jitter(x, torch.Generator().manual_seed(3))
    assert torch.equal(out, again) and out.shape == x.shape
    assert out.min() >= 0 and out.max() <= 1
    water = out[:, :, :16, :].std(dim=(1, 2, 3))  # plain water was flat
    changed = water > 1e-3
    assert 0.5 < changed.float().mean() < 1  # most crops, not all: each effect is drawn on its own
    # the item stays brighter than its water in every crop: light and waves, not a new scene
    assert (out[:, :, 20:28, 22:26].mean(dim=(1, 2, 3)) > out[:, :, :16, :].mean(dim=(1, 2, 3))).all()


def test_an_ensemble_verifier_is_one_file_whose_output_is_its_members_mean(tmp_path):
    """``export_verifier`` of several nets: one ONNX file, the runtime's usual input and output, and
    exactly the mean of what each member exported alone says (p(debris), classes and boxes)."""
    import onnx
    import torch

    from edge.detect.verify import CropGeometry, Verifier
    from models.verifier import build_net, export_verifier

    g = CropGeometry(crop=24, min_side=16)
    nets = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        nets.append(build_net(2, (8, 16)).eval())
    alone = [
        export_verifier(n, tmp_path / f"m{k}.onnx", ("a", "b"), g, 0.2, 0.4, "t") for k, n in enumerate(nets)
    ]
    both = export_verifier(
        nets, tmp_path / "both.onnx", ("a", "b"), g, 0.2, 0.4, "t", {"train_seed": 7}, detector_weight=0.1
    )
    model = onnx.load(str(both))
    assert [i.name for i in model.graph.input] == ["crops"] and [o.name for o in model.graph.output] == [
        "probs"
    ]
    meta = {p.key: p.value for p in model.metadata_props}
    assert (
        meta["architecture"].startswith("ensemble of 2 x VerifierNet") and meta["detector_weight"] == "0.1000"
    )
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 255, (80, 96, 3), np.uint8)
    boxes = np.array([[10, 12, 20, 22], [40, 30, 70, 50], [85, 70, 96, 80]], np.float32)
    outs = [Verifier(p, threads=1)(frame, boxes) for p in alone]
    p, cls, redrawn = Verifier(both, threads=1)(frame, boxes)
    assert not np.allclose(outs[0][0], outs[1][0])  # the members differ, so the mean is a real test
    assert np.allclose(p, (outs[0][0] + outs[1][0]) / 2, atol=1e-5)
    assert np.allclose(cls, (outs[0][1] + outs[1][1]) / 2, atol=1e-5)
    # boxes come from the averaged regression, which is not the mean of the two redrawn boxes: only close
    assert redrawn.shape == (3, 4) and np.isfinite(redrawn).all()


def test_members_that_do_not_fit_together_are_refused(tmp_path):
    from models.export import average_models
    from models.verifier import average_verifiers
    from tests.detect.onnx_builders import red_verifier

    a = red_verifier(tmp_path / "a.onnx", ["a"])
    b = red_verifier(tmp_path / "b.onnx", ["a", "b"])  # another output width
    with pytest.raises(ValueError, match=r"differs from .*a\.onnx"):
        average_models([a, b], tmp_path / "ab.onnx")
    with pytest.raises(ValueError, match="no models"):
        average_models([], tmp_path / "none.onnx")
    c = red_verifier(tmp_path / "c.onnx", ["a"], crop=24)  # cuts its crops otherwise
    with pytest.raises(ValueError, match=r"c\.onnx has crop='24', .*a\.onnx has '16'"):
        average_verifiers([a, c], tmp_path / "ac.onnx")


def test_set_metadata_adds_a_key_and_keeps_the_rest(tmp_path):
    """How ``models.build`` names the verifier in the detector's file without re-exporting it."""
    import onnx

    from models.export import set_metadata
    from tests.detect.onnx_builders import red_verifier

    path = red_verifier(tmp_path / "m.onnx", ["a"])
    before = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    set_metadata(path, verifier="v.onnx", crop="16")
    after = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert after == {**before, "verifier": "v.onnx"}


def test_rendered_split_is_reused_unless_its_spec_changed(tmp_path):
    from dataclasses import asdict, replace

    from models.dataset import SplitSpec, _same_spec

    spec = SplitSpec("train_birds", 13, 4, debris=False, distractor_weights={"bird": 1.0})
    stored = json.loads(json.dumps(asdict(spec)))
    assert _same_spec(stored, spec)
    assert not _same_spec(stored, replace(spec, distractor_weights={"bird": 0.5, "glint": 0.5}))
    assert not _same_spec(stored, replace(spec, frames=5))
    # a split rendered before an option existed is reused while the option is left at None
    plain = SplitSpec("val", 8, 4)
    older = {k: v for k, v in json.loads(json.dumps(asdict(plain))).items() if k != "distractor_weights"}
    assert _same_spec(older, plain)
    assert not _same_spec(older, replace(plain, distractor_weights={"bird": 1.0}))


def test_operating_threshold_is_the_best_alert_f1_within_the_false_alert_budget():
    from models.evaluate import best_threshold

    # threshold -> (false alerts in 2,400 debris-free frames, alert precision, alert recall)
    table = {0.5: (9, 0.95, 0.97), 0.7: (2, 0.97, 0.9), 0.8: (1, 1.0, 0.8), 0.9: (0, 1.0, 0.5)}
    point = best_threshold(lambda t: table[t], 2400, grid=tuple(table))
    assert point.threshold == 0.7 and point.false_alerts == 2  # 2 allowed in 2,400 frames
    assert point.f1 == pytest.approx(2 * 0.97 * 0.9 / (0.97 + 0.9))
    # the budget is rounded down, never above 1 per 1,000: 1,999 frames tolerate 1, not 2
    assert best_threshold(lambda t: table[t], 1999, grid=tuple(table)).threshold == 0.8
    assert best_threshold(lambda t: table[t], 1200, grid=tuple(table)).threshold == 0.8
    assert best_threshold(lambda t: table[t], 600, grid=tuple(table)).threshold == 0.8  # one at least
    # equal F1: fewer false alerts wins
    tie = {0.9: (1, 1.0, 0.8), 0.95: (0, 1.0, 0.8)}
    assert best_threshold(lambda t: tie[t], 1200, grid=tuple(tie)).threshold == 0.95
    # nothing qualifies: the top of the grid, and an F1 below any real one
    none = best_threshold(lambda t: (50, 0.5, 1.0), 1000, grid=(0.5, 0.9))
    assert none.threshold == 0.9 and none.f1 == -1.0 and not none.better_than(point)


def test_re_rendering_a_split_smaller_leaves_no_old_frames(tmp_path):
    from dataclasses import replace

    from models.dataset import SplitSpec, generate_split
    from models.yolo_io import read_split

    spec = SplitSpec("val", 3, 3, frames_per_scene=3, n_debris=20, n_distractors=5, width=192, height=108)
    generate_split(tmp_path, spec, workers=1)
    assert len(read_split(tmp_path, "val")) == 3
    generate_split(tmp_path, replace(spec, frames=1), workers=1)
    assert len(read_split(tmp_path, "val")) == 1  # readers take every file in the folder


def test_an_unknown_validation_look_is_named_before_anything_is_rendered():
    from models.build import EXTRA_LOOKS, VAL_LOOKS, ValidationPatrols

    assert set(EXTRA_LOOKS).isdisjoint(VAL_LOOKS)
    seeds = [s for clean, littered in (*VAL_LOOKS.values(), *EXTRA_LOOKS.values()) for s in clean + littered]
    assert len(seeds) == len(set(seeds))  # every patrol of every look its own river
    with pytest.raises(ValueError, match=r"\['glacier'\] unknown; known: train, shift, far, extreme"):
        ValidationPatrols(None, looks=("train", "glacier"))


def test_keeping_a_verifier_s_weights_needs_one_and_no_training(tmp_path):
    """``python -m models.verifier --keep-weights`` only re-chooses an existing verifier's operating
    point: asked to also train, or with no verifier file there, it says so before rendering anything."""
    import typer
    from rich.console import Console

    from models.build import finish_with_verifier

    data, det, out = tmp_path / "data", tmp_path / "m.onnx", tmp_path / "v.onnx"
    with pytest.raises(typer.BadParameter, match=r"no verifier at .*v\.onnx to keep"):
        finish_with_verifier(Console(), data, det, out, 7, 1, 1, keep_weights=True)
    with pytest.raises(typer.BadParameter, match="no training"):
        finish_with_verifier(Console(), data, det, out, 7, 1, 1, train_only=True, keep_weights=True)
    assert not data.exists()


def test_compare_verifiers_takes_saved_weights_as_an_onnx_verifier(tmp_path):
    """``python -m models.compare_verifiers A.onnx B.pt``: a ``--save-weights`` file (every member)
    becomes a verifier whose output is the nets' own."""
    import onnxruntime as ort
    import torch

    from contract.messages import DEBRIS_CLASSES
    from models.build import torch_save
    from models.compare_verifiers import exported
    from models.verifier import build_net

    torch.manual_seed(0)
    nets = [build_net(len(DEBRIS_CLASSES), (8, 8, 8)).eval() for _ in range(2)]
    saved = {"members": [{"widths": n.widths, "state_dict": n.state_dict()} for n in nets], "summary": {}}
    torch_save(saved, tmp_path / "v.pt")
    path = exported(tmp_path / "v.pt", tmp_path)
    x = np.random.default_rng(1).random((3, 4, 48, 48)).astype(np.float32)
    out = ort.InferenceSession(str(path)).run(None, {"crops": x})[0]
    with torch.no_grad():
        p = np.mean([torch.sigmoid(n(torch.from_numpy(x))[:, 0]).numpy() for n in nets], axis=0)
    assert out.shape == (3, 1 + len(DEBRIS_CLASSES) + 4)
    assert np.allclose(out[:, 0], p, atol=1e-5)  # p(debris): the members' mean


def test_a_water_relative_verifier_ignores_the_water_s_colour_and_light_and_survives_export(tmp_path):
    """``--water-norm``: the crop is read relative to its border ring (``WaterNorm``, the net's first
    layer, in the graph), so the same item on water of another tint and brightness (a gain and a
    per-channel offset) reaches the convolutions unchanged, and the saved weights and the exported
    ONNX give the same answer."""
    import onnxruntime as ort
    import torch

    from contract.messages import DEBRIS_CLASSES
    from models.build import load_verifier_weights, save_verifier_weights
    from models.compare_verifiers import exported
    from models.verifier import build_net

    torch.manual_seed(0)
    x = np.full((2, 4, 48, 48), 0.35, np.float32)
    x[:, :3] += np.random.default_rng(2).normal(0, 0.05, (2, 3, 48, 48)).astype(np.float32)  # ripples
    x[:, :3, 20:28, 22:26] = 0.8  # an item
    x[:, 3] = 0.3  # the size plane
    other = x.copy()
    other[:, :3] = other[:, :3] * 0.7 + np.array([0.05, 0.12, -0.02], np.float32)[None, :, None, None]
    net = build_net(len(DEBRIS_CLASSES), water_norm=True).eval()
    with torch.no_grad():
        seen, seen_other = (net.features[0](torch.from_numpy(v)) for v in (x, other))
        a = net(torch.from_numpy(x))
    assert (torch.from_numpy(x) - torch.from_numpy(other)).abs().max() > 0.05
    assert torch.allclose(seen, seen_other, rtol=0.05, atol=0.01)  # the same but for the spread floor
    assert torch.equal(seen[:, 3], torch.from_numpy(x[:, 3]))  # the size plane passes as it is
    assert seen[:, :3, 20:28, 22:26].mean() > 0.5  # the item, in units of the water's spread (/8)
    save_verifier_weights([net], {}, tmp_path / "v.pt")
    (loaded,), _ = load_verifier_weights(tmp_path / "v.pt")
    assert loaded.water_norm
    out = ort.InferenceSession(str(exported(tmp_path / "v.pt", tmp_path))).run(None, {"crops": x})[0]
    assert np.allclose(out[:, 0], torch.sigmoid(a[:, 0]).numpy(), atol=1e-5)


def test_a_mixing_verifier_adds_a_pointwise_conv_a_stage_and_survives_save_load_and_export(tmp_path):
    """``--mix``: a 1x1 conv after each stage's depthwise one. The flag travels with the saved
    weights (a plain net's file still loads as plain), and the exported ONNX gives the net's answer."""
    import onnxruntime as ort
    import torch
    from torch import nn

    from contract.messages import DEBRIS_CLASSES
    from models.build import load_verifier_weights, save_verifier_weights
    from models.compare_verifiers import exported
    from models.verifier import build_net

    def pointwise(net) -> int:
        return sum(isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) for m in net.modules())

    torch.manual_seed(0)
    plain, mixed = build_net(len(DEBRIS_CLASSES)), build_net(len(DEBRIS_CLASSES), mix=True).eval()
    assert (pointwise(plain), pointwise(mixed)) == (0, len(mixed.widths))
    save_verifier_weights([plain], {}, tmp_path / "plain.pt")
    save_verifier_weights([mixed], {}, tmp_path / "mixed.pt")
    (p,), _ = load_verifier_weights(tmp_path / "plain.pt")
    (m,), _ = load_verifier_weights(tmp_path / "mixed.pt")
    assert (p.mix, m.mix) == (False, True)
    x = np.random.default_rng(3).uniform(0, 1, (3, 4, 48, 48)).astype(np.float32)
    with torch.no_grad():
        want = torch.sigmoid(mixed(torch.from_numpy(x))[:, 0]).numpy()
    session = ort.InferenceSession(str(exported(tmp_path / "mixed.pt", tmp_path)))
    assert "pointwise mixing" in session.get_modelmeta().custom_metadata_map["architecture"]
    assert np.allclose(session.run(None, {"crops": x})[0][:, 0], want, atol=1e-5)


def test_a_verifier_trained_on_other_windows_keeps_their_geometry_through_save_load_and_export(tmp_path):
    """``--context`` / ``--crop`` / ``--min-side``: the window geometry is recorded in the build
    summary saved with the weights, the net's crop side travels with it (WaterNorm's ring is cut for
    it), and the exported ONNX tells the runtime to cut such windows."""
    from dataclasses import asdict

    import torch

    from contract.messages import DEBRIS_CLASSES
    from edge.detect.verify import CropGeometry, Verifier, crop_windows
    from models.build import load_verifier_weights, save_verifier_weights, trained_geometry
    from models.compare_verifiers import exported
    from models.verifier import build_net

    wide = CropGeometry(crop=64, context=4.0, min_side=48)
    torch.manual_seed(0)
    net = build_net(len(DEBRIS_CLASSES), water_norm=True, crop=wide.crop).eval()
    save_verifier_weights([net], {"geometry": asdict(wide)}, tmp_path / "wide.pt")
    (loaded,), summary = load_verifier_weights(tmp_path / "wide.pt")
    assert loaded.crop == 64 and trained_geometry(summary) == wide
    assert trained_geometry({}) == CropGeometry()  # files from before the option: the shipped windows
    v = Verifier(exported(tmp_path / "wide.pt", tmp_path), threads=1)
    assert v.spec.geometry == wide
    frame = np.random.default_rng(1).integers(0, 255, (200, 300, 3), np.uint8)
    boxes = np.array([[100, 100, 112, 106], [10, 10, 30, 40]], np.float32)  # a small one gets min_side
    x = torch.from_numpy(crop_windows(frame, boxes, wide))
    assert x.shape == (2, 4, 64, 64)
    with torch.no_grad():
        want = torch.sigmoid(loaded(x)[:, 0]).numpy()
    assert np.allclose(v(frame, boxes)[0], want, atol=1e-5)


def test_the_card_s_trade_off_table_always_holds_the_operating_threshold():
    """``models.score.summarize``: the precision / recall table at fixed thresholds plus the one the
    model ships at, whatever it is, so the card's "as shipped" column is never missing."""
    from models.evaluate import FramePred, FrameTruth
    from models.score import OPERATING_POINTS, SplitScores, summarize

    scores = SplitScores()
    boxes = np.array([[0, 0, 20, 20], [50, 50, 70, 70], [100, 100, 120, 120]], np.float32)
    truth = FrameTruth(boxes, np.array([0, 1, 2]), np.array([0.5, 0.5, 0.5], np.float32), np.zeros(3, bool))
    pred = FramePred(boxes + 1, np.array([0, 1, 0]), np.array([0.999, 0.9915, 0.5], np.float32))
    match_frame(truth, pred, scores.matched)
    match_frame(truth, pred, scores.matched_any_class, class_aware=False)
    scores.frames = 1
    out = summarize(scores, np.array([0.9915], np.float32), 1, 0.9913, ("a", "b", "c"))
    points = {p["threshold"]: p for p in out["operating_points"]}
    assert set(OPERATING_POINTS) < set(points) and 0.9913 in points
    assert points[0.9913]["recall"] == round(2 / 3, 4) and points[0.9913]["precision"] == 1.0
    assert points[0.992]["recall"] == round(1 / 3, 4)  # one step above: the second item drops out
    assert points[0.5]["precision_any_class"] == 1.0 and points[0.5]["precision"] == round(2 / 3, 4)
    assert points[0.9913]["false_detections_per_1000_frames"] == 1000.0


def test_the_many_worlds_split_is_a_training_look_split_of_its_own_seed_and_short_scenes():
    """``--scene-frames``: a verifier split that must not reuse another split's worlds or look."""
    from models.class_weights import CLASS_LOOKS
    from models.dataset import default_splits, scene_variety_split

    spec = scene_variety_split(7, 1200)
    others = [*default_splits(7), *CLASS_LOOKS.values()]
    assert spec.name.startswith("train")  # rendered by --train-only, like the verifier's others
    assert spec.name not in {s.name for s in others} and spec.seed not in {s.seed for s in others}
    assert spec.domain == "train" and spec.debris  # validation and held-out looks stay unseen
    assert spec.frames == 1200 and spec.frames_per_scene == 4  # 300 worlds, not 1,200 / 20 = 60


def test_recall_loss_slices_items_and_bins_their_best_scores():
    from models.recall_loss import found, score_edges, score_shares, slices

    m = Matched()
    truth = _truth(
        [[0, 0, 10, 10], [50, 50, 60, 60], [100, 100, 120, 120], [200, 0, 204, 4]],
        [0, 1, 0, 1],
        [0.32, 0.7, 1.5, 0.1],
    )
    match_frame(
        truth, _pred([[0, 0, 10, 10], [100, 100, 120, 120]], [0, 0], [0.995, 0.95]), m, class_aware=False
    )
    masks = dict(slices(m, ("bottle", "bag")))
    assert list(masks) == ["all >= 0.3 m", "bottle", "bag", "0.3-0.5 m", "0.5-1 m", ">= 1 m"]
    assert masks["all >= 0.3 m"].tolist() == [True, True, True, False]  # the 0.1 m item is under the target
    assert found(m, 0.992, masks["all >= 0.3 m"]) == pytest.approx(1 / 3)
    assert found(m, 0.9, masks["bottle"]) == 1.0 and found(m, 0.9, masks["bag"]) == 0.0
    assert score_edges(0.992) == (0.0, 0.05, 0.5, 0.9, 0.97, 0.99, 0.992, pytest.approx(1.0))
    assert score_edges(0.95)[-3:-1] == (0.9, 0.95)  # cuts above the threshold are dropped
    shares = score_shares(m, masks["all >= 0.3 m"], score_edges(0.992))
    assert shares == pytest.approx([1 / 3, 0, 0, 1 / 3, 0, 0, 1 / 3])  # no box, 0.95, 0.995


def test_class_balanced_positive_weights_give_each_class_the_same_share():
    from models.verifier import positive_weights

    labels = np.array([0, 1, 1, 1, 2, 2, 0, 1])
    w = positive_weights(labels)
    shares = [w[labels == c].sum() / w.sum() for c in (0, 1, 2)]
    assert shares == pytest.approx([1 / 3] * 3)
    assert w[1] == w[2] and w[0] > w[1]  # a bag crop is drawn less often than a rarer bottle crop
    # training draws by them, and a class of 4 crops among 64 positives still learns its name
    from models.verifier import Crops, VerifierTrainConfig, train_verifier

    rng = np.random.default_rng(1)
    x = rng.uniform(0.2, 0.3, (96, 4, 24, 24)).astype(np.float16)
    x[:60, :3, 8:16, 8:16] = 0.95  # class 0: a bright square
    x[60:64, :3, 10:14, 4:20] = 0.05  # class 1, rare: a dark bar
    label = np.r_[np.full(60, 0), np.full(4, 1), np.full(32, -1)]
    cfg = VerifierTrainConfig(steps=120, batch=32, lr=5e-3, balance_classes=True)
    net, info = train_verifier(Crops(x, label, np.zeros((96, 4), np.float32)), 2, cfg)
    import torch

    with torch.no_grad():
        out = net(torch.from_numpy(x[58:64].astype(np.float32)))
    assert info["steps_done"] == 120 and out[:, 1:3].argmax(1).tolist() == [0, 0, 1, 1, 1, 1]


def test_a_verifier_taught_to_name_its_negatives_labels_them_from_truth_and_exports_only_its_verdict(
    tmp_path,
):
    """``--negative-kinds``: a candidate on nothing takes the kind of the smallest distractor it sits
    in (a bird on a reflection is a bird), else unknown; the net trains extra outputs for them and
    the exported verifier has the runtime's layout, no kinds, so the runtime reads it unchanged."""
    import onnxruntime as ort

    from contract.messages import DEBRIS_CLASSES
    from models.build import load_verifier_weights, save_verifier_weights
    from models.compare_verifiers import exported
    from models.verifier import (
        NEGATIVE_KINDS,
        UNKNOWN_KIND,
        Crops,
        VerifierTrainConfig,
        distractor_kinds,
        train_verifier,
    )

    bird, reflection = NEGATIVE_KINDS.index("bird"), NEGATIVE_KINDS.index("reflection")
    distractors = np.array([[0, 0, 100, 100], [40, 40, 60, 60]], np.float32)
    cand = np.array([[45, 45, 55, 55], [5, 5, 15, 15], [200, 200, 210, 210]], np.float32)
    kinds = distractor_kinds(cand, distractors, np.array([reflection, bird]))
    assert kinds.tolist() == [bird, reflection, UNKNOWN_KIND]
    assert distractor_kinds(cand, distractors[:0], np.zeros(0, np.int64)).tolist() == [UNKNOWN_KIND] * 3

    rng = np.random.default_rng(0)
    x = rng.uniform(0.2, 0.3, (96, 4, 48, 48)).astype(np.float16)
    x[:32, :3, 18:30, 18:30] = 0.95  # items
    x[32:64, :3, 20:28, 20:28] = 0.6  # "birds"; the rest plain water
    label = np.r_[np.full(32, 0), np.full(64, -1)]
    kind = np.r_[np.full(32, UNKNOWN_KIND), np.full(32, bird), np.full(32, NEGATIVE_KINDS.index("water"))]
    cfg = VerifierTrainConfig(steps=30, batch=32, lr=5e-3, negative_kinds=True)
    net, _ = train_verifier(Crops(x, label, np.zeros((96, 4), np.float32), kind), len(DEBRIS_CLASSES), cfg)
    assert net.kinds == len(NEGATIVE_KINDS) and net.head.out_features == 5 + 5 + len(NEGATIVE_KINDS)
    save_verifier_weights([net], {}, tmp_path / "kinds.pt")
    (back,), _ = load_verifier_weights(tmp_path / "kinds.pt")
    assert back.kinds == len(NEGATIVE_KINDS)
    session = ort.InferenceSession(str(exported(tmp_path / "kinds.pt", tmp_path)))
    probs = session.run(None, {"crops": x[:3].astype(np.float32)})[0]
    assert probs.shape == (3, 1 + 5 + 4)  # p(debris), 5 classes, the box: no kinds
    assert "name its negatives" in session.get_modelmeta().custom_metadata_map["architecture"]


def test_focal_bce_is_plain_bce_at_gamma_0_and_weighs_hard_crops_over_easy_ones():
    """``--focal-gamma``: at 0 the verifier's loss is the plain BCE it shipped with; above 0 an easy
    crop (p_t 0.99) loses far more of its weight than a hard one (p_t 0.3)."""
    import torch

    from models.verifier import focal_bce

    logits = torch.tensor([4.6, -0.85])  # p 0.99 and 0.30 for debris
    target = torch.ones(2)
    plain = torch.nn.functional.binary_cross_entropy_with_logits(logits, target)
    assert torch.isclose(focal_bce(logits, target, 0.0), plain)
    easy, hard = (focal_bce(logits[i : i + 1], target[i : i + 1], 2.0) for i in range(2))
    easy_plain, hard_plain = (focal_bce(logits[i : i + 1], target[i : i + 1], 0.0) for i in range(2))
    assert easy / easy_plain < 1e-3 and hard / hard_plain > 0.4
