"""Export a trained RiverNet to ONNX (opset 17) with the metadata the edge runtime reads.

The metadata makes the file self-describing: class names, input size, output layout, stride,
the operating threshold chosen on validation data, and how it was built.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import onnx
import torch

from models.network import STRIDE, DecodedRiverNet, RiverNet

OPSET = 17
RIVERPATROL_FORMAT = "centernet-v1"  # must match edge.detect.spec.RIVERPATROL_FORMAT
OUTPUT_LAYOUT = (
    "out[1, nc+4, H/stride, W/stride]: channels 0..nc-1 per-class centre scores "
    "(objectness x p(class) / p(best class), so the best class carries the objectness); "
    "nc, nc+1 box width, height in input pixels; nc+2, nc+3 centre offset x, y in cells [0, 1). "
    "Detections are 3x3 local maxima of the best class score above score_threshold; no NMS in the graph."
)
INPUT_FORMAT = "images[1, 3, H, W] float32 RGB in [0, 1], letterboxed (keep aspect, centred, pad 114/255)"


def export_onnx(
    net: RiverNet,
    path: Path,
    names: tuple[str, ...],
    input_hw: tuple[int, int],
    native_frame_hw: tuple[int, int],
    score_threshold: float,
    version: str,
    extra: dict[str, Any] | None = None,
    gsd_m: float | None = None,
) -> Path:
    """Write ``path`` (fixed batch 1, fixed input size) and return it; ``gsd_m``: metres per pixel
    of a native frame at the water the model was trained around (metadata ``gsd_m``)."""
    net = net.eval().cpu()
    wrapper = DecodedRiverNet(net).eval()
    trace_to_onnx(wrapper, torch.zeros(1, 3, *input_hw), path, "images", "out")
    meta = {
        "riverpatrol_format": RIVERPATROL_FORMAT,
        "names": json.dumps(list(names)),
        "input_size": json.dumps(list(input_hw)),
        "native_frame_size": json.dumps(list(native_frame_hw)),
        "input_format": INPUT_FORMAT,
        "output_layout": OUTPUT_LAYOUT,
        "stride": str(STRIDE),
        "score_threshold": f"{score_threshold:.4f}",
        "model_version": version,
        "architecture": f"RiverNet CenterNet (objectness + class) stride {STRIDE} {json.dumps(net.config)}",
    }
    if gsd_m is not None:
        meta["gsd_m"] = f"{gsd_m:.5f}"
    return write_metadata(path, meta, extra)


def trace_to_onnx(
    module: torch.nn.Module,
    dummy: torch.Tensor,
    path: Path,
    input_name: str,
    output_name: str,
    batch_axis: bool = False,
) -> None:
    """Export ``module`` traced on ``dummy`` to ``path`` (opset 17); ``batch_axis``: dim 0 is dynamic."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        module,
        (dummy,),
        str(path),
        opset_version=OPSET,
        input_names=[input_name],
        output_names=[output_name],
        dynamic_axes={input_name: {0: "n"}, output_name: {0: "n"}} if batch_axis else None,
        do_constant_folding=True,
        dynamo=False,  # the TorchScript exporter folds BatchNorm and needs no onnxscript
    )


def average_models(paths: list[Path], out: Path) -> Path:
    """One ONNX file that runs the models at ``paths`` side by side on the same input and outputs the
    element-wise mean of their outputs (a deep ensemble: members trained with different seeds err
    on partly different inputs, so their mean can rank inputs better than any one of them).

    The models must have the same single input and output (names and shapes) and opset; each
    member's nodes and weights are renamed ``m<k>/...``. Metadata is the first model's: set the
    ensemble's own with ``write_metadata`` / ``set_metadata``.
    """
    from onnx import compose, helper

    models = [onnx.load(str(p)) for p in paths]
    if not models:
        raise ValueError("average_models: no models given")
    first = models[0]
    sig = [(i.name, i.type) for i in first.graph.input], [(o.name, o.type) for o in first.graph.output]
    if len(sig[0]) != 1 or len(sig[1]) != 1:
        raise ValueError(f"average_models: {paths[0]} must have one input and one output")
    for path, m in zip(paths[1:], models[1:], strict=True):
        other = [(i.name, i.type) for i in m.graph.input], [(o.name, o.type) for o in m.graph.output]
        if other != sig or list(m.opset_import) != list(first.opset_import):
            raise ValueError(f"average_models: {path} differs from {paths[0]} in input, output or opset")
    output_name = sig[1][0][0]
    nodes, weights, member_outputs = [], [], []
    for k, m in enumerate(models):
        renamed = compose.add_prefix(m, f"m{k}/", rename_inputs=False)
        nodes += renamed.graph.node
        weights += renamed.graph.initializer
        member_outputs.append(renamed.graph.output[0].name)
    nodes.append(helper.make_node("Mean", member_outputs, [output_name], name="ensemble_mean"))
    graph = helper.make_graph(
        nodes, "ensemble", list(first.graph.input), list(first.graph.output), initializer=weights
    )
    model = helper.make_model(graph, opset_imports=list(first.opset_import), ir_version=first.ir_version)
    for prop in first.metadata_props:
        model.metadata_props.add(key=prop.key, value=prop.value)
    onnx.checker.check_model(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out))
    return out


def write_metadata(path: Path, meta: dict[str, str], extra: dict[str, Any] | None = None) -> Path:
    """Replace an ONNX file's metadata with ``meta`` plus ``extra`` (non-strings as JSON), checked."""
    model = onnx.load(str(path))
    del model.metadata_props[:]
    for key, value in {
        **meta,
        **{k: v if isinstance(v, str) else json.dumps(v) for k, v in (extra or {}).items()},
    }.items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def set_metadata(path: Path, **values: str) -> None:
    """Add or replace metadata entries of an ONNX file in place (the weights are untouched)."""
    kept = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    write_metadata(path, {**kept, **values})
