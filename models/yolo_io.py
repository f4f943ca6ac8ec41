"""Read and write the YOLO data layout: ``<split>/images/*.jpg`` + ``<split>/labels/*.txt`` + ``meta``.

Labels are ``class cx cy w h`` normalized to the image, one object per line, so Ultralytics
trains on the same folders. ``<split>/meta/*.json`` keeps what YOLO cannot: physical size (m),
ground sample distance and the scene's look, which the evaluation needs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np


@dataclass(frozen=True, slots=True)
class Sample:
    """One labelled frame: pixel boxes xyxy, class indices, physical sizes (m)."""

    image_path: Path
    boxes: np.ndarray
    classes: np.ndarray
    sizes_m: np.ndarray
    meta: dict


def yolo_lines(boxes: np.ndarray, classes: np.ndarray, width: int, height: int) -> str:
    """YOLO label text for xyxy pixel ``boxes``."""
    lines = []
    for (x1, y1, x2, y2), c in zip(boxes, classes, strict=True):
        cx, cy = (x1 + x2) / 2 / width, (y1 + y2) / 2 / height
        w, h = (x2 - x1) / width, (y2 - y1) / height
        lines.append(f"{int(c)} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
    return "\n".join(lines) + ("\n" if lines else "")


def parse_yolo(text: str, width: int, height: int, where: str) -> tuple[np.ndarray, np.ndarray]:
    """xyxy pixel boxes and classes from YOLO label text; ``ValueError`` naming the file and line.

    A line is ``class cx cy w h`` (normalized), or an Ultralytics segment ``class x1 y1 x2 y2 ...``
    (three points or more), read as the polygon's bounding box.
    """
    boxes, classes = [], []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 5 and (len(parts) < 7 or len(parts) % 2 == 0):
            raise ValueError(f"{where}:{n}: expected 'class cx cy w h' or a segment, got {line!r}")
        try:
            c, values = int(parts[0]), np.asarray([float(v) for v in parts[1:]])
        except ValueError as exc:
            raise ValueError(f"{where}:{n}: not numbers: {line!r}") from exc
        if c < 0 or not np.isfinite(values).all():
            raise ValueError(f"{where}:{n}: negative class or non-finite value: {line!r}")
        if len(values) == 4:
            cx, cy, w, h = values
            x1, y1, x2, y2 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
        else:
            x1, y1, x2, y2 = values[0::2].min(), values[1::2].min(), values[0::2].max(), values[1::2].max()
        boxes.append((x1 * width, y1 * height, x2 * width, y2 * height))
        classes.append(c)
    return np.asarray(boxes, np.float32).reshape(-1, 4), np.asarray(classes, np.int64)


def write_sample(
    root: Path, split: str, index: int, image: np.ndarray, boxes: np.ndarray, classes: np.ndarray, meta: dict
) -> None:
    stem = f"{index:05d}"
    for sub in ("images", "labels", "meta"):
        (root / split / sub).mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(root / split / "images" / f"{stem}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    h, w = image.shape[:2]
    (root / split / "labels" / f"{stem}.txt").write_text(yolo_lines(boxes, classes, w, h))
    (root / split / "meta" / f"{stem}.json").write_text(json.dumps(meta))


def read_split(root: Path, split: str) -> list[Sample]:
    """All samples of ``split`` (sorted by name); image pixels are loaded lazily by the caller."""
    samples = []
    for meta_path in sorted((root / split / "meta").glob("*.json")):
        meta = json.loads(meta_path.read_text())
        label = root / split / "labels" / f"{meta_path.stem}.txt"
        boxes, classes = parse_yolo(label.read_text(), meta["width"], meta["height"], str(label))
        sizes = np.asarray([o["size_m"] for o in meta["objects"]], np.float32).reshape(-1)
        if len(sizes) != len(boxes):
            raise ValueError(f"{meta_path}: {len(sizes)} objects in meta but {len(boxes)} labels")
        samples.append(Sample(root / split / "images" / f"{meta_path.stem}.jpg", boxes, classes, sizes, meta))
    return samples
