"""CenterNet training targets from YOLO boxes (pure numpy): Gaussian centre heatmaps, size, offset."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_SIGMA_CELLS = 0.6


@dataclass(frozen=True, slots=True)
class Targets:
    """Per-image targets at the output grid (``[C, H, W]`` heat; box fields at centre cells)."""

    heat: np.ndarray  # float32 [nc, gh, gw]
    box: np.ndarray  # float32 [4, gh, gw]: log w, log h (cells), offset x, y in [0, 1)
    mask: np.ndarray  # float32 [gh, gw]: 1 at object centre cells


def gaussian_sigma(w_cells: float, h_cells: float) -> float:
    """Spread of a centre peak: narrow for tiny items so neighbours stay separable."""
    return max(MIN_SIGMA_CELLS, 0.15 * float(np.sqrt(w_cells * h_cells)))


def make_targets(
    boxes_px: np.ndarray, classes: np.ndarray, image_hw: tuple[int, int], num_classes: int, stride: int
) -> Targets:
    """Targets for ``[N, 4]`` xyxy pixel boxes on an image of ``image_hw`` (multiple of ``stride``)."""
    gh, gw = image_hw[0] // stride, image_hw[1] // stride
    heat = np.zeros((num_classes, gh, gw), np.float32)
    box = np.zeros((4, gh, gw), np.float32)
    mask = np.zeros((gh, gw), np.float32)
    ys, xs = np.mgrid[0:gh, 0:gw].astype(np.float32)
    for (x1, y1, x2, y2), c in zip(boxes_px, classes, strict=True):
        w, h = (x2 - x1) / stride, (y2 - y1) / stride
        if w <= 0 or h <= 0:
            continue
        cx, cy = (x1 + x2) / 2 / stride, (y1 + y2) / 2 / stride
        ix, iy = int(np.floor(cx)), int(np.floor(cy))
        if not (0 <= ix < gw and 0 <= iy < gh):
            continue
        s = gaussian_sigma(w, h)
        r = int(np.ceil(3 * s))
        ya, yb, xa, xb = max(0, iy - r), min(gh, iy + r + 1), max(0, ix - r), min(gw, ix + r + 1)
        g = np.exp(-((xs[ya:yb, xa:xb] - ix) ** 2 + (ys[ya:yb, xa:xb] - iy) ** 2) / (2 * s * s))
        np.maximum(heat[c, ya:yb, xa:xb], g, out=heat[c, ya:yb, xa:xb])
        box[:, iy, ix] = (np.log(w), np.log(h), cx - ix, cy - iy)
        mask[iy, ix] = 1.0
    return Targets(heat, box, mask)
