"""RiverNet-tiny: a CenterNet-style heatmap detector sized for small debris in big frames on 2 CPU cores.

Why this shape: debris is 5-30 px after halving a 1080p frame, so the output grid is stride 4
(one cell ~ 0.2 m at 30 m AGL) and the stem strides twice early to keep the 960x544 input cheap;
a stride-8 branch adds context (banks, foam lines, glints) and is added back at stride 4. Depthwise
residual blocks keep it at ~50 k parameters. No NMS in the graph: peaks are 3x3 local maxima.
"""

from __future__ import annotations

import torch
from torch import nn

STRIDE = 4


def conv_bn_relu(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


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
    """Raw head: ``nc`` heatmap logits, log box size (cells) x/y, offset logits x/y at stride 4."""

    def __init__(
        self, num_classes: int, c1: int = 12, c2: int = 32, c3: int = 64, n2: int = 2, n3: int = 2
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.stem = nn.Sequential(conv_bn_relu(3, c1, 3, 2), conv_bn_relu(c1, c2, 3, 2))
        self.stage4 = nn.Sequential(*[DWBlock(c2) for _ in range(n2)])
        self.down = conv_bn_relu(c2, c3, 3, 2)
        self.stage8 = nn.Sequential(*[DWBlock(c3) for _ in range(n3)])
        self.lateral = nn.Conv2d(c3, c2, 1)
        self.neck = conv_bn_relu(c2, c2, 3)
        self.heat = nn.Conv2d(c2, num_classes, 1)
        self.box = nn.Conv2d(c2, 4, 1)
        nn.init.constant_(self.heat.bias, -4.6)  # prior ~1% so early training is not flooded
        self.config = {"c1": c1, "c2": c2, "c3": c3, "n2": n2, "n3": n3}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.stage4(self.stem(x))
        b = self.stage8(self.down(a))
        f = self.neck(a + nn.functional.interpolate(self.lateral(b), scale_factor=2.0, mode="nearest"))
        return torch.cat([self.heat(f), self.box(f)], dim=1)


class DecodedRiverNet(nn.Module):
    """Export wrapper: the runtime's ``centernet`` layout (sigmoid heat, box w/h in input px, offset)."""

    def __init__(self, net: RiverNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raw = self.net(x)
        nc = self.net.num_classes
        heat = torch.sigmoid(raw[:, :nc])
        wh = torch.exp(raw[:, nc : nc + 2].clamp(-4.0, 6.0)) * STRIDE
        off = torch.sigmoid(raw[:, nc + 2 : nc + 4])
        return torch.cat([heat, wh, off], dim=1)
