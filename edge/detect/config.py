"""Detector options as a pydantic model, so the edge agent's settings can nest it under ``[edge.detect]``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from edge.detect.spec import ModelFormat

# The shipped model lives in the repository's ``models/`` folder (a file, not an import).
DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "models" / "riverpatrol_debris.onnx"


class DetectorConfig(BaseModel):
    """How to load and run the detector; defaults fit the shipped model on a 2-core companion computer."""

    model_config = ConfigDict(extra="forbid")

    model_path: Path = DEFAULT_MODEL
    model_format: ModelFormat = "auto"
    threads: int = Field(default=2, ge=1, description="onnxruntime intra-op threads.")
    score_threshold: float | None = Field(
        default=None, gt=0, lt=1, description="None: the operating threshold stored in the model (else 0.25)."
    )
    nms_iou: float = Field(default=0.5, gt=0, le=1)
    nms_overlap: Literal["iou", "ios"] = Field(
        default="ios",
        description="ios (intersection over the smaller box) also removes a second peak inside a large item.",
    )
    max_detections: int = Field(default=300, ge=1)
    tile: Literal["off", "on", "auto"] = Field(
        default="auto", description="auto: tile frames much larger than the model's native frame size."
    )
    tile_size: tuple[int, int] | None = Field(
        default=None, description="Tile (h, w) in frame pixels; None: the model's native frame size."
    )
    tile_overlap: float = Field(default=0.2, ge=0, lt=1)
    model_gsd_m: float | None = Field(
        default=None,
        gt=0,
        description="Metres per pixel of a native frame at the water, the scale the model was trained "
        "at; None: the model's metadata gsd_m. With it, frames whose own GSD is given are run at it.",
    )
    gsd_tolerance: float = Field(
        default=1.5,
        ge=1,
        description="Frames within this factor of the model's GSD run as they come: the shipped "
        "model trained on 20-45 m (0.67-1.5x its 30 m GSD) and its operating point was chosen so; "
        "beyond it a frame is shrunk (cheaper) or enlarged and tiled (zoom^2 the passes).",
    )
    verifier: Literal["auto", "off"] = Field(
        default="auto",
        description="auto: take a second look at each candidate with the verifier the model names "
        "in its metadata (or verifier_path); off: the detector's scores alone.",
    )
    verifier_path: Path | None = Field(default=None, description="A verifier other than the model's own.")
