"""On-board debris detector: ONNX model in, typed detections in frame pixels out.

Use ``Detector(DetectorConfig(...)).detect(frame)``; the shipped model is
``models/riverpatrol_debris.onnx`` and a user's Ultralytics YOLO export drops in unchanged.
The shipped model names a second-look verifier (``models/riverpatrol_verifier.onnx``, see
``edge.detect.verify``) that re-scores, re-classes and redraws each candidate from the
full-resolution frame; ``DetectorConfig(verifier="off")`` runs the detector alone.
"""

from edge.detect.config import DEFAULT_MODEL, DetectorConfig
from edge.detect.detection import Detection
from edge.detect.detector import Detector, validate_frame
from edge.detect.errors import DetectorError, FrameError, ModelLoadError

__all__ = [
    "DEFAULT_MODEL",
    "Detection",
    "Detector",
    "DetectorConfig",
    "DetectorError",
    "FrameError",
    "ModelLoadError",
    "validate_frame",
]
