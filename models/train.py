"""Train RiverNet on a YOLO-layout data set (CPU by default, CUDA when present), seeded.

Frames are downscaled once to the model's scale (the same INTER_AREA the runtime letterbox
uses), kept in memory, and sampled as random crops, most of them around an item so tiny debris
is seen often; flips, 90-degree turns (a nadir view has no "up"), scale, colour, hue, gamma,
blur, noise and JPEG jitter widen the look beyond the training water. Crops are made by
``loader_workers`` processes (each seeded from ``seed`` and its index) so a GPU is kept busy.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import nn

from models.network import DEFAULT_CONFIG, STRIDE, RiverNet
from models.targets import make_targets
from models.yolo_io import Sample

log = logging.getLogger("riverpatrol.models.train")


@dataclass(frozen=True, slots=True)
class TrainConfig:
    steps: int = 3000
    batch: int = 16
    crop: int = 256
    lr: float = 3e-3
    weight_decay: float = 1e-4
    object_crop_fraction: float = 0.55
    distractor_crop_fraction: float = 0.25  # hard negatives: glints, birds, wakes look like debris
    scale_jitter: tuple[float, float] = (0.75, 1.35)
    seed: int = 0
    threads: int = 2
    loader_workers: int = 0  # crop-making processes; 0 = in the training process
    time_budget_s: float | None = None  # fit ``steps`` to this wall time (measured after warm-up)
    freeze_bn: bool = False  # BatchNorm statistics kept (fine-tuning a model read from ONNX, small data)


@dataclass(frozen=True, slots=True)
class Scaled:
    image: np.ndarray  # uint8 BGR at model scale
    boxes: np.ndarray  # xyxy at model scale
    classes: np.ndarray
    distractors: np.ndarray  # xyxy at model scale of things that are not debris


def load_scaled(samples: list[Sample], scale: float) -> list[Scaled]:
    out = []
    for s in samples:
        img = cv2.imread(str(s.image_path), cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f"{s.image_path}: cannot decode image")
        h, w = img.shape[:2]
        img = cv2.resize(img, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        dis = np.asarray([d["box"] for d in s.meta.get("distractors", [])], np.float32).reshape(-1, 4)
        out.append(Scaled(img, s.boxes * scale, s.classes, dis * scale))
    return out


def _jpeg(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sometimes re-encode: other cameras compress harder than the renderer's 95."""
    if rng.random() < 0.25:
        ok, enc = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(40, 95))])
        if ok:
            return cv2.imdecode(enc, cv2.IMREAD_COLOR)
    return img


def photometric(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Colour, light and optics jitter on a ``[B, 3, H, W]`` RGB 0..1 batch, on its own device.

    Hue rotation about the grey axis and saturation (water colours never seen in training),
    per-channel gain and offset, contrast, gamma (low and high sun), blur and sensor noise.
    Done in torch so a GPU does it for the whole batch instead of the crop workers.
    """
    b, dev = x.shape[0], x.device

    def u(lo: float, hi: float, p: float = 1.0, neutral: float = 0.0) -> torch.Tensor:
        v = lo + (hi - lo) * torch.rand(b, device=dev, generator=gen)
        keep = torch.rand(b, device=dev, generator=gen) < p
        return torch.where(keep, v, torch.full_like(v, neutral)).view(b, 1, 1, 1)

    k = torch.full((3,), 3**-0.5, device=dev)
    cross = torch.tensor([[0, -1, 1], [1, 0, -1], [-1, 1, 0]], device=dev, dtype=x.dtype) * 3**-0.5
    theta = u(-0.42, 0.42, 0.5).view(b, 1, 1)  # up to ~24 degrees of hue
    rot = (
        torch.cos(theta) * torch.eye(3, device=dev)
        + torch.sin(theta) * cross
        + (1 - torch.cos(theta)) * torch.outer(k, k)
    )
    x = torch.einsum("bij,bjhw->bihw", rot, x)
    grey = x.mean(dim=1, keepdim=True)
    x = grey + (x - grey) * u(0.6, 1.5, 0.5, 1.0)
    gain = 0.65 + 0.7 * torch.rand(b, 3, 1, 1, device=dev, generator=gen)
    offset = 0.055 * torch.randn(b, 3, 1, 1, device=dev, generator=gen)
    x = x * gain + offset
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * u(0.6, 1.4) + mean
    x = x.clamp(0, 1) ** u(0.6, 1.6, 0.3, 1.0)
    sigma = 0.3 + 0.9 * float(torch.rand(1, device=dev, generator=gen).item())  # one blur per batch
    r = 2
    t = torch.arange(-r, r + 1, device=dev, dtype=x.dtype)
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = g / g.sum()
    blurred = nn.functional.conv2d(
        nn.functional.pad(x, (r, r, r, r), mode="replicate"),
        (g[:, None] * g[None, :]).expand(3, 1, -1, -1).contiguous(),
        groups=3,
    )
    x = torch.where(u(0, 1) < 0.3, blurred, x)
    x = x + torch.randn_like(x) * u(0.004, 0.027, 0.5)
    return x.clamp(0, 1)


def warmup_cosine(step: int, warmup: int, total: int, floor: float) -> float:
    """Learning-rate factor: linear warm-up over ``warmup`` steps, then cosine from 1 to ``floor``."""
    if step < warmup:
        return (step + 1) / warmup
    frac = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.5 * (1 + math.cos(math.pi * frac)) * (1 - floor) + floor


def sample_crop(
    data: list[Scaled], cfg: TrainConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One augmented ``crop x crop`` BGR image with its xyxy boxes and classes."""
    item = data[int(rng.integers(len(data)))]
    s = float(np.exp(rng.uniform(np.log(cfg.scale_jitter[0]), np.log(cfg.scale_jitter[1]))))
    src = max(8, round(cfg.crop / s))  # source window size, resized to crop
    h, w = item.image.shape[:2]
    u = rng.random()
    anchors = None
    if len(item.boxes) and u < cfg.object_crop_fraction:
        anchors = item.boxes
    elif len(item.distractors) and u < cfg.object_crop_fraction + cfg.distractor_crop_fraction:
        anchors = item.distractors
    if anchors is not None:
        b = anchors[int(rng.integers(len(anchors)))]
        cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
        x0 = int(np.clip(cx - rng.uniform(0.1, 0.9) * src, 0, max(0, w - src)))
        y0 = int(np.clip(cy - rng.uniform(0.1, 0.9) * src, 0, max(0, h - src)))
    else:
        x0 = int(rng.integers(0, max(1, w - src + 1)))
        y0 = int(rng.integers(0, max(1, h - src + 1)))
    window = item.image[y0 : y0 + src, x0 : x0 + src]
    canvas = np.full((src, src, 3), 114, np.uint8)
    canvas[: window.shape[0], : window.shape[1]] = window
    img = cv2.resize(
        canvas, (cfg.crop, cfg.crop), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    )
    k = cfg.crop / src
    boxes = (item.boxes - np.array([x0, y0, x0, y0], np.float32)) * k
    # keep items whose centre is inside the crop; clip their boxes to it
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    inside = (cx >= 0) & (cy >= 0) & (cx < cfg.crop) & (cy < cfg.crop)
    boxes, classes = np.clip(boxes[inside], 0, cfg.crop), item.classes[inside]
    if rng.random() < 0.5:
        img = img[:, ::-1]
        boxes = boxes[:, [2, 1, 0, 3]] * [-1, 1, -1, 1] + [cfg.crop, 0, cfg.crop, 0]
    if rng.random() < 0.5:
        img = img[::-1]
        boxes = boxes[:, [0, 3, 2, 1]] * [1, -1, 1, -1] + [0, cfg.crop, 0, cfg.crop]
    if rng.random() < 0.5:  # transpose = 90-degree turn combined with the flips above
        img = img.transpose(1, 0, 2)
        boxes = boxes[:, [1, 0, 3, 2]]
    return _jpeg(np.ascontiguousarray(img), rng), boxes.astype(np.float32), classes


def focal_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced pixel focal loss, normalized by the number of centres."""
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = target.eq(1).float()
    neg = 1 - pos
    pos_loss = torch.log(p) * (1 - p) ** 2 * pos
    neg_loss = torch.log(1 - p) * p**2 * (1 - target) ** 4 * neg
    n = pos.sum().clamp(min=1)
    return -(pos_loss.sum() + neg_loss.sum()) / n


def heat_losses(
    obj_logits: torch.Tensor, cls_logits: torch.Tensor, heat: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Objectness focal loss on the class-agnostic heatmap; class cross-entropy near item centres."""
    obj_target, label = heat.max(dim=1)
    l_obj = focal_loss(obj_logits[:, 0], obj_target)
    near = obj_target >= 0.5  # the centre and its closest cells: where a peak may land
    if not bool(near.any()):
        return l_obj, cls_logits.sum() * 0.0
    ce = nn.functional.cross_entropy(cls_logits, label, reduction="none")
    return l_obj, (ce * obj_target * near).sum() / (obj_target * near).sum()


def batch_tensors(data, cfg, rng, num_classes):
    imgs, heats, boxes, masks = [], [], [], []
    for _ in range(cfg.batch):
        img, b, c = sample_crop(data, cfg, rng)
        t = make_targets(b, c, (cfg.crop, cfg.crop), num_classes, STRIDE)
        imgs.append(img[:, :, ::-1].transpose(2, 0, 1))  # BGR -> RGB, CHW
        heats.append(t.heat)
        boxes.append(t.box)
        masks.append(t.mask)
    x = torch.from_numpy(np.ascontiguousarray(np.stack(imgs)))  # uint8: 4x less to move
    return (
        x,
        torch.from_numpy(np.stack(heats)),
        torch.from_numpy(np.stack(boxes)),
        torch.from_numpy(np.stack(masks)),
    )


class CropBatches(torch.utils.data.IterableDataset):
    """Endless training batches; each loader worker draws from its own seeded generator."""

    def __init__(self, data: list[Scaled], cfg: TrainConfig, num_classes: int) -> None:
        self.data, self.cfg, self.num_classes = data, cfg, num_classes

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.cfg.seed, info.id if info else 0])
        while True:
            yield batch_tensors(self.data, self.cfg, rng, self.num_classes)


def train(
    data: list[Scaled],
    num_classes: int,
    cfg: TrainConfig,
    progress=None,
    net_kwargs: dict | None = None,
    init: dict | None = None,
) -> tuple[RiverNet, dict]:
    """A trained network and a summary (loss curve, steps, seconds, device)."""
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cudnn.benchmark = True  # fixed crop size: let cuDNN pick its fastest kernels
    net = RiverNet(num_classes, **(init["config"] if init else net_kwargs or DEFAULT_CONFIG))
    if init is not None:  # fine-tune from a saved state dict
        net.load_state_dict(init["state_dict"])
    net = net.to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total = [cfg.steps]  # may shrink once, when a time budget is set and the pace is known
    warmup = max(1, min(500, cfg.steps // 20))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: warmup_cosine(step, warmup, total[0], 0.03))
    loader = torch.utils.data.DataLoader(
        CropBatches(data, cfg, num_classes),
        batch_size=None,
        num_workers=cfg.loader_workers,
        pin_memory=device.type == "cuda",
        prefetch_factor=4 if cfg.loader_workers else None,
        persistent_workers=False,
    )
    if cfg.loader_workers:
        # Set before the workers fork (setting it inside a forked child can deadlock OpenCV):
        # one thread per loader process, or N processes x N threads thrash.
        cv2.setNumThreads(1)
    batches = iter(loader)
    gen = torch.Generator(device=device)
    gen.manual_seed(cfg.seed)
    curve: list[tuple[int, float]] = []
    start, running = time.monotonic(), 0.0
    paced_from = start
    net.train()
    if cfg.freeze_bn:
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()
    step = 0
    while step < total[0]:
        if cfg.time_budget_s and step == 100:
            paced_from = time.monotonic()  # after loader start-up, which would skew the pace
        if cfg.time_budget_s and step == 300:
            now = time.monotonic()
            pace = (now - paced_from) / 200
            left = cfg.time_budget_s - (now - start)
            total[0] = min(cfg.steps, max(400, 300 + int(left / pace)))
            log.info("pace %.1f ms/step: %d steps fit %.0f s", pace * 1e3, total[0], cfg.time_budget_s)
        x, heat, box, mask = (t.to(device, non_blocking=True) for t in next(batches))
        raw = net(photometric(x.float() / 255.0, gen))
        l_heat, l_cls = heat_losses(raw[:, :1], raw[:, 1 : 1 + num_classes], heat)
        m = mask.unsqueeze(1)
        n = mask.sum().clamp(min=1)
        pred_box = torch.cat(
            [raw[:, 1 + num_classes : 3 + num_classes], torch.sigmoid(raw[:, 3 + num_classes :])], 1
        )
        l_box = (torch.abs(pred_box - box) * m).sum() / n
        loss = l_heat + l_cls + l_box
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
        opt.step()
        sched.step()
        running = 0.98 * running + 0.02 * loss.item() if step else loss.item()  # one sync a step
        if step % 500 == 0 or step == total[0] - 1:
            curve.append((step, round(running, 4)))
            log.info(
                "step=%d loss=%.4f obj=%.4f cls=%.4f box=%.4f",
                *(step, running, l_heat.item(), l_cls.item(), l_box.item()),
            )
        step += 1
        if progress is not None:
            progress(step, running, total[0])
    del batches, loader
    net.eval()
    return net.cpu(), {
        "steps_done": step,
        "loss_curve": curve,
        "seconds": round(time.monotonic() - start, 1),
        "device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu",
    }
