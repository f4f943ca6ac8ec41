"""Tiny hand-built ONNX graphs for runtime tests: real ONNX files run by real onnxruntime."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def constant_output_model(
    path: Path,
    output: np.ndarray,
    input_hw: tuple[int, int],
    metadata: dict[str, str],
    output_name: str = "output0",
) -> Path:
    """A model with an image input whose output is ``output`` plus 0 x mean(input) (so it uses its input)."""
    inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, *input_hw])
    out = helper.make_tensor_value_info(output_name, TensorProto.FLOAT, list(output.shape))
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m"], keepdims=0),
        helper.make_node("Mul", ["m", "zero"], ["z"]),
        helper.make_node("Add", ["const", "z"], [output_name]),
    ]
    inits = [
        numpy_helper.from_array(output.astype(np.float32), "const"),
        numpy_helper.from_array(np.zeros((), np.float32), "zero"),
    ]
    graph = helper.make_graph(nodes, "const_detector", [inp], [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    for k, v in metadata.items():
        model.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def not_a_detector_model(path: Path) -> Path:
    """A valid ONNX model that is no image detector: a vector in, a vector out."""
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 10])
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "relu", [inp], [out])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))
    return path


def bright_blob_centernet(
    path: Path, input_hw: tuple[int, int], box_px: float, extra_meta: dict[str, str] | None = None
) -> Path:
    """A one-class ``centernet``-layout model whose heatmap is blurred brightness at stride 4.

    A white square on black gives a peak at the square with a ``box_px`` box: a deterministic
    detector for testing tiling, seams and NMS with real onnxruntime.
    """
    h, w = input_hw
    gh, gw = h // 4, w // 4
    inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, h, w])
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 5, gh, gw])
    box = np.zeros((1, 4, gh, gw), np.float32)
    box[0, :2] = box_px
    box[0, 2:] = 0.5
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["gray"], axes=[1], keepdims=1),
        helper.make_node("AveragePool", ["gray"], ["cells"], kernel_shape=[4, 4], strides=[4, 4]),
        # a 5x5-cell blur turns a square's flat patch into one peak at its centre
        helper.make_node("AveragePool", ["cells"], ["heat"], kernel_shape=[5, 5], pads=[2, 2, 2, 2]),
        helper.make_node("Concat", ["heat", "box"], ["out"], axis=1),
    ]
    graph = helper.make_graph(nodes, "blob", [inp], [out], [numpy_helper.from_array(box, "box")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    meta = {
        "riverpatrol_format": "centernet-v1",
        "names": '["blob"]',
        "input_size": f"[{h}, {w}]",
        "native_frame_size": f"[{2 * h}, {2 * w}]",
        "stride": "4",
        "score_threshold": "0.5",
        **(extra_meta or {}),
    }
    for k, v in meta.items():
        model.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def red_verifier(
    path: Path,
    names: list[str],
    crop: int = 16,
    proposal_threshold: float = 0.05,
    detector_weight: str | None = None,
    channel: int = 0,
) -> Path:
    """A ``verifier-v1`` model whose p(debris) is the reddest pixel of the crop (channel 0 is R;
    ``channel=2``: the bluest, a verifier that believes the opposite).

    With ``bright_blob_centernet`` (which sees grey level only) a red and a blue square score the
    same for the detector; this verifier keeps the red one and vetoes the blue one.
    """
    nc = len(names)
    inp = helper.make_tensor_value_info("crops", TensorProto.FLOAT, ["n", 4, crop, crop])
    out = helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["n", 1 + nc])
    nodes = [
        helper.make_node("Slice", ["crops", "c0", "c1", "axis1"], ["red"]),
        helper.make_node("ReduceMax", ["red"], ["p4"], axes=[2, 3], keepdims=0),  # [n, 1]
        helper.make_node("Mul", ["p4", "zero"], ["z"]),
        helper.make_node("Add", ["z", "uniform"], ["u"]),
        helper.make_node("Concat", ["p4", *["u"] * nc], ["probs"], axis=1),
    ]
    inits = [
        numpy_helper.from_array(np.array([channel], np.int64), "c0"),
        numpy_helper.from_array(np.array([channel + 1], np.int64), "c1"),
        numpy_helper.from_array(np.array([1], np.int64), "axis1"),
        numpy_helper.from_array(np.zeros((), np.float32), "zero"),
        numpy_helper.from_array(np.array(1.0 / nc, np.float32), "uniform"),
    ]
    graph = helper.make_graph(nodes, "red_verifier", [inp], [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    meta = {
        "riverpatrol_format": "verifier-v1",
        "names": json.dumps(names),
        "crop": str(crop),
        "context": "2.0",
        "min_side": "8",
        "max_side": "256",
        "proposal_threshold": str(proposal_threshold),
        "score_threshold": "0.3",
    }
    if detector_weight is not None:  # absent: the runtime's default (geometric mean)
        meta["detector_weight"] = detector_weight
    for k, v in meta.items():
        model.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
