"""Detections drawn on the frame they were found in, for a person to look at (``riverpatrol edge
detect --save DIR``): one colour per class, the class and score above each box."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from edge.detect.detection import Detection

#: BGR per debris class; other classes (a model of your own) take the last colour.
CLASS_COLOURS: dict[str, tuple[int, int, int]] = {
    "bottle": (0, 0, 255),
    "bag": (255, 0, 255),
    "foam": (255, 255, 0),
    "styrofoam": (255, 255, 255),
    "vegetation": (0, 200, 0),
}
OTHER_COLOUR = (0, 165, 255)


def draw_detections(frame: np.ndarray, detections: Sequence[Detection]) -> np.ndarray:
    """A copy of ``frame`` (BGR) with each detection's box and ``class score`` drawn, line width
    and text scaled to the frame so a 4K photo reads as well as a 1080p one."""
    import cv2

    out = frame.copy()
    h, w = out.shape[:2]
    thick = max(1, round(max(h, w) / 900))
    font = 0.45 * thick
    for d in detections:
        colour = CLASS_COLOURS.get(d.class_name, OTHER_COLOUR)
        x1, y1, x2, y2 = (round(v) for v in d.box)
        pad = 2 * thick  # small debris: keep the box off the item
        cv2.rectangle(out, (x1 - pad, y1 - pad), (x2 + pad, y2 + pad), colour, thick)
        label = f"{d.class_name} {d.score:.2f}"
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, font, thick)
        ty = y1 - pad - 3 if y1 - pad - th - base - 3 >= 0 else y2 + pad + th + 3
        tx = max(0, min(x1 - pad, w - tw - 2))  # kept inside the frame at its right edge
        cv2.rectangle(out, (tx, ty - th - base), (tx + tw + 2, ty + base), (0, 0, 0), -1)
        cv2.putText(out, label, (tx + 1, ty), cv2.FONT_HERSHEY_SIMPLEX, font, colour, thick, cv2.LINE_AA)
    return out


class AnnotatedWriter:
    """One source's annotated frames written into ``folder``: ``<name>.jpg`` for an image, an mp4
    of the frames that were run (at ``fps``) for a video. Use as a context manager."""

    def __init__(self, folder: Path, source: Path, video: bool, fps: float = 30.0) -> None:
        self.path = folder / (f"{source.stem}.mp4" if video else f"{source.stem}.jpg")
        self.video, self.fps, self.frames = video, fps, 0
        self._writer = None

    def write(self, frame: np.ndarray, detections: Sequence[Detection]) -> None:
        import cv2

        image = draw_detections(frame, detections)
        if not self.video:
            cv2.imwrite(str(self.path), image)
        else:
            if self._writer is None:
                h, w = image.shape[:2]
                self._writer = cv2.VideoWriter(
                    str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (w, h)
                )
            self._writer.write(image)
        self.frames += 1

    def __enter__(self) -> AnnotatedWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._writer is not None:
            self._writer.release()
