"""The verifier's generic non-river negatives (models.outliers): seeded, covering, readable as a split."""

from __future__ import annotations

import numpy as np

from models.outliers import _colour, dead_leaves, fractal_noise, generate_outliers, outlier_image
from models.yolo_io import read_split

SMALL = (90, 160)


def test_outlier_image_is_seeded_and_camera_shaped():
    a, b, c = outlier_image(3, SMALL), outlier_image(3, SMALL), outlier_image(4, SMALL)
    assert a.shape == (*SMALL, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_dead_leaves_cover_the_plane():
    """No flat background is left to read as calm water: the first colour survives only where
    no leaf fell, which the loop allows on at most 0.5 % of the pixels."""
    img = dead_leaves(np.random.default_rng(0), SMALL)
    first = _colour(np.random.default_rng(0))  # the same first draw: the background colour
    untouched = np.all(np.abs(img - first) < 1e-3, axis=-1)
    assert untouched.mean() <= 0.005
    assert len(np.unique(img.reshape(-1, 3).round(), axis=0)) > 50  # many leaves, textured


def test_fractal_noise_spans_its_colour_ramp():
    img = fractal_noise(np.random.default_rng(1), SMALL)
    assert img.shape == (*SMALL, 3)
    assert float(img.std()) > 5  # not a flat field


def test_generate_outliers_writes_an_unlabelled_split_once(tmp_path):
    summary = generate_outliers(tmp_path, "train_outliers", 3, seed=7, workers=1, size=SMALL)
    samples = read_split(tmp_path, "train_outliers")
    assert summary["frames"] == 3 and len(samples) == 3
    assert all(len(s.boxes) == 0 and s.meta["distractors"] == [] for s in samples)
    stamp = samples[0].image_path.stat().st_mtime_ns
    generate_outliers(tmp_path, "train_outliers", 3, seed=7, workers=1, size=SMALL)  # same spec: kept
    assert samples[0].image_path.stat().st_mtime_ns == stamp
    generate_outliers(tmp_path, "train_outliers", 2, seed=7, workers=1, size=SMALL)  # smaller: redone
    assert len(read_split(tmp_path, "train_outliers")) == 2
