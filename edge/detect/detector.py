"""The detector runtime: an onnxruntime session behind a typed ``detect(frame) -> list[Detection]``.

Imperative shell around the pure parts (``letterbox``, ``layouts``, ``nms``, ``tiling``): it owns
the session, validates frames, counts rejects and logs them, and merges tiles.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edge.detect import metrics
from edge.detect.config import DetectorConfig
from edge.detect.detection import Detection
from edge.detect.errors import FrameError, ModelLoadError
from edge.detect.layouts import RawDetections, decode_centernet, decode_ultralytics
from edge.detect.letterbox import letterbox
from edge.detect.nms import nms
from edge.detect.session import open_session
from edge.detect.spec import ModelSpec, model_spec
from edge.detect.tiling import tile_grid
from edge.detect.verify import Verifier, combine, decide_class, proposal_floor

log = logging.getLogger("riverpatrol.edge.detect")

DEFAULT_THRESHOLD = 0.25
MIN_FRAME_SIDE = 8


def validate_frame(frame: object, where: str = "frame") -> np.ndarray:
    """The frame itself if it is a usable HxWx3 uint8 BGR image, else ``FrameError`` saying why."""
    if frame is None:
        raise FrameError(f"{where}: no image (None); the capture or decode failed")
    if not isinstance(frame, np.ndarray):
        raise FrameError(f"{where}: expected a numpy array, got {type(frame).__name__}")
    if frame.dtype != np.uint8:
        raise FrameError(f"{where}: expected dtype uint8, got {frame.dtype}")
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise FrameError(f"{where}: expected shape (H, W, 3) BGR, got {frame.shape}")
    if min(frame.shape[:2]) < MIN_FRAME_SIDE:
        h, w = frame.shape[:2]
        raise FrameError(f"{where}: image is {w}x{h} px, a side is under {MIN_FRAME_SIDE}")
    return frame


@dataclass(frozen=True, slots=True)
class Candidates:
    """One frame's candidates after the detector's NMS, and the verifier's look at them if it ran:
    ``(p_debris [N], class probabilities [N, nc], redrawn boxes [N, 4])``."""

    found: RawDetections
    second: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    frame_wh: tuple[int, int]
    mode: str  # the NMS overlap mode the frame was merged with


def _reject_reason(message: str) -> str:
    for reason in ("None", "numpy", "dtype", "shape", "smaller"):
        if reason in message:
            return reason.lower()
    return "other"


def frame_zoom(frame_gsd_m: float | None, model_gsd_m: float | None, tolerance: float = 1.0) -> float | None:
    """How much to resize a frame of ``frame_gsd_m`` metres per pixel so its ground scale is the
    model's (``model_gsd_m``, at native frame size): >1 enlarges (flown higher), <1 shrinks (a 4K
    camera, flown lower). None when either is unknown or not a positive number, or when the two
    are within ``tolerance`` of each other (the training covered that much: run as it is)."""
    if frame_gsd_m is None or model_gsd_m is None:
        return None
    if not (math.isfinite(frame_gsd_m) and frame_gsd_m > 0 and model_gsd_m > 0):
        return None
    zoom = frame_gsd_m / model_gsd_m
    return None if 1 / tolerance < zoom < tolerance else zoom


class Detector:
    """Debris detector over one ONNX model (the shipped CenterNet or a user's Ultralytics export)."""

    def __init__(self, config: DetectorConfig | None = None, **overrides: object) -> None:
        cfg = (config or DetectorConfig()).model_copy(update=overrides)
        self.config = DetectorConfig.model_validate(cfg.model_dump())
        self.spec, self._session = self._load(self.config)
        self.verifier = self._load_verifier(self.config, self.spec)
        self.score_threshold = float(self.config.score_threshold or self.model_threshold)
        self.frames = 0
        self.rejected = 0
        self.last_error: str | None = None
        log.info(
            "detector loaded model=%s verifier=%s layout=%s classes=%d input=%s threshold=%.3f threads=%d",
            self.config.model_path,
            self.verifier.path if self.verifier else "off",
            self.spec.layout,
            len(self.spec.names),
            self.spec.input_hw,
            self.score_threshold,
            self.config.threads,
        )

    @staticmethod
    def _load(cfg: DetectorConfig) -> tuple[ModelSpec, object]:
        path = Path(cfg.model_path)
        where = f"model {path}"
        session = open_session(path, where, cfg.threads)
        meta = dict(session.get_modelmeta().custom_metadata_map)
        spec = model_spec(
            where,
            [(i.name, list(i.shape)) for i in session.get_inputs()],
            [(o.name, list(o.shape)) for o in session.get_outputs()],
            meta,
            cfg.model_format,
        )
        return spec, session

    @staticmethod
    def _load_verifier(cfg: DetectorConfig, spec: ModelSpec) -> Verifier | None:
        """The second-look verifier to use, if any (see ``edge.detect.verify``)."""
        if cfg.verifier == "off":
            return None
        if cfg.verifier_path is not None:
            path = Path(cfg.verifier_path)
        elif spec.verifier:
            path = Path(cfg.model_path).parent / spec.verifier
        else:
            return None
        verifier = Verifier(path, cfg.threads)
        if verifier.spec.names != spec.names:
            raise ModelLoadError(
                f"verifier {path}: classes {list(verifier.spec.names)} "
                f"differ from the model's {list(spec.names)}"
            )
        return verifier

    @property
    def model_threshold(self) -> float:
        """The operating threshold the model's metadata names (the verifier's first), whatever the
        config's ``score_threshold`` overrides it with; ``DEFAULT_THRESHOLD`` when none does."""
        return float(
            (self.verifier.spec.score_threshold if self.verifier else None)
            or self.spec.score_threshold
            or DEFAULT_THRESHOLD
        )

    @property
    def names(self) -> tuple[str, ...]:
        return self.spec.names

    @property
    def native_frame_hw(self) -> tuple[int, int]:
        """Frame size (h, w) the model sees without tiling at its trained scale."""
        return self.spec.native_frame_hw or self.spec.input_hw

    @property
    def healthy(self) -> bool:
        """Model loaded and the last frame (if any) was accepted."""
        return self.last_error is None

    @property
    def model_gsd_m(self) -> float | None:
        """Metres per pixel of a native frame the model was trained at (config, else metadata)."""
        return self.config.model_gsd_m or self.spec.gsd_m

    def _trained_scale(self) -> float:
        """The letterbox scale a native frame gets: the scale the model saw its training data at."""
        (ih, iw), (nh, nw) = self.spec.input_hw, self.native_frame_hw
        return min(iw / nw, ih / nh)

    def _infer(
        self, image: np.ndarray, threshold: float, scale: float | None = None
    ) -> tuple[RawDetections, float]:
        """Raw detections in ``image`` pixels for one letterboxed pass (at ``scale``, else to fit),
        and the scale the pass ran at."""
        tensor, placement = letterbox(image, self.spec.input_hw, scale)
        metrics.PASSES.inc()
        out = self._session.run([self.spec.output_name], {self.spec.input_name: tensor})[0]  # type: ignore[attr-defined]
        if self.spec.layout == "centernet":
            raw = decode_centernet(out, len(self.spec.names), self.spec.stride, threshold)
        else:
            raw = decode_ultralytics(out, len(self.spec.names), threshold)
        if len(raw.boxes) == 0:
            return raw, placement.scale
        return RawDetections(placement.to_frame(raw.boxes), raw.scores, raw.classes), placement.scale

    def _use_tiles(self, frame_hw: tuple[int, int], view_hw: tuple[int, int]) -> bool:
        mode = self.config.tile
        if mode == "off":
            return False
        if mode == "on":
            return True
        return frame_hw[0] > 1.5 * view_hw[0] or frame_hw[1] > 1.5 * view_hw[1]

    def _zoom(self, gsd_m: float | None) -> float | None:
        return frame_zoom(gsd_m, self.model_gsd_m, self.config.gsd_tolerance)

    def _plan(
        self, frame_hw: tuple[int, int], gsd_m: float | None
    ) -> tuple[float | None, tuple[int, int] | None]:
        """How ``candidates`` runs a frame: the zoom to the trained ground scale (None: as it
        comes), and the tile size when it is tiled (None: one pass)."""
        zoom = self._zoom(gsd_m)
        view = self._view_hw(zoom)
        return zoom, (self.config.tile_size or view) if self._use_tiles(frame_hw, view) else None

    def input_scale(self, frame_hw: tuple[int, int], gsd_m: float | None = None) -> float:
        """How much a frame of ``frame_hw`` (each tile, when tiled) is resized for the network:
        the scale ``candidates`` runs it at, so a model fine-tuned on such frames sees them alike
        (``models.finetune``)."""
        zoom, tile_hw = self._plan(frame_hw, gsd_m)
        (ih, iw), (fh, fw) = self.spec.input_hw, frame_hw
        if tile_hw is not None:  # each tile fitted to the input (``tile_grid`` clips it to the frame)
            th, tw = min(tile_hw[0], fh), min(tile_hw[1], fw)
            return min(iw / tw, ih / th)
        fit = min(iw / fw, ih / fh)  # ``letterbox``: a fixed scale, or less if it would not fit
        return fit if zoom is None else min(fit, self._trained_scale() * zoom)

    def view_hw(self, gsd_m: float | None = None) -> tuple[int, int]:
        """Frame pixels (h, w) the model sees whole at its trained scale, for frames of ``gsd_m``
        metres per pixel (None or no model GSD: the native frame size)."""
        return self._view_hw(self._zoom(gsd_m))

    def _view_hw(self, zoom: float | None) -> tuple[int, int]:
        nh, nw = self.native_frame_hw
        return (nh, nw) if zoom is None else (max(1, round(nh / zoom)), max(1, round(nw / zoom)))

    def detect(self, frame: np.ndarray, where: str = "frame", gsd_m: float | None = None) -> list[Detection]:
        """Detections in ``frame`` (HxWx3 uint8 BGR), best first; ``FrameError`` on a bad frame.

        ``gsd_m``: the frame's metres per pixel at the water, when known (the edge agent knows it
        from altitude and camera): the frame is then run at the model's trained ground scale
        (``model_gsd_m``), tiled where it covers more than a native frame, padded where less.
        """
        start = time.perf_counter()
        dets = self.decide(self.candidates(frame, where, gsd_m))
        self.frames += 1
        metrics.FRAMES.inc()
        metrics.LATENCY.observe(time.perf_counter() - start)
        return dets

    def candidates(self, frame: np.ndarray, where: str = "frame", gsd_m: float | None = None) -> Candidates:
        """What both looks say about ``frame`` before the operating point is applied (``decide``)."""
        try:
            validate_frame(frame, where)
        except FrameError as exc:
            self.rejected += 1
            self.last_error = str(exc)
            metrics.REJECTED_FRAMES.labels(reason=_reject_reason(str(exc))).inc()
            log.warning("frame rejected: %s", exc)
            raise
        self.last_error = None
        fh, fw = frame.shape[:2]
        threshold = self.score_threshold
        if self.verifier is not None:
            # Candidates for a second look: below proposal_floor the combined score cannot reach
            # the threshold whatever the verifier says; the verifier's own floor bounds the work.
            spec = self.verifier.spec
            threshold = max(proposal_floor(threshold, spec.detector_weight), spec.proposal_threshold)
        zoom, tile_hw = self._plan((fh, fw), gsd_m)
        metrics.ZOOM.set(1.0 if zoom is None else zoom)
        if tile_hw is not None:
            parts = []
            for x1, y1, x2, y2 in tile_grid((fh, fw), tile_hw, self.config.tile_overlap):
                raw, scale = self._infer(frame[y1:y2, x1:x2], threshold)
                if len(raw.boxes):
                    raw.boxes[:, [0, 2]] += x1
                    raw.boxes[:, [1, 3]] += y1
                    parts.append(raw)
            raw = (
                RawDetections(*(np.concatenate(a) for a in zip(*parts, strict=True)))
                if parts
                else RawDetections.empty()
            )
            mode = "ios"  # merges a box cut at a seam with its whole twin from the next tile
        else:  # a frame at a known scale keeps it (padded if smaller than the view); else it fits
            fixed = None if zoom is None else self._trained_scale() * zoom
            raw, scale = self._infer(frame, threshold, fixed)
            mode = self.config.nms_overlap
        keep = nms(raw.boxes, raw.scores, raw.classes, self.config.nms_iou, mode, self.config.max_detections)
        found = RawDetections(raw.boxes[keep], raw.scores[keep], raw.classes[keep])
        second = None
        if self.verifier is not None and len(keep):
            # windows cut at the scale the detector just saw the frame at, relative to its trained
            # one (a 960x540 frame fitted to the input: as 1080p ones; a tile: as they are)
            second = self.verifier(frame, found.boxes, scale=scale / self._trained_scale())
        return Candidates(found, second, (fw, fh), mode)

    def decide(
        self,
        cands: Candidates,
        detector_weight: float | None = None,
        class_weights: tuple[float, ...] | None = None,
    ) -> list[Detection]:
        """The detections ``cands`` give at this detector's threshold; ``detector_weight`` and
        ``class_weights`` override the verifier's (``combine``, ``decide_class``), so an
        operating-point search re-decides without re-running."""
        boxes, scores, classes = cands.found.boxes, cands.found.scores, cands.found.classes
        if cands.second is not None and self.verifier is not None:
            p_debris, p_class, boxes = cands.second
            w = self.verifier.spec.detector_weight if detector_weight is None else detector_weight
            scores = combine(scores, p_debris, w)
            cw = self.verifier.spec.class_weights if class_weights is None else class_weights
            classes = decide_class(p_class, cw)
            above = scores > self.score_threshold
            boxes, scores, classes = boxes[above], scores[above], classes[above]
            # redrawn boxes of two peaks on one item (a long mat) may now coincide
            order = nms(boxes, scores, classes, self.config.nms_iou, cands.mode, self.config.max_detections)
            boxes, scores, classes = boxes[order], scores[order], classes[order]
        fw, fh = cands.frame_wh
        dets = []
        for i in range(len(boxes)):
            x1, y1, x2, y2 = (float(v) for v in boxes[i])
            x1, y1, x2, y2 = max(0.0, x1), max(0.0, y1), min(float(fw), x2), min(float(fh), y2)
            if x2 <= x1 or y2 <= y1:  # the verifier put the item past the frame's edge: nothing here
                metrics.OFF_FRAME.inc()
                continue
            cls = int(classes[i])
            dets.append(
                Detection(
                    x1=x1,
                    y1=y1,
                    x2=x2,
                    y2=y2,
                    score=float(scores[i]),
                    class_index=cls,
                    class_name=self.spec.names[cls],
                )
            )
            metrics.DETECTIONS.labels(debris_class=self.spec.names[cls]).inc()
        return dets
