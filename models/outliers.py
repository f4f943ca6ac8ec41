"""Debris-free images that are no river at all, as extra negatives for the verifier.

The verifier learns "debris" against the renderer's water, banks and distractors only, and on
photographs unlike any render it is surer of itself than the detector (``bench/foreign_images_bench.py``:
galaxies, coffee foam and moon craters boxed as debris). Outlier exposure (Hendrycks et al., ICLR
2019) teaches a net to doubt what lies outside its training world by showing it generic outliers
as negatives. With no image hub here, the outliers are drawn from two standard generic models of
natural-image statistics, chosen without looking at any photograph the bench uses:

- **dead leaves**: occluding shapes whose sizes follow a power law, dropped until they cover the
  plane (Lee, Mumford and Huang 2001), the model that reproduces natural images' scale invariance
  and edge statistics;
- **fractal noise**: 1/f^beta noise through a random colour ramp (clouds, terrain, stains).

Each frame is 1920x1080 like a camera frame, so the detector mines its candidates on them the
way it does on training frames (``models.verifier.mine``); none carries a label.
"""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from models.yolo_io import write_sample

#: Frame size of the outlier images: the camera's, so windows are cut at the trained scale.
SIZE = (1080, 1920)


def _colour(rng: np.random.Generator) -> np.ndarray:
    """A BGR colour, a third of them near grey (natural scenes are mostly unsaturated)."""
    c = rng.uniform(0, 255, 3)
    if rng.random() < 0.33:
        c = np.full(3, c.mean()) + rng.normal(0, 12, 3)
    return np.clip(c, 0, 255)


def dead_leaves(rng: np.random.Generator, size: tuple[int, int] = SIZE) -> np.ndarray:
    """Occluding discs, ellipses, rectangles and polygons, radii ~ r^-3 over 3-400 px, dropped
    until the plane is covered (no background shows), each with a faint texture of its own."""
    h, w = size
    img = np.empty((h, w, 3), np.float32)
    img[:] = _colour(rng)
    covered = np.zeros((h, w), np.uint8)
    r_min, r_max = 3.0, 400.0
    while covered.mean() < 0.995:
        u = rng.random(2000)  # inverse CDF of p(r) ~ r^-3 on [r_min, r_max]
        for r in 1 / np.sqrt(1 / r_min**2 - u * (1 / r_min**2 - 1 / r_max**2)):
            x, y, R = int(rng.integers(0, w)), int(rng.integers(0, h)), int(r) + 2
            x0, x1, y0, y1 = max(0, x - R), min(w, x + R + 1), max(0, y - R), min(h, y + R + 1)
            mask = np.zeros((y1 - y0, x1 - x0), np.uint8)  # drawn around the shape only
            cx, cy = x - x0, y - y0
            kind = rng.integers(0, 4)
            if kind == 0:
                cv2.circle(mask, (cx, cy), max(1, int(r)), 1, -1)
            elif kind == 1:
                axes = (max(1, int(r)), max(1, int(r * rng.uniform(0.2, 1.0))))
                cv2.ellipse(mask, (cx, cy), axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
            elif kind == 2:
                side = (2 * r, 2 * r * rng.uniform(0.2, 1.0))
                box = cv2.boxPoints(((cx, cy), side, float(rng.uniform(0, 180))))
                cv2.fillPoly(mask, [box.astype(np.int32)], 1)
            else:
                k = int(rng.integers(3, 8))
                ang = np.sort(rng.uniform(0, 2 * np.pi, k))
                rr = r * rng.uniform(0.5, 1.0, k)
                pts = np.stack([cx + rr * np.cos(ang), cy + rr * np.sin(ang)], 1).astype(np.int32)
                cv2.fillPoly(mask, [pts], 1)
            m = mask.astype(bool)
            if not m.any():
                continue
            shade = 1 + rng.uniform(0, 0.15) * rng.standard_normal(int(m.sum()))
            img[y0:y1, x0:x1][m] = _colour(rng)[None] * shade[:, None]
            covered[y0:y1, x0:x1][m] = 1
    return img


def fractal_noise(rng: np.random.Generator, size: tuple[int, int] = SIZE) -> np.ndarray:
    """1/f^beta noise (beta 1.5-3) mapped through a ramp of 2-4 random colours."""
    h, w = size
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    f = np.sqrt(fx**2 + fy**2)
    f[0, 0] = 1.0
    beta = rng.uniform(1.5, 3.0)
    spectrum = (rng.normal(size=f.shape) + 1j * rng.normal(size=f.shape)) / f ** (beta / 2)
    spectrum[0, 0] = 0
    field = np.fft.irfft2(spectrum, s=(h, w))
    field = (field - field.min()) / max(float(np.ptp(field)), 1e-9)
    k = int(rng.integers(2, 5))
    stops = np.sort(rng.uniform(0, 1, k))
    stops[0], stops[-1] = 0.0, 1.0
    colours = np.stack([_colour(rng) for _ in range(k)])
    return np.stack([np.interp(field, stops, colours[:, ch]) for ch in range(3)], -1).astype(np.float32)


def outlier_image(seed: int, size: tuple[int, int] = SIZE) -> np.ndarray:
    """One outlier frame (uint8 BGR) by seed: either model, then camera-like blur, noise and gamma."""
    rng = np.random.default_rng(seed)
    img = dead_leaves(rng, size) if rng.random() < 0.6 else fractal_noise(rng, size)
    sigma = rng.uniform(0, 1.5)
    if sigma > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), sigma)
    img = 255 * (np.clip(img, 0, 255) / 255) ** rng.uniform(0.7, 1.4)
    img += rng.normal(0, rng.uniform(0, 6), img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _write_one(args: tuple[Path, str, int, int, tuple[int, int]]) -> None:
    root, name, index, seed, size = args
    image = outlier_image(seed, size)
    h, w = image.shape[:2]
    meta = {"outlier": True, "seed": seed, "width": w, "height": h, "objects": [], "distractors": []}
    write_sample(root, name, index, image, np.zeros((0, 4), np.float32), np.zeros(0, np.int64), meta)


def generate_outliers(
    root: Path, name: str, frames: int, seed: int, workers: int = 2, size: tuple[int, int] = SIZE
) -> dict:
    """Write ``frames`` outlier images as an unlabelled split ``root/name`` (skipped if already so;
    about 3 s a 1080p frame on one core)."""
    spec = {"kind": "outliers", "frames": frames, "seed": seed, "size": list(size)}
    done = root / name / "split.json"
    stored = json.loads(done.read_text()) if done.is_file() else {}
    if stored.get("spec") == spec:
        return stored
    shutil.rmtree(root / name, ignore_errors=True)
    jobs = [(root, name, i, seed * 100_003 + i, size) for i in range(frames)]
    if workers > 1:
        cv2.setNumThreads(1)
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_write_one, jobs))
    else:
        for job in jobs:
            _write_one(job)
    summary = {"frames": frames, "items": 0, "spec": spec}
    done.write_text(json.dumps(summary, indent=2))
    return summary
