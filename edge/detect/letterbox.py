"""Letterbox a BGR frame into the model's fixed input and map boxes back (pure numpy + OpenCV).

Both supported layouts (ours and Ultralytics') expect the same convention: keep aspect ratio,
pad symmetrically with grey 114, RGB float32 NCHW in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

PAD_VALUE = 114


@dataclass(frozen=True, slots=True)
class Letterbox:
    """How a frame was placed in the model input: ``input = frame * scale + (pad_x, pad_y)``."""

    scale: float
    pad_x: int
    pad_y: int

    def to_frame(self, boxes: np.ndarray) -> np.ndarray:
        """Map ``[N, 4]`` xyxy boxes from model-input pixels back to frame pixels."""
        out = boxes.astype(np.float32, copy=True)
        out[:, [0, 2]] = (out[:, [0, 2]] - self.pad_x) / self.scale
        out[:, [1, 3]] = (out[:, [1, 3]] - self.pad_y) / self.scale
        return out


def letterbox(
    frame: np.ndarray, input_hw: tuple[int, int], scale: float | None = None
) -> tuple[np.ndarray, Letterbox]:
    """``[1, 3, H, W]`` float32 RGB tensor in [0, 1] plus the placement, from an HxWx3 uint8 BGR frame.

    ``scale``: resize by this much (a frame at a known ground scale), or less if it would not fit;
    None: as much as fits.
    """
    in_h, in_w = input_hw
    h, w = frame.shape[:2]
    fit = min(in_w / w, in_h / h)
    scale = fit if scale is None else min(fit, scale)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    if (new_w, new_h) != (w, h):
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        resized = cv2.resize(frame, (new_w, new_h), interpolation=interp)
    else:
        resized = frame
    pad_x, pad_y = (in_w - new_w) // 2, (in_h - new_h) // 2
    tensor = np.full((1, 3, in_h, in_w), PAD_VALUE / 255.0, dtype=np.float32)
    for c in range(3):  # BGR -> RGB while converting; cheaper than cv2.dnn.blobFromImage here
        np.multiply(
            resized[:, :, 2 - c],
            np.float32(1 / 255.0),
            out=tensor[0, c, pad_y : pad_y + new_h, pad_x : pad_x + new_w],
            casting="unsafe",
        )
    return tensor, Letterbox(scale=scale, pad_x=pad_x, pad_y=pad_y)
