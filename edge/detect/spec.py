"""What a model file is, read from its ONNX inputs, outputs and metadata (pure; no session here).

The shipped model declares itself in metadata (``riverpatrol_format``, ``names`` JSON list,
``input_size`` JSON ``[h, w]``, ``stride``, ``score_threshold``). Ultralytics exports carry
``names`` as a Python dict literal and ``imgsz`` as ``[h, w]``; a user's own YOLO export drops
in with ``model_format="ultralytics"`` or is recognised automatically.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from typing import Literal

from edge.detect.errors import ModelLoadError

ModelFormat = Literal["auto", "centernet", "ultralytics"]
RIVERPATROL_FORMAT = "centernet-v1"


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """Everything the runtime needs to feed a model and decode its output."""

    layout: Literal["centernet", "ultralytics"]
    names: tuple[str, ...]
    input_hw: tuple[int, int]
    input_name: str
    output_name: str
    stride: int = 1
    score_threshold: float | None = None
    version: str = "unknown"
    architecture: str = "unknown"
    native_frame_hw: tuple[int, int] | None = None  # frame size the model was trained to see whole
    verifier: str | None = None  # file name (beside the model) of its second-look verifier, if any
    gsd_m: float | None = None  # metres per pixel of a native frame at the water: the trained scale


def _parse_names(raw: str, where: str) -> tuple[str, ...]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError) as exc:
            raise ModelLoadError(f"{where}: metadata 'names' is neither JSON nor a Python literal") from exc
    if isinstance(value, dict):
        try:
            return tuple(str(value[k]) for k in sorted(value, key=int))
        except (TypeError, ValueError) as exc:
            raise ModelLoadError(f"{where}: metadata 'names' dict keys are not class indices") from exc
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ModelLoadError(f"{where}: metadata 'names' must be a list of strings or an index->name dict")


def _parse_gsd(raw: str | None, where: str) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0:  # NaN too
        raise ModelLoadError(f"{where}: metadata 'gsd_m' must be metres per pixel > 0, got {raw!r}")
    return value


def _parse_hw(raw: str, key: str, where: str) -> tuple[int, int]:
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError) as exc:
        raise ModelLoadError(f"{where}: metadata '{key}' is not a size: {raw!r}") from exc
    if isinstance(value, int):
        value = [value, value]
    if not (isinstance(value, list | tuple) and len(value) == 2 and all(isinstance(v, int) for v in value)):
        raise ModelLoadError(f"{where}: metadata '{key}' must be [h, w], got {raw!r}")
    return int(value[0]), int(value[1])


def _static(dim: object) -> int | None:
    return dim if isinstance(dim, int) and dim > 0 else None


def model_spec(
    where: str,
    inputs: list[tuple[str, list[object]]],
    outputs: list[tuple[str, list[object]]],
    metadata: dict[str, str],
    model_format: ModelFormat = "auto",
) -> ModelSpec:
    """Spec of a detector whose ``inputs``/``outputs`` are ``(name, shape)``; else ``ModelLoadError``."""
    if model_format not in ("auto", "centernet", "ultralytics"):
        raise ModelLoadError(f"{where}: unknown model format {model_format!r}")
    if len(inputs) != 1:
        raise ModelLoadError(f"{where}: a detector has one image input, this model has {len(inputs)}")
    in_name, in_shape = inputs[0]
    if len(in_shape) != 4 or _static(in_shape[1]) != 3:
        raise ModelLoadError(f"{where}: input '{in_name}' must be [1, 3, H, W], got {in_shape}")
    if len(outputs) < 1:
        raise ModelLoadError(f"{where}: model has no outputs")
    out_name, out_shape = outputs[0]

    layout = model_format
    if layout == "auto":
        if metadata.get("riverpatrol_format") == RIVERPATROL_FORMAT:
            layout = "centernet"
        elif len(out_shape) == 3:
            layout = "ultralytics"
        else:
            raise ModelLoadError(
                f"{where}: cannot tell the output layout of '{out_name}' {out_shape}; "
                "expected RiverPatrol metadata or an Ultralytics [1, 4+nc, N] output"
            )

    if layout == "centernet":
        if len(out_shape) != 4:
            raise ModelLoadError(
                f"{where}: centernet output '{out_name}' must be [1, nc+4, h, w]: {out_shape}"
            )
        for key in ("names", "input_size", "stride"):
            if key not in metadata:
                raise ModelLoadError(f"{where}: centernet model lacks metadata '{key}'")
        names = _parse_names(metadata["names"], where)
        channels = _static(out_shape[1])
        if channels is not None and channels != len(names) + 4:
            raise ModelLoadError(
                f"{where}: output '{out_name}' has {channels} channels, expected {len(names)} classes + 4"
            )
        input_hw = _parse_hw(metadata["input_size"], "input_size", where)
        try:
            stride = int(metadata["stride"])
            threshold = float(metadata["score_threshold"]) if "score_threshold" in metadata else None
        except ValueError as exc:
            raise ModelLoadError(f"{where}: metadata 'stride'/'score_threshold' not numeric") from exc
        return ModelSpec(
            layout="centernet",
            names=names,
            input_hw=input_hw,
            input_name=in_name,
            output_name=out_name,
            stride=stride,
            score_threshold=threshold,
            version=metadata.get("model_version", "unknown"),
            architecture=metadata.get("architecture", "unknown"),
            native_frame_hw=(
                _parse_hw(metadata["native_frame_size"], "native_frame_size", where)
                if "native_frame_size" in metadata
                else None
            ),
            verifier=metadata.get("verifier") or None,
            gsd_m=_parse_gsd(metadata.get("gsd_m"), where),
        )

    # ultralytics
    if len(out_shape) != 3:
        raise ModelLoadError(f"{where}: Ultralytics output '{out_name}' must be [1, 4+nc, N]: {out_shape}")
    rows = _static(out_shape[1])
    if "names" in metadata:
        names = _parse_names(metadata["names"], where)
    elif rows is not None and rows > 4:
        names = tuple(f"class{i}" for i in range(rows - 4))
    else:
        raise ModelLoadError(f"{where}: no metadata 'names' and output rows unknown; cannot tell the classes")
    if rows is not None and rows != len(names) + 4:
        raise ModelLoadError(f"{where}: output '{out_name}' has {rows} rows, not 4 + {len(names)} classes")
    if "imgsz" in metadata:
        input_hw = _parse_hw(metadata["imgsz"], "imgsz", where)
    elif _static(in_shape[2]) and _static(in_shape[3]):
        input_hw = (int(in_shape[2]), int(in_shape[3]))  # type: ignore[arg-type]
    else:
        raise ModelLoadError(f"{where}: dynamic input size and no metadata 'imgsz'")
    return ModelSpec(
        layout="ultralytics",
        names=names,
        input_hw=input_hw,
        input_name=in_name,
        output_name=out_name,
        version=metadata.get("version", "unknown"),
        architecture=metadata.get("description", "ultralytics"),
    )
