"""RiverNet: a CenterNet-style heatmap detector sized for small debris in big frames on 2 CPU cores.

Why this shape: debris is 5-30 px after halving a 1080p frame, so the output grid is stride 4
(one cell ~ 0.2 m at 30 m AGL) and the stem strides twice early to keep the 960x544 input cheap.
Most capacity sits at strides 8 and 16, where a position costs 4-16x less than at stride 4 and
sees several metres of water: that context is what tells a bottle from a sun glint, a wake or a
bird's shadow. A small FPN brings it back to stride 4. Depthwise-separable residual blocks keep
the whole net near 0.2 M parameters. No NMS in the graph: peaks are 3x3 local maxima.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

STRIDE = 4
#: The shipped architecture (``RiverNet(**DEFAULT_CONFIG)``); ``config`` is stored in the ONNX metadata.
DEFAULT_CONFIG: dict[str, Any] = {"c1": 16, "c2": 32, "c3": 64, "c4": 128, "n2": 2, "n3": 3, "n4": 3}


def conv_bn_relu(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


def dw_down(cin: int, cout: int) -> nn.Sequential:
    """Stride-2 depthwise 3x3 then pointwise: halves resolution for ~1/9 of a full conv's cost."""
    return nn.Sequential(conv_bn_relu(cin, cin, 3, 2, groups=cin), conv_bn_relu(cin, cout, 1))


class DWBlock(nn.Module):
    """Residual depthwise-separable block: 3x3 spatial context for the cost of a 1x1 conv."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv_bn_relu(c, c, 3, 1, groups=c), nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c)
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


class RiverNet(nn.Module):
    """Raw head at stride 4: objectness logit, ``nc`` class logits, log box size (cells) x/y, offset logits.

    Objectness and class are separate heads: whether something floats there is learnt from every
    item, and a bag/styrofoam/foam mix-up cannot split one item's score across three heatmaps.
    """

    def __init__(
        self,
        num_classes: int,
        c1: int = 16,
        c2: int = 32,
        c3: int = 64,
        c4: int = 128,
        n2: int = 2,
        n3: int = 3,
        n4: int = 3,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.stem = nn.Sequential(conv_bn_relu(3, c1, 3, 2), conv_bn_relu(c1, c2, 3, 2))
        self.stage4 = nn.Sequential(*[DWBlock(c2) for _ in range(n2)])
        self.stage8 = nn.Sequential(dw_down(c2, c3), *[DWBlock(c3) for _ in range(n3)])
        self.stage16 = nn.Sequential(dw_down(c3, c4), *[DWBlock(c4) for _ in range(n4)])
        self.lat16 = nn.Conv2d(c4, c3, 1)
        self.fuse8 = DWBlock(c3)
        self.lat8 = nn.Conv2d(c3, c2, 1)
        self.fuse4 = DWBlock(c2)
        self.obj = nn.Conv2d(c2, 1, 1)
        self.cls = nn.Conv2d(c2, num_classes, 1)
        self.box = nn.Conv2d(c2, 4, 1)
        nn.init.constant_(self.obj.bias, -4.6)  # prior ~1% so early training is not flooded
        self.config = {"c1": c1, "c2": c2, "c3": c3, "c4": c4, "n2": n2, "n3": n3, "n4": n4}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = nn.functional.interpolate
        a = self.stage4(self.stem(x))
        b = self.stage8(a)
        c = self.stage16(b)
        b = self.fuse8(b + up(self.lat16(c), scale_factor=2.0, mode="nearest"))
        f = self.fuse4(a + up(self.lat8(b), scale_factor=2.0, mode="nearest"))
        return torch.cat([self.obj(f), self.cls(f), self.box(f)], dim=1)


class DecodedRiverNet(nn.Module):
    """Export wrapper: the runtime's ``centernet`` layout (class scores, box w/h in input px, offset).

    Class score = objectness x p(class) / p(best class): the best class at a cell carries the full
    objectness, so the runtime's threshold is a threshold on "is something there".
    """

    def __init__(self, net: RiverNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raw = self.net(x)
        nc = self.net.num_classes
        obj = torch.sigmoid(raw[:, :1])
        p = torch.softmax(raw[:, 1 : 1 + nc], dim=1)
        heat = obj * p / p.amax(dim=1, keepdim=True)
        wh = torch.exp(raw[:, 1 + nc : 3 + nc].clamp(-4.0, 6.0)) * STRIDE
        off = torch.sigmoid(raw[:, 3 + nc : 5 + nc])
        return torch.cat([heat, wh, off], dim=1)
