"""YOLOv8 rebuilt in plain torch from Ultralytics' own ``yolov8.yaml``: the speed baseline.

Why not ``import ultralytics``: it imports torchvision (no CPU build for our torch here),
Pillow and matplotlib. The architecture is data (the yaml shipped in the ``ultralytics``
wheel, installed with ``pip install ultralytics --no-deps``); the handful of modules it names
(Conv, C2f, SPPF, Detect with DFL, legacy v8 head) are re-implemented below with the same
channel/depth scaling, so the exported graph has YOLOv8n's layers, parameters (3,157,200
at 80 classes) and its ``[1, 4 + nc, N]`` output layout. Weights are random: it is timed, not scored.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import torch
import yaml
from torch import nn


def ultralytics_yaml(name: str = "yolov8.yaml") -> Path:
    """Path of a model yaml inside the installed ``ultralytics`` package, without importing it."""
    spec = importlib.util.find_spec("ultralytics")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package 'ultralytics' is not installed (pip install ultralytics --no-deps)")
    path = Path(next(iter(spec.submodule_search_locations))) / "cfg" / "models" / "v8" / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found in the installed ultralytics package")
    return path


def _div8(x: float) -> int:
    return math.ceil(x / 8) * 8


class Conv(nn.Module):
    def __init__(self, c1: int, c2: int, k: int = 1, s: int = 1, g: int = 1, act: bool = True) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, groups=g, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU() if act else nn.Identity()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c1: int, c2: int, shortcut: bool) -> None:
        super().__init__()
        self.cv1 = Conv(c1, c2, 3)
        self.cv2 = Conv(c2, c2, 3)
        self.add = shortcut and c1 == c2

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    def __init__(self, c1: int, c2: int, n: int = 1, shortcut: bool = False) -> None:
        super().__init__()
        self.c = int(c2 * 0.5)
        self.cv1 = Conv(c1, 2 * self.c, 1)
        self.cv2 = Conv((2 + n) * self.c, c2, 1)
        self.m = nn.ModuleList(Bottleneck(self.c, self.c, shortcut) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).chunk(2, 1))
        y.extend(m(y[-1]) for m in self.m)
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, c1: int, c2: int, k: int = 5) -> None:
        super().__init__()
        c_ = c1 // 2
        self.cv1 = Conv(c1, c_, 1, act=False)
        self.cv2 = Conv(c_ * 4, c2, 1)
        self.m = nn.MaxPool2d(k, 1, k // 2)

    def forward(self, x):
        y = [self.cv1(x)]
        y.extend(self.m(y[-1]) for _ in range(3))
        return self.cv2(torch.cat(y, 1))


class Concat(nn.Module):
    def forward(self, xs):
        return torch.cat(xs, 1)


class Detect(nn.Module):
    """Anchor-free decoupled head with DFL; output ``[B, 4 + nc, N]``: cx, cy, w, h px, sigmoid scores."""

    def __init__(self, nc: int, ch: list[int], strides: list[int], reg_max: int = 16) -> None:
        super().__init__()
        self.nc, self.reg_max, self.strides = nc, reg_max, strides
        c2, c3 = max(16, ch[0] // 4, reg_max * 4), max(ch[0], min(nc, 100))
        self.cv2 = nn.ModuleList(
            nn.Sequential(Conv(x, c2, 3), Conv(c2, c2, 3), nn.Conv2d(c2, 4 * reg_max, 1)) for x in ch
        )
        self.cv3 = nn.ModuleList(
            nn.Sequential(Conv(x, c3, 3), Conv(c3, c3, 3), nn.Conv2d(c3, nc, 1)) for x in ch
        )
        self.dfl = nn.Conv2d(reg_max, 1, 1, bias=False).requires_grad_(False)
        self.dfl.weight.data[:] = torch.arange(reg_max, dtype=torch.float).view(1, reg_max, 1, 1)

    def forward(self, xs):
        b = xs[0].shape[0]
        box = torch.cat([self.cv2[i](x).view(b, 4 * self.reg_max, -1) for i, x in enumerate(xs)], -1)
        cls = torch.cat([self.cv3[i](x).view(b, self.nc, -1) for i, x in enumerate(xs)], -1)
        anchors, strides = [], []
        for x, s in zip(xs, self.strides, strict=True):
            h, w = x.shape[2:]
            sy, sx = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing="ij")
            anchors.append(torch.stack((sx, sy), -1).view(-1, 2))
            strides.append(torch.full((h * w, 1), float(s)))
        anchor = torch.cat(anchors).transpose(0, 1).unsqueeze(0)
        stride = torch.cat(strides).transpose(0, 1)
        a = box.shape[-1]
        dist = self.dfl(box.view(b, 4, self.reg_max, a).transpose(2, 1).softmax(1)).view(b, 4, a)
        lt, rb = dist.chunk(2, 1)
        x1y1, x2y2 = anchor - lt, anchor + rb
        xywh = torch.cat(((x1y1 + x2y2) / 2, x2y2 - x1y1), 1) * stride
        return torch.cat((xywh, cls.sigmoid()), 1)


class YoloV8(nn.Module):
    def __init__(self, cfg: dict, scale: str = "n", nc: int | None = None) -> None:
        super().__init__()
        depth, width, max_ch = cfg["scales"][scale]
        nc = nc or cfg["nc"]
        # ch/strides: output channels and stride of every layer so far, seeded with the image (3, 1)
        # and dropped after layer 0 so indices in the yaml's "from" column line up with layers.
        ch, layers, self.froms = [3], [], []
        stride, strides = 1, [1]
        for i, (f, n, m, args) in enumerate(cfg["backbone"] + cfg["head"]):
            n = max(round(n * depth), 1) if n > 1 else n
            if m == "Conv":
                c2 = _div8(min(args[0], max_ch) * width)
                mod = Conv(ch[f], c2, args[1], args[2])
                stride = strides[f] * args[2]
            elif m == "C2f":
                c2 = _div8(min(args[0], max_ch) * width)
                mod = C2f(ch[f], c2, n, bool(args[1]) if len(args) > 1 else False)
                stride = strides[f]
            elif m == "SPPF":
                c2 = _div8(min(args[0], max_ch) * width)
                mod = SPPF(ch[f], c2, args[1])
                stride = strides[f]
            elif m == "nn.Upsample":
                c2, mod = ch[f], nn.Upsample(None, args[1], args[2])
                stride = strides[f] // args[1]
            elif m == "Concat":
                c2, mod = sum(ch[x] for x in f), Concat()
                stride = strides[f[0]]
            elif m == "Detect":
                mod = Detect(nc, [ch[x] for x in f], [strides[x] for x in f])
                c2, stride = 0, 0
            else:
                raise ValueError(f"yolov8 yaml: module {m!r} is not re-implemented here")
            layers.append(mod)
            self.froms.append(f)
            if i == 0:
                ch, strides = [], []
            ch.append(c2)
            strides.append(stride)
        self.layers = nn.ModuleList(layers)
        self.nc = nc

    def forward(self, x):
        outs: list[torch.Tensor] = []
        for f, m in zip(self.froms, self.layers, strict=True):
            x = m(
                [outs[j] if j != -1 else x for j in f] if isinstance(f, list) else x if f == -1 else outs[f]
            )
            outs.append(x)
        return x


def build_yolov8n(nc: int | None = None, seed: int = 0) -> YoloV8:
    """YOLOv8n (random weights, eval mode) from the yaml in the installed ultralytics package."""
    torch.manual_seed(seed)
    cfg = yaml.safe_load(ultralytics_yaml().read_text())
    return YoloV8(cfg, "n", nc).eval()


def export_yolov8n(path: Path, imgsz: int = 640, nc: int | None = None) -> Path:
    """ONNX (opset 17) of YOLOv8n at ``imgsz`` with Ultralytics-style metadata (``names``, ``imgsz``)."""
    import onnx

    net = build_yolov8n(nc)
    torch.onnx.export(
        net,
        (torch.zeros(1, 3, imgsz, imgsz),),
        str(path),
        opset_version=17,
        input_names=["images"],
        output_names=["output0"],
        dynamo=False,
    )
    model = onnx.load(str(path))
    names = {i: f"class{i}" for i in range(net.nc)}
    for k, v in {
        "names": str(names),
        "imgsz": f"[{imgsz}, {imgsz}]",
        "description": "YOLOv8n random",
    }.items():
        model.metadata_props.add(key=k, value=v)
    onnx.save(model, str(path))
    return path
