"""Prometheus metrics of the detector (process-wide; the edge agent exposes the default registry)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

FRAMES = Counter("riverpatrol_detect_frames_total", "Frames run through the detector.")
REJECTED_FRAMES = Counter(
    "riverpatrol_detect_rejected_frames_total",
    "Frames refused as empty, corrupt or wrong shape/dtype.",
    ["reason"],
)
DETECTIONS = Counter(
    "riverpatrol_detect_detections_total", "Detections returned, per class.", ["debris_class"]
)
OFF_FRAME = Counter(
    "riverpatrol_detect_off_frame_boxes_total",
    "Boxes dropped because none of them lies inside the frame (a redrawn box past its edge).",
)
LATENCY = Histogram(
    "riverpatrol_detect_frame_seconds",
    "Wall time per frame: preprocessing, inference (all tiles) and decoding.",
    buckets=(0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0),
)
PASSES = Counter(
    "riverpatrol_detect_passes_total",
    "Model passes run (a tiled frame takes several): over frames_total, the cost of the frames' scale.",
)
ZOOM = Gauge(
    "riverpatrol_detect_zoom",
    "How much the last frame was resized to the model's trained ground scale (1: run as it came).",
)
