"""Read a plain Ultralytics/YOLO dataset of someone's own imagery: no meta, no sizes, their class names.

``models.yolo_io`` reads the project's own renders, which carry each item's physical size and
visibility; labelled imagery from a real river carries only ``images/`` + ``labels/`` and a
``data.yaml``. This module finds the images of a split, reads each image's label file by the
Ultralytics convention (``.../images/x.jpg`` -> ``.../labels/x.txt``; a missing or empty file is a
debris-free image) and maps the dataset's class names onto a model's (``class_mapping``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.detect.classes import match_names
from edge.detect.errors import FrameError
from edge.detect.image_io import read_image
from models.yolo_io import parse_yolo

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
SPLIT_ORDER = ("val", "test", "train")  # the split taken when none is named and data.yaml has several


@dataclass(frozen=True, slots=True)
class YoloFolder:
    """The images of one split of a dataset, and the dataset's class names (None: not given)."""

    root: Path
    split: str | None
    images: tuple[Path, ...]
    names: tuple[str, ...] | None


def label_path(image: Path) -> Path:
    """The label file Ultralytics reads for ``image``: the last ``images`` folder becomes ``labels``."""
    parts = list(image.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            return Path(*parts).with_suffix(".txt")
    return image.with_suffix(".txt")  # images and labels side by side


def read_labels(
    image: Path, width: int, height: int, num_classes: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """xyxy pixel boxes and class indices of ``image``; none when it has no label file.

    ``ValueError`` naming the file and line on a malformed line or a class index the dataset has no
    name for (``num_classes``).
    """
    path = label_path(image)
    if not path.is_file():
        return np.zeros((0, 4), np.float32), np.zeros(0, np.int64)
    boxes, classes = parse_yolo(path.read_text(), width, height, str(path))
    if num_classes is not None and len(classes) and (classes.min() < 0 or classes.max() >= num_classes):
        bad = int(classes[(classes < 0) | (classes >= num_classes)][0])
        raise ValueError(
            f"{path}: class {bad} but the dataset names {num_classes} classes (0..{num_classes - 1})"
        )
    return boxes, classes


def labelled_images(
    folder: YoloFolder,
    num_classes: int,
    skipped: list[dict],
    progress: Callable[[], None] | None = None,
) -> Iterator[tuple[Path, np.ndarray, np.ndarray, np.ndarray]]:
    """``(path, BGR frame, xyxy boxes, classes)`` of each readable image of ``folder``; a file
    OpenCV cannot read, a truncated JPEG, or one whose label file is bad goes to ``skipped``
    (``file``, ``error``). ``progress`` is called once per image, skipped ones included."""
    for image in folder.images:
        if progress:
            progress()
        try:
            frame = read_image(image)
        except FrameError as exc:
            skipped.append({"file": str(image), "error": str(exc).removeprefix(f"{image}: ")})
            continue
        try:
            boxes, classes = read_labels(image, frame.shape[1], frame.shape[0], num_classes)
        except (ValueError, OSError) as exc:
            skipped.append({"file": str(image), "error": str(exc)})
            continue
        yield image, frame, boxes, classes


def _images_under(entry: Path) -> list[Path]:
    if entry.is_file() and entry.suffix == ".txt":  # a list of image paths, one a line
        lines = [ln.strip() for ln in entry.read_text().splitlines() if ln.strip()]
        return [(entry.parent / ln).resolve() if not Path(ln).is_absolute() else Path(ln) for ln in lines]
    if entry.is_dir():
        return sorted(p for p in entry.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if entry.is_file() and entry.suffix.lower() in IMAGE_SUFFIXES:
        return [entry]
    raise ValueError(f"{entry}: no such image folder, image list or image")


def _names(raw: object, where: Path) -> tuple[str, ...]:
    if isinstance(raw, dict):
        keys = sorted(int(k) for k in raw)
        if keys != list(range(len(keys))):
            raise ValueError(f"{where}: names must be numbered 0..{len(keys) - 1}, got {keys}")
        return tuple(str(raw[k] if k in raw else raw[str(k)]) for k in keys)
    if isinstance(raw, list) and raw:
        return tuple(str(n) for n in raw)
    raise ValueError(f"{where}: 'names' must be a list or a {{index: name}} mapping, got {raw!r}")


def _from_yaml(path: Path, split: str | None) -> YoloFolder:
    import yaml

    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not YAML: {exc}") from exc
    if not isinstance(doc, dict) or "names" not in doc:
        raise ValueError(f"{path}: not an Ultralytics data.yaml (needs 'names' and a split such as 'val')")
    root = Path(doc.get("path") or ".")
    root = root if root.is_absolute() else (path.parent / root).resolve()
    splits = [s for s in SPLIT_ORDER if doc.get(s)]
    chosen = split or (splits[0] if splits else None)
    if chosen is None or not doc.get(chosen):
        raise ValueError(f"{path}: no split {chosen!r}; it lists {splits}")
    entries = doc[chosen] if isinstance(doc[chosen], list) else [doc[chosen]]
    images: list[Path] = []
    for e in entries:
        p = Path(str(e))
        images += _images_under(p if p.is_absolute() else root / p)
    return YoloFolder(root, chosen, tuple(images), _names(doc["names"], path))


def open_folder(path: Path, split: str | None = None) -> YoloFolder:
    """The images and class names of a dataset given as ``data.yaml``, a dataset folder or an image folder.

    A folder holding ``data.yaml`` is read through it; one holding ``images/`` takes
    ``images/<split>`` when named (else all of ``images/``); any other folder is the images
    themselves. ``ValueError`` says what is missing.
    """
    path = Path(path)
    if path.is_file() and path.suffix in (".yaml", ".yml"):
        return _from_yaml(path, split)
    if not path.is_dir():
        raise ValueError(f"{path}: no such data.yaml or folder")
    for name in ("data.yaml", "dataset.yaml"):
        if (path / name).is_file():
            return _from_yaml(path / name, split)
    base = path / "images" if (path / "images").is_dir() else path
    if split is not None:
        if not (base / split).is_dir():
            raise ValueError(f"{path}: no split folder {base / split}")
        base = base / split
    images = tuple(_images_under(base))
    if not images:
        raise ValueError(f"{path}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) under {base}")
    return YoloFolder(path, split, images, None)


def class_mapping(
    dataset_names: tuple[str, ...] | None,
    model_names: tuple[str, ...],
    overrides: dict[str, str] | None = None,
) -> dict[int, int | None]:
    """Dataset class index -> model class index (None: the model has no such class; such items are
    scored as "ignore" regions, neither found nor missed).

    Names match case-insensitively; ``overrides`` (``edge.detect.classes.parse_name_map``) maps a
    dataset name to a model name, or to ``""`` to leave it out. Without dataset names the indices
    are taken to be the model's own.
    """
    if dataset_names is None:
        return {i: i for i in range(len(model_names))}
    return match_names(dataset_names, model_names, overrides)


def map_classes(classes: np.ndarray, mapping: dict[int, int | None]) -> np.ndarray:
    """Dataset class indices in the model's (``class_mapping``); -1 where the model has none."""
    return np.asarray([-1 if mapping.get(int(c)) is None else mapping[int(c)] for c in classes], np.int64)
