"""A second look at each candidate: a small classifier on a full-resolution crop around it.

Why: the detector sees a 1080p frame halved, where a 0.3 m bottle is ~6 px and a floating gull
is a white blob of about the same size. The verifier looks again at the frame's own pixels (twice
the detail) with a few item-lengths of water around the candidate, and says "debris of class c"
or "not debris" (bird, glint, wake). It runs only on the detector's candidates, a handful per
frame, so it costs little; its probability is combined with the detector's score.

It also redraws the box: at half resolution a 13 px bottle's box is off by a pixel or two,
which is most of an IoU of 0.5; in the full-resolution crop it is not.

The model file declares itself in metadata (``riverpatrol_format = verifier-v1``, ``names``,
``crop``, ``context``, ``min_side``, ``max_side``, ``proposal_threshold``, ``score_threshold``,
``detector_weight``, the detector's share of the combined score, 0.5 if absent, and
``class_weights``, a JSON list of one multiplier per class applied before the class is read,
all 1 if absent).
Input ``[N, 4, crop, crop]``: RGB in [0, 1] plus a constant plane carrying the window's size.
Output ``[N, 1 + nc]`` or ``[N, 1 + nc + 4]``: p(debris), p(class | debris), then optionally the
item's box in the window: centre offset x, y in window sides, log width and height over the side.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from edge.detect.errors import ModelLoadError
from edge.detect.session import open_session

VERIFIER_FORMAT = "verifier-v1"
PAD_VALUE = 114


@dataclass(frozen=True, slots=True)
class CropGeometry:
    """How a candidate's window is cut: ``context`` x its longer side, clamped, resized to ``crop``."""

    crop: int = 48
    context: float = 2.5
    min_side: int = 32
    max_side: int = 320

    def side(self, box_w: float, box_h: float) -> int:
        return round(min(self.max_side, max(self.min_side, self.context * max(box_w, box_h))))

    def size_plane_value(self, side: int) -> float:
        """The window's size as one number the network can read (0 at ``min_side``, 1 at ``max_side``)."""
        return math.log(side / self.min_side) / math.log(self.max_side / self.min_side)


def windows(boxes: np.ndarray, geometry: CropGeometry, scale: float = 1.0) -> np.ndarray:
    """``[N, 3]`` int windows ``(left, top, side)`` in frame pixels: one square per xyxy box, centred.

    ``scale`` is native pixels per frame pixel (2 for a 960x540 frame when the verifier was
    trained on 1080p, 0.5 for 4K): the window is sized as in training, at native scale, so the
    verifier sees the same ground area around an item whatever the frame's resolution.
    """
    out = np.empty((len(boxes), 3), np.int64)
    for i, (x1, y1, x2, y2) in enumerate(np.asarray(boxes, np.float64)):
        side = max(1, round(geometry.side((x2 - x1) * scale, (y2 - y1) * scale) / scale))
        out[i] = (round((x1 + x2) / 2 - side / 2), round((y1 + y2) / 2 - side / 2), side)
    return out


def box_targets(boxes: np.ndarray, wins: np.ndarray) -> np.ndarray:
    """``[N, 4]`` ``(dx, dy, log w, log h)`` of xyxy ``boxes`` relative to their ``windows``."""
    side = wins[:, 2].astype(np.float64)
    cx = wins[:, 0] + side / 2
    cy = wins[:, 1] + side / 2
    b = np.asarray(boxes, np.float64)
    w = np.maximum(b[:, 2] - b[:, 0], 1.0)
    h = np.maximum(b[:, 3] - b[:, 1], 1.0)
    return np.stack(
        [
            ((b[:, 0] + b[:, 2]) / 2 - cx) / side,
            ((b[:, 1] + b[:, 3]) / 2 - cy) / side,
            np.log(w / side),
            np.log(h / side),
        ],
        axis=1,
    ).astype(np.float32)


def boxes_from_targets(targets: np.ndarray, wins: np.ndarray) -> np.ndarray:
    """Inverse of ``box_targets``: xyxy boxes in frame pixels."""
    side = wins[:, 2].astype(np.float64)
    cx = wins[:, 0] + side / 2 + targets[:, 0] * side
    cy = wins[:, 1] + side / 2 + targets[:, 1] * side
    w = np.exp(np.clip(targets[:, 2], -4, 1)) * side
    h = np.exp(np.clip(targets[:, 3], -4, 1)) * side
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float32)


def crop_windows(
    frame: np.ndarray, boxes: np.ndarray, geometry: CropGeometry, scale: float = 1.0
) -> np.ndarray:
    """``[N, 4, crop, crop]`` float32 verifier input for xyxy ``boxes`` in ``frame`` (HxWx3 BGR uint8)."""
    return cut_windows(frame, windows(boxes, geometry, scale), geometry, scale)


def cut_windows(
    frame: np.ndarray, wins: np.ndarray, geometry: CropGeometry, scale: float = 1.0
) -> np.ndarray:
    """``[N, 4, crop, crop]`` float32 verifier input for ``windows`` already placed in ``frame``.

    Parts of a window outside the frame are filled with grey (114, as the letterbox pads), then it
    is resized (area interpolation when shrinking). The size plane carries the window's side at
    native scale (``windows``).
    """
    s = geometry.crop
    out = np.empty((len(wins), 4, s, s), np.float32)
    h, w = frame.shape[:2]
    for i, (left, top, side) in enumerate(wins):
        window = np.full((side, side, 3), PAD_VALUE, np.uint8)
        fx1, fy1 = max(0, left), max(0, top)
        fx2, fy2 = min(w, left + side), min(h, top + side)
        if fx2 > fx1 and fy2 > fy1:
            window[fy1 - top : fy2 - top, fx1 - left : fx2 - left] = frame[fy1:fy2, fx1:fx2]
        interp = cv2.INTER_AREA if side > s else cv2.INTER_LINEAR
        small = cv2.resize(window, (s, s), interpolation=interp)
        out[i, :3] = small[:, :, ::-1].transpose(2, 0, 1) / np.float32(255.0)
        out[i, 3] = geometry.size_plane_value(side * scale)
    return out


def combine(detector_scores: np.ndarray, p_debris: np.ndarray, detector_weight: float = 0.5) -> np.ndarray:
    """One score from both looks: ``s ** w * p ** (1 - w)``, so either can veto and both can confirm.

    ``w = 0.5`` is their geometric mean. The verifier sees the frame at full resolution and is
    the sharper judge, so a trained verifier names a smaller ``w`` in its metadata, chosen with its
    threshold on validation patrols (``models.build``); a small ``w`` keeps the detector's veto,
    which water unlike the training look still needs.
    """
    s = np.clip(detector_scores, 0, 1).astype(np.float64)
    p = np.clip(p_debris, 0, 1).astype(np.float64)
    return (s**detector_weight * p ** (1.0 - detector_weight)).astype(np.float32)


def decide_class(p_class: np.ndarray, class_weights: tuple[float, ...] | None = None) -> np.ndarray:
    """The class of each candidate: the argmax of ``p(class | debris) x class_weights``.

    The weights are a prior correction: the verifier learned the training water's class balance
    and, on water unlike it, over-calls the thin, any-coloured film ("bag"). A weight under 1
    makes a class need a larger share to win; scores and detections do not change, only names.
    """
    if class_weights is None:
        return p_class.argmax(axis=1)
    return (p_class * np.asarray(class_weights, np.float32)).argmax(axis=1)


def parse_class_weights(where: str, raw: str | None, names: tuple[str, ...]) -> tuple[float, ...] | None:
    """Metadata ``class_weights`` (a JSON list, one positive number per class); None if absent."""
    if raw is None:
        return None
    try:
        weights = tuple(float(x) for x in json.loads(raw))
    except (ValueError, TypeError) as exc:
        msg = f"{where}: metadata class_weights is not a JSON list of numbers ({exc})"
        raise ModelLoadError(msg) from exc
    if len(weights) != len(names) or not all(math.isfinite(w) and w > 0 for w in weights):
        raise ModelLoadError(
            f"{where}: metadata class_weights must be {len(names)} positive numbers "
            f"(one per class: {', '.join(names)}), got {raw}"
        )
    return weights


def proposal_floor(threshold: float, detector_weight: float) -> float:
    """Lowest detector score whose combined score can still reach ``threshold`` (p <= 1)."""
    return threshold ** (1.0 / detector_weight) if detector_weight > 0 else 0.0


@dataclass(frozen=True, slots=True)
class VerifierSpec:
    names: tuple[str, ...]
    geometry: CropGeometry
    proposal_threshold: float  # detector score above which a candidate is looked at again
    score_threshold: float  # operating threshold on the combined score
    input_name: str
    output_name: str
    version: str = "unknown"
    refines_boxes: bool = False  # output carries the item's box (4 more columns)
    detector_weight: float = 0.5  # w in the combined score s**w * p**(1-w) (``combine``)
    class_weights: tuple[float, ...] | None = None  # per-class multipliers (``decide_class``)


def verifier_spec(
    where: str,
    inputs: list[tuple[str, list[object]]],
    outputs: list[tuple[str, list[object]]],
    metadata: dict[str, str],
) -> VerifierSpec:
    """Spec of a verifier model; ``ModelLoadError`` saying what is wrong if it is not one."""
    if metadata.get("riverpatrol_format") != VERIFIER_FORMAT:
        raise ModelLoadError(
            f"{where}: not a RiverPatrol verifier (metadata riverpatrol_format is not {VERIFIER_FORMAT})"
        )
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelLoadError(f"{where}: a verifier has one input and one output")
    try:
        names = tuple(json.loads(metadata["names"]))
        geometry = CropGeometry(
            crop=int(metadata["crop"]),
            context=float(metadata["context"]),
            min_side=int(metadata["min_side"]),
            max_side=int(metadata["max_side"]),
        )
        proposal = float(metadata["proposal_threshold"])
        threshold = float(metadata["score_threshold"])
        weight = float(metadata.get("detector_weight", 0.5))  # verifiers before it: geometric mean
    except (KeyError, ValueError, TypeError) as exc:
        raise ModelLoadError(f"{where}: verifier metadata incomplete or not numeric ({exc})") from exc
    if not 0.0 <= weight <= 1.0:
        raise ModelLoadError(f"{where}: metadata detector_weight must be in [0, 1], got {weight}")
    in_name, in_shape = inputs[0]
    if len(in_shape) != 4 or in_shape[1] != 4 or in_shape[2] != geometry.crop:
        side = geometry.crop
        raise ModelLoadError(f"{where}: input '{in_name}' must be [N, 4, {side}, {side}], got {in_shape}")
    out_name, out_shape = outputs[0]
    nc = len(names)
    if len(out_shape) != 2 or out_shape[1] not in (1 + nc, 5 + nc):
        raise ModelLoadError(
            f"{where}: output '{out_name}' must be [N, {1 + nc}] or [N, {5 + nc}], got {out_shape}"
        )
    return VerifierSpec(
        names,
        geometry,
        proposal,
        threshold,
        in_name,
        out_name,
        metadata.get("model_version", "unknown"),
        refines_boxes=out_shape[1] == 5 + nc,
        detector_weight=weight,
        class_weights=parse_class_weights(where, metadata.get("class_weights"), names),
    )


class Verifier:
    """onnxruntime session of a verifier: ``(frame, boxes) -> (p_debris [N], class probs [N, nc])``."""

    def __init__(self, path: Path, threads: int = 2) -> None:
        where = f"verifier {path}"
        # No spin-waiting after a run: its idle threads would take the cores from the detector's
        # next frame (measured: +6 ms per 1080p frame on 2 cores).
        self._session = open_session(Path(path), where, threads, spin=False)
        self.path = Path(path)
        self.spec = verifier_spec(
            where,
            [(i.name, list(i.shape)) for i in self._session.get_inputs()],
            [(o.name, list(o.shape)) for o in self._session.get_outputs()],
            dict(self._session.get_modelmeta().custom_metadata_map),
        )

    def __call__(
        self, frame: np.ndarray, boxes: np.ndarray, scale: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``p_debris [N]``, class probabilities ``[N, nc]`` and boxes ``[N, 4]`` (redrawn if it can);
        ``scale``: native pixels per frame pixel (see ``windows``)."""
        nc = len(self.spec.names)
        if len(boxes) == 0:
            return np.zeros(0, np.float32), np.zeros((0, nc), np.float32), np.zeros((0, 4), np.float32)
        wins = windows(boxes, self.spec.geometry, scale)
        x = cut_windows(frame, wins, self.spec.geometry, scale)
        out = self._session.run([self.spec.output_name], {self.spec.input_name: x})[0]
        if self.spec.refines_boxes:
            boxes = boxes_from_targets(out[:, 1 + nc :], wins)
        return (
            out[:, 0].astype(np.float32),
            out[:, 1 : 1 + nc].astype(np.float32),
            np.asarray(boxes, np.float32),
        )
