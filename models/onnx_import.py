"""Read a RiverNet back out of its ONNX export, so training can go on from a shipped model.

The export (``models.export``) folds each BatchNorm into the convolution before it, and the
``.onnx`` is what ships; the torch weights of a GPU run stay on the machine that made them. The
graph's convolutions come in the order the network runs them, so they map one to one onto a
fresh ``RiverNet``'s; a folded BatchNorm is put back as the identity carrying the folded bias.
The network it returns computes the same outputs in eval mode (tested to float tolerance);
fine-tune it with its BatchNorm statistics frozen (``models.train.TrainConfig.freeze_bn``).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.network import RiverNet


def architecture(meta: dict[str, str]) -> dict:
    """RiverNet's config from the export's ``architecture`` metadata (its JSON part)."""
    text = meta.get("architecture", "")
    if not text.startswith("RiverNet") or "{" not in text:
        raise ValueError(f"not a RiverNet export (architecture {text!r})")
    return json.loads(text[text.index("{") :])


def _conv_order(net: nn.Module, input_hw: tuple[int, int]) -> list[nn.Conv2d]:
    order: list[nn.Conv2d] = []
    hooks = [
        m.register_forward_hook(lambda mod, *_: order.append(mod))
        for m in net.modules()
        if isinstance(m, nn.Conv2d)
    ]
    with torch.no_grad():
        net(torch.zeros(1, 3, *input_hw))
    for h in hooks:
        h.remove()
    return order


def _bn_after(net: nn.Module) -> dict[nn.Conv2d, nn.BatchNorm2d]:
    out = {}
    for seq in net.modules():
        if isinstance(seq, nn.Sequential):
            mods = list(seq)
            for a, b in itertools.pairwise(mods):
                if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d):
                    out[a] = b
    return out


def rivernet_from_onnx(path: Path) -> tuple[RiverNet, dict[str, str]]:
    """The ``RiverNet`` (eval mode) whose export is ``path``, and the export's metadata.

    ``ValueError`` when the file is not a RiverNet export or its graph does not fit the network
    its metadata names.
    """
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    meta = {p.key: p.value for p in model.metadata_props}
    config = architecture(meta)
    names = json.loads(meta.get("names", "[]"))
    net = RiverNet(len(names), **config).eval()
    tensors = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    for node in model.graph.node:  # weights may also sit in Constant nodes
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            tensors[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    nodes = [n for n in model.graph.node if n.op_type == "Conv"]
    convs = _conv_order(net, (64, 64))
    if len(nodes) != len(convs):
        raise ValueError(
            f"{path}: {len(nodes)} convolutions in the graph, {len(convs)} in {meta['architecture']}"
        )
    bn_after = _bn_after(net)
    with torch.no_grad():
        for k, (conv, node) in enumerate(zip(convs, nodes, strict=True)):
            w = tensors[node.input[1]]
            b = (
                tensors[node.input[2]]
                if len(node.input) > 2 and node.input[2]
                else np.zeros(w.shape[0], np.float32)
            )
            if tuple(w.shape) != tuple(conv.weight.shape):
                raise ValueError(
                    f"{path}: convolution {k} is {w.shape}, the network's {tuple(conv.weight.shape)}"
                )
            conv.weight.copy_(torch.from_numpy(w.copy()))
            if conv in bn_after:
                bn = bn_after[conv]
                bn.weight.fill_(1.0)
                bn.bias.copy_(torch.from_numpy(b.copy()))
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)
            elif conv.bias is not None:
                conv.bias.copy_(torch.from_numpy(b.copy()))
            elif np.any(b):
                raise ValueError(f"{path}: convolution {k} has a bias the network has no place for")
    return net, meta


def init_from_onnx(path: Path) -> dict:
    """A training start (``models.train.train``'s ``init``) from a RiverNet export: its config,
    state dict and what its metadata says of how it was trained. Train it with ``freeze_bn``."""
    net, meta = rivernet_from_onnx(path)
    steps = meta.get("train_steps", "0")
    return {
        "config": net.config,
        "state_dict": net.state_dict(),
        "train": {
            "from_onnx": Path(path).name,
            "model_version": meta.get("model_version"),
            "steps_done": int(steps) if steps.isdigit() else 0,
        },
    }
