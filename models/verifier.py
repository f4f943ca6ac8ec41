"""Train the second-look verifier (``edge.detect.verify``) on the detector's own candidates.

    python -m models.verifier                 # mine, train (CPU: minutes), export, pick the threshold
    python -m models.verifier --steps 300 --frames 60 --out /tmp/v.onnx   # smoke run
    python -m models.verifier --keep-weights  # the shipped weights, operating point chosen again

Positives are the training split's items (the detector's hits on them and their labelled boxes,
jittered); negatives are the detector's candidates that are no item (birds, glints, wakes, bank
clutter) plus the split's labelled distractors and random water. All from the training split:
the validation splits choose the threshold, the held-out ones are only scored.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Annotated

import cv2
import numpy as np
import typer

from edge.detect.verify import VERIFIER_FORMAT, CropGeometry, box_targets, cut_windows, windows
from models.build import (
    DEFAULT_DATA,
    DEFAULT_OUT,
    VERIFIER_BALANCE_CLASSES,
    VERIFIER_FOCAL_GAMMA,
    VERIFIER_LOOK_JITTER,
    VERIFIER_MEMBERS,
    VERIFIER_MIX,
    VERIFIER_NAME,
    VERIFIER_NEGATIVE_KINDS,
    VERIFIER_OUTLIER_FRAMES,
    VERIFIER_SCENE_FRAMES,
    VERIFIER_STEPS,
    VERIFIER_WATER_NORM,
)
from sim.camera.scene import DISTRACTOR_KINDS

log = logging.getLogger("riverpatrol.models.verifier")

NOT_DEBRIS = -1
SHIPPED_GEOMETRY = CropGeometry()  # the shipped verifier's windows (--context, --crop, --min-side)
#: What a negative crop shows, when the split's ground truth says (``Crops.kind``): the sim's
#: distractor kinds and plain water. A candidate on none of them (bank clutter, a texture) is unknown.
NEGATIVE_KINDS: tuple[str, ...] = ("water", *DISTRACTOR_KINDS)
UNKNOWN_KIND = -1


@dataclass(frozen=True, slots=True)
class MineConfig:
    proposal_threshold: float = 0.2  # detector candidates mined (and looked at again at run time)
    jitter: float = 0.15  # centre shift and size change of the extra jittered copies (fraction of side)
    random_windows: int = 2  # plain-water negatives per frame
    bird_copies: int = 4  # extra jittered crops of each labelled bird: the false alarm that survives
    seed: int = 0


@dataclass(slots=True)
class Crops:
    """Verifier inputs and labels: ``x [N, 4, s, s]`` float16, ``label [N]`` class or ``NOT_DEBRIS``,
    ``box [N, 4]`` the item's box in the window (``edge.detect.verify.box_targets``; 0 if none),
    ``kind [N]`` what a negative shows (index in ``NEGATIVE_KINDS``, ``UNKNOWN_KIND`` for positives
    and unknown negatives; None: all unknown)."""

    x: np.ndarray
    label: np.ndarray
    box: np.ndarray
    kind: np.ndarray | None = None

    @property
    def positives(self) -> int:
        return int((self.label >= 0).sum())


def label_candidates(cand: np.ndarray, truth: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Class of the item each candidate box sits on, ``NOT_DEBRIS``, or -2 (too near an item to call)."""
    return match_candidates(cand, truth, classes)[0]


def match_candidates(
    cand: np.ndarray, truth: np.ndarray, classes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate: the label (see ``label_candidates``) and the index of the nearest item.

    A candidate is on an item when its centre lies within half the item's longer side (+3 px);
    within 1.5 sides it is ambiguous (part of a mat, an edge) and left out of training.
    """
    out = np.full(len(cand), NOT_DEBRIS, np.int64)
    if len(truth) == 0 or len(cand) == 0:
        return out, np.zeros(len(cand), np.int64)
    cc = (cand[:, :2] + cand[:, 2:]) / 2
    tc = (truth[:, :2] + truth[:, 2:]) / 2
    tside = np.maximum(truth[:, 2] - truth[:, 0], truth[:, 3] - truth[:, 1])
    d = np.linalg.norm(cc[:, None] - tc[None], axis=2) / np.maximum(tside[None], 1)
    near = d.argmin(axis=1)
    dmin = d[np.arange(len(cand)), near]
    hit = dmin * tside[near] <= tside[near] / 2 + 3
    out[hit] = classes[near[hit]]
    out[~hit & (dmin <= 1.5)] = -2
    return out, near


def distractor_kinds(cand: np.ndarray, distractors: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """Per candidate box: the kind (index in ``NEGATIVE_KINDS``) of the smallest distractor box its
    centre lies in, or ``UNKNOWN_KIND`` (a bird on a reflection is a bird)."""
    out = np.full(len(cand), UNKNOWN_KIND, np.int64)
    if len(cand) == 0 or len(distractors) == 0:
        return out
    cx, cy = (cand[:, 0] + cand[:, 2]) / 2, (cand[:, 1] + cand[:, 3]) / 2
    inside = (
        (cx[:, None] >= distractors[None, :, 0])
        & (cx[:, None] <= distractors[None, :, 2])
        & (cy[:, None] >= distractors[None, :, 1])
        & (cy[:, None] <= distractors[None, :, 3])
    )
    area = (distractors[:, 2] - distractors[:, 0]) * (distractors[:, 3] - distractors[:, 1])
    smallest = np.where(inside, area[None], np.inf).argmin(axis=1)
    hit = inside.any(axis=1)
    out[hit] = kinds[smallest[hit]]
    return out


def _jittered(boxes: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    if len(boxes) == 0:
        return boxes
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    shift = rng.uniform(-amount, amount, (len(boxes), 2)) * side[:, None]
    scale = np.exp(rng.uniform(-amount, amount, len(boxes)))
    cx = (boxes[:, 0] + boxes[:, 2]) / 2 + shift[:, 0]
    cy = (boxes[:, 1] + boxes[:, 3]) / 2 + shift[:, 1]
    w, h = w * scale, h * scale
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float32)


def mine(detector, samples: list, geometry: CropGeometry, cfg: MineConfig, progress=None) -> Crops:
    """Crops of every candidate, item and distractor of ``samples`` (``detector`` without a verifier)."""
    rng = np.random.default_rng(cfg.seed)
    xs, labels, targets, kinds = [], [], [], []
    water_kind, bird_kind = NEGATIVE_KINDS.index("water"), NEGATIVE_KINDS.index("bird")
    for s in samples:
        image = cv2.imread(str(s.image_path), cv2.IMREAD_COLOR)
        h, w = image.shape[:2]
        dets = detector.detect(image, where=str(s.image_path))
        cand = np.asarray([d.box for d in dets], np.float32).reshape(-1, 4)
        cand_label, cand_item = match_candidates(cand, s.boxes, s.classes)
        keep = cand_label != -2
        cand, cand_label, cand_item = cand[keep], cand_label[keep], cand_item[keep]
        all_dis = np.asarray([d["box"] for d in s.meta.get("distractors", [])], np.float32).reshape(-1, 4)
        all_kind = np.asarray(
            [NEGATIVE_KINDS.index(d["kind"]) for d in s.meta.get("distractors", [])], np.int64
        )
        clear = label_candidates(all_dis, s.boxes, s.classes) == NOT_DEBRIS
        birds = all_dis[clear & (all_kind == bird_kind)]
        dis = np.concatenate(
            [all_dis[clear], *(_jittered(birds, rng, cfg.jitter) for _ in range(cfg.bird_copies))]
        )
        dis_kind = np.concatenate([all_kind[clear], np.full(len(birds) * cfg.bird_copies, bird_kind)])
        side = rng.uniform(12, 80, cfg.random_windows)
        cx, cy = rng.uniform(0, w, cfg.random_windows), rng.uniform(0, h, cfg.random_windows)
        water = np.stack([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2], 1).astype(np.float32)
        water = water[label_candidates(water, s.boxes, s.classes) == NOT_DEBRIS]
        item_box = np.zeros((len(cand), 4), np.float32) if len(s.boxes) == 0 else s.boxes[cand_item]
        nothing = np.concatenate([dis, water])
        nothing_kind = np.concatenate([dis_kind, np.full(len(water), water_kind)])
        cand_kind = np.where(
            cand_label == NOT_DEBRIS, distractor_kinds(cand, all_dis, all_kind), UNKNOWN_KIND
        )
        unknown = np.full(len(s.boxes), UNKNOWN_KIND)
        groups = [  # (windows centred on these boxes, the item's true box, label, negative's kind)
            (cand, item_box, cand_label, cand_kind),
            (_jittered(cand, rng, cfg.jitter), item_box, cand_label, cand_kind),
            (s.boxes, s.boxes, s.classes, unknown),
            (_jittered(s.boxes, rng, cfg.jitter), s.boxes, s.classes, unknown),
            (nothing, np.zeros_like(nothing), np.full(len(nothing), NOT_DEBRIS), nothing_kind),
        ]
        boxes, truth_box, label, kind = (np.concatenate(column) for column in zip(*groups, strict=True))
        if len(boxes):
            wins = windows(boxes, geometry)
            xs.append(cut_windows(image, wins, geometry).astype(np.float16))
            labels.append(label.astype(np.int64))
            targets.append(np.where(label[:, None] >= 0, box_targets(truth_box, wins), 0))
            kinds.append(kind.astype(np.int64))
        if progress:
            progress()
    s = geometry.crop
    return Crops(
        np.concatenate(xs) if xs else np.zeros((0, 4, s, s), np.float16),
        np.concatenate(labels) if labels else np.zeros(0, np.int64),
        np.concatenate(targets).astype(np.float32) if targets else np.zeros((0, 4), np.float32),
        np.concatenate(kinds) if kinds else np.zeros(0, np.int64),
    )


# --- network and training (torch lives only below this line's imports inside functions) ---


def build_net(
    num_classes: int,
    widths: tuple[int, ...] = (32, 64, 128),
    water_norm: bool = False,
    mix: bool = False,
    kinds: int = 0,
    crop: int = SHIPPED_GEOMETRY.crop,
):
    """A small CNN: 4-channel crop -> p(debris) logit + class logits (avg- and max-pooled features).

    Each stage halves the crop (48 -> 24 -> 12 -> 6): even the first is twice as fine as the
    detector's stride-4 grid on a halved frame, and ~6 M multiply-adds per candidate keep the
    second look cheap on the drone and trainable on a CPU in minutes.

    ``mix``: each stage's depthwise conv is followed by a pointwise (1x1) one, so every stage mixes
    its channels twice, not once (a MobileNet block; ~30 % more multiply-adds).

    ``water_norm``: the net sees the crop relative to its own water (``WaterNorm``), inside the
    graph, so the runtime's input is unchanged.

    ``kinds``: that many more outputs, after the box, name what a negative shows
    (``NEGATIVE_KINDS``), trained only, never exported: the net is told a bird from a glint from
    water, not only "not debris".
    """
    import torch
    from torch import nn

    from models.network import conv_bn_relu

    class WaterNorm(nn.Module):
        """The crop's colours relative to the water around the candidate: minus the mean colour of
        the window's border ring, over the ring's spread (floored), clipped.

        Why: the window is 2.5x the candidate, so its border is mostly water; subtracting it and
        dividing by its spread removes the water's colour, the light's gain and offset, which are
        where unfamiliar water differs from the training look, and keeps what an item is: its
        shape and its contrast to the water it floats on.
        """

        def __init__(self, side: int, ring: int = 6, floor: float = 0.015) -> None:
            super().__init__()
            mask = torch.ones(1, 1, side, side)
            mask[:, :, ring:-ring, ring:-ring] = 0
            self.register_buffer("mask", mask / mask.sum())
            self.floor = floor

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            rgb, size = x[:, :3], x[:, 3:]
            mean = (rgb * self.mask).sum(dim=(2, 3), keepdim=True)
            spread = (((rgb - mean) ** 2) * self.mask).sum(dim=(1, 2, 3), keepdim=True) / 3
            z = (rgb - mean) / torch.sqrt(spread + self.floor**2)
            return torch.cat([z.clamp(-24, 24) / 8, size], dim=1)

    class VerifierNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers, cin = [WaterNorm(crop)] if water_norm else [], 4
            for c in widths:
                layers += [conv_bn_relu(cin, c, 3, 2), conv_bn_relu(c, c, 3, 1, groups=c)]
                layers += [conv_bn_relu(c, c, 1)] if mix else []
                cin = c
            self.features = nn.Sequential(*layers)
            self.head = nn.Linear(2 * cin, 5 + num_classes + kinds)  # p(debris), classes, box, kinds
            self.widths = widths
            self.water_norm = water_norm
            self.mix = mix
            self.kinds = kinds
            self.crop = crop

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            f = self.features(x)
            return self.head(torch.cat([f.mean(dim=(2, 3)), f.amax(dim=(2, 3))], dim=1))

    return VerifierNet()


@dataclass(frozen=True, slots=True)
class VerifierTrainConfig:
    steps: int = VERIFIER_STEPS
    batch: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-4
    negative_fraction: float = 0.5  # of each batch
    seed: int = 0
    threads: int = 2
    look_jitter: bool = VERIFIER_LOOK_JITTER  # ripples, light ramps and glare (``look_jitter``)
    water_norm: bool = VERIFIER_WATER_NORM  # the net sees the crop relative to its water (``build_net``)
    balance_classes: bool = VERIFIER_BALANCE_CLASSES  # positives drawn class-balanced (``positive_weights``)
    mix: bool = VERIFIER_MIX  # a pointwise conv after each depthwise one (``build_net``)
    negative_kinds: bool = VERIFIER_NEGATIVE_KINDS  # also learn what each negative shows (``build_net``)
    kind_weight: float = 0.5  # of that loss, when on
    focal_gamma: float = VERIFIER_FOCAL_GAMMA  # p(debris)'s loss focal (``focal_bce``) when > 0


def look_jitter(x, gen):
    """Wave and sun jitter on a ``[B, 3, S, S]`` RGB 0..1 batch of verifier crops.

    The colour jitter (``models.train.photometric``) widens the water's colour; what it cannot
    widen is the light and the wave scale, where the held-out look differs too (low and high sun,
    short chop and long swell). Half the crops get ripples (two sinusoids, 2.5-20 crop px, the
    crop-scale period of 0.1-4 m waves), half a light gradient across the window, a quarter a
    broad patch of glare that washes out contrast; debris and its background alike, as sun and
    waves would.
    """
    import math

    import torch

    b, s, dev = x.shape[0], x.shape[-1], x.device

    def u(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(b, device=dev, generator=gen)

    def some(p: float) -> torch.Tensor:
        return (torch.rand(b, device=dev, generator=gen) < p).float().view(b, 1, 1)

    t = torch.arange(s, device=dev, dtype=x.dtype)
    yy, xx = torch.meshgrid(t, t, indexing="ij")
    ripples = torch.zeros(b, s, s, device=dev, dtype=x.dtype)
    for _ in range(2):
        ang = u(0, math.pi).view(b, 1, 1)
        k = (2 * math.pi / torch.exp(u(math.log(2.5), math.log(20.0)))).view(b, 1, 1)
        phase = u(0, 2 * math.pi).view(b, 1, 1)
        ripples += torch.sin(k * (xx * torch.cos(ang) + yy * torch.sin(ang)) + phase)
    x = x * (1 + some(0.5).unsqueeze(1) * u(0.02, 0.08).view(b, 1, 1, 1) * ripples.unsqueeze(1) / 2)
    ang = u(0, 2 * math.pi).view(b, 1, 1)
    ramp = ((xx - s / 2) * torch.cos(ang) + (yy - s / 2) * torch.sin(ang)) / s
    x = x + (some(0.5) * u(-0.16, 0.16).view(b, 1, 1) * ramp).unsqueeze(1)
    cy, cx, sigma = u(0, s).view(b, 1, 1), u(0, s).view(b, 1, 1), u(s / 5, s / 1.5).view(b, 1, 1)
    blob = torch.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2))
    glare = (some(0.25) * u(0.1, 0.4).view(b, 1, 1) * blob).unsqueeze(1)
    x = x * (1 - glare) + glare * u(0.75, 1.0).view(b, 1, 1, 1)
    return x.clamp(0, 1)


def positive_weights(labels: np.ndarray) -> np.ndarray:
    """Per-positive draw weights that give each class the same share of a batch's positives.

    Why: drawn uniformly, each class gets its share of the mined crops, and the smallest, rarest
    items (bottles: 0.30-0.35 m, ~13 % of the items) are the ones the verifier doubts most."""
    _, which, counts = np.unique(labels, return_inverse=True, return_counts=True)
    return 1.0 / counts[which]


def focal_bce(logits, target, gamma: float):
    """Binary cross-entropy, each crop's term scaled by (1 - p_t) ** gamma, p_t the probability the
    net gives the truth (Lin et al., focal loss; plain BCE at gamma 0).

    Why: the crops that set the operating point are the few hard ones, birds the net calls debris at
    0.99 and bottles it doubts; plain BCE spends most of its gradient pushing easy crops from 0.99
    to 0.999, which also makes the net surer of what it has not seen."""
    from torch import nn

    ce = nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
    if gamma <= 0:
        return ce.mean()
    p_t = (-ce).exp()
    return ((1 - p_t) ** gamma * ce).mean()


def train_verifier(crops: Crops, num_classes: int, cfg: VerifierTrainConfig, progress=None):
    """A trained ``VerifierNet`` and a summary; flips, 90-degree turns and colour jitter per batch
    (and ``look_jitter`` when ``cfg.look_jitter``)."""
    import torch
    from torch import nn

    from models.train import photometric, warmup_cosine

    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    kinds = len(NEGATIVE_KINDS) if cfg.negative_kinds else 0
    net = build_net(num_classes, water_norm=cfg.water_norm, mix=cfg.mix, kinds=kinds, crop=crops.x.shape[-1])
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    warmup = max(1, cfg.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: warmup_cosine(step, warmup, cfg.steps, 0.02))
    x_all = torch.from_numpy(crops.x)
    y_all = torch.from_numpy(crops.label)
    b_all = torch.from_numpy(crops.box)
    k_all = torch.from_numpy(
        crops.kind if crops.kind is not None else np.full(len(crops.label), UNKNOWN_KIND, np.int64)
    )
    gen = torch.Generator().manual_seed(cfg.seed)
    pos_idx = torch.nonzero(y_all >= 0).flatten()
    neg_idx = torch.nonzero(y_all < 0).flatten()
    n_neg = round(cfg.batch * cfg.negative_fraction) if len(neg_idx) and len(pos_idx) else 0
    pos_weight = (
        torch.from_numpy(positive_weights(crops.label[pos_idx.numpy()])) if cfg.balance_classes else None
    )

    def draw_positives(n: int):
        if pos_weight is None:
            return pos_idx[torch.randint(0, len(pos_idx), (n,), generator=gen)]
        return pos_idx[torch.multinomial(pos_weight, n, replacement=True, generator=gen)]

    start, running, curve = time.monotonic(), 0.0, []
    net.train()
    for step in range(cfg.steps):
        if n_neg:  # balanced batches: the hard negatives are the fewer and the ones that matter
            idx = torch.cat(
                [
                    draw_positives(cfg.batch - n_neg),
                    neg_idx[torch.randint(0, len(neg_idx), (n_neg,), generator=gen)],
                ]
            )
        else:
            idx = torch.randint(0, len(y_all), (cfg.batch,), generator=gen)
        x, y, box, kind = x_all[idx].float(), y_all[idx], b_all[idx].clone(), k_all[idx]
        if torch.rand(1, generator=gen).item() < 0.5:  # mirror left-right: the centre's x flips
            x, box[:, 0] = x.flip(3), -box[:, 0]
        if torch.rand(1, generator=gen).item() < 0.5:
            x, box[:, 1] = x.flip(2), -box[:, 1]
        if torch.rand(1, generator=gen).item() < 0.5:  # transpose: x <-> y, width <-> height
            x, box = x.transpose(2, 3), box[:, [1, 0, 3, 2]]
        rgb = look_jitter(x[:, :3], gen) if cfg.look_jitter else x[:, :3]
        x = torch.cat([photometric(rgb, gen), x[:, 3:]], dim=1)
        out = net(x)
        is_debris = (y >= 0).float()
        l_obj = focal_bce(out[:, 0], is_debris, cfg.focal_gamma)
        pos = y >= 0
        if bool(pos.any()):
            l_cls = nn.functional.cross_entropy(out[pos, 1 : 1 + num_classes], y[pos])
            box_out = out[pos, 1 + num_classes : 5 + num_classes]
            l_box = nn.functional.smooth_l1_loss(box_out, box[pos], beta=0.05)
        else:
            l_cls = l_box = out.sum() * 0
        loss = l_obj + 0.5 * l_cls + 2.0 * l_box
        known = kind >= 0
        if kinds and bool(known.any()):
            l_kind = nn.functional.cross_entropy(out[known, 5 + num_classes :], kind[known])
            loss = loss + cfg.kind_weight * l_kind
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        running = 0.98 * running + 0.02 * loss.item() if step else loss.item()
        if step % 250 == 0 or step == cfg.steps - 1:
            curve.append((step, round(running, 4)))
            log.info(
                "step=%d loss=%.4f obj=%.4f cls=%.4f box=%.4f",
                *(step, running, l_obj.item(), l_cls.item(), l_box.item()),
            )
        if progress:
            progress(step + 1, running)
    net.eval()
    return net, {"steps_done": cfg.steps, "loss_curve": curve, "seconds": round(time.monotonic() - start, 1)}


def export_verifier(
    nets,
    path: Path,
    names: tuple[str, ...],
    geometry: CropGeometry,
    proposal_threshold: float,
    score_threshold: float,
    version: str,
    extra: dict | None = None,
    detector_weight: float = 0.5,
) -> Path:
    """Write the verifier ONNX (opset 17, dynamic batch) with the metadata ``edge.detect.verify`` reads.

    ``nets``: one ``VerifierNet`` or a list of them; a list is exported member by member (member k's
    ``train_seed`` in ``extra`` counts up from the given one, as ``build_verifier`` trains them)
    and averaged into one file (``average_verifiers``).
    """
    import tempfile

    import torch

    from models.export import trace_to_onnx, write_metadata

    if isinstance(nets, list | tuple):
        if len(nets) == 1:
            nets = nets[0]
        else:
            with tempfile.TemporaryDirectory(prefix="riverpatrol-members-") as tmp:
                parts = []
                for k, net in enumerate(nets):
                    member_extra = dict(extra or {})
                    if "train_seed" in member_extra:
                        member_extra["train_seed"] = int(member_extra["train_seed"]) + k
                    parts.append(
                        export_verifier(
                            net,
                            Path(tmp) / f"member{k}.onnx",
                            names,
                            geometry,
                            proposal_threshold,
                            score_threshold,
                            version,
                            member_extra,
                            detector_weight,
                        )
                    )
                return average_verifiers(parts, path)
    net = nets

    class Probabilities(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.net(x)
            nc = len(names)
            probs = [torch.sigmoid(out[:, :1]), torch.softmax(out[:, 1 : 1 + nc], dim=1)]
            return torch.cat([*probs, out[:, 1 + nc : 5 + nc]], dim=1)  # the kinds stay behind

    dummy = torch.zeros(2, 4, geometry.crop, geometry.crop)
    trace_to_onnx(Probabilities().eval(), dummy, path, "crops", "probs", batch_axis=True)
    meta = {
        "riverpatrol_format": VERIFIER_FORMAT,
        "names": json.dumps(list(names)),
        "crop": str(geometry.crop),
        "context": str(geometry.context),
        "min_side": str(geometry.min_side),
        "max_side": str(geometry.max_side),
        "proposal_threshold": f"{proposal_threshold:.4f}",
        "score_threshold": f"{score_threshold:.4f}",
        "detector_weight": f"{detector_weight:.4f}",
        "model_version": version,
        "input_format": "crops[N, 4, crop, crop]: RGB in [0, 1] of a full-resolution window around a "
        "candidate (context x its longer side, clamped to [min_side, max_side] px, grey-padded), plus a "
        "constant plane log(side/min_side)/log(max_side/min_side)",
        "output_layout": "probs[N, 1 + nc + 4]: p(debris), p(class | debris), then the item's box in the "
        "window: centre offset x, y in window sides, log(width / side), log(height / side)",
        "architecture": f"VerifierNet widths {json.dumps(list(net.widths))}"
        + (", water-relative input" if net.water_norm else "")
        + (", pointwise mixing" if net.mix else "")
        + (", trained to name its negatives" if net.kinds else ""),
    }
    return write_metadata(path, meta, extra)


#: Metadata every member of an ensemble must share: it says how the crops are cut and what comes out.
SHARED_METADATA = ("riverpatrol_format", "names", "crop", "context", "min_side", "max_side")


def average_verifiers(paths: list[Path], out: Path) -> Path:
    """One verifier file that runs the verifiers at ``paths`` on the same crops and outputs the mean
    of what they say (p(debris), class probabilities and box): a deep ensemble, whose members,
    trained with different seeds, are confidently wrong on partly different birds and glints (two
    members: better than either on the validation patrols, not on the held-out look; EXPERIMENTS.md).

    The members must cut crops alike and name the same classes (``SHARED_METADATA``); the rest of
    the metadata (operating point, version) is the first member's, ``train_seed`` lists every
    member's and ``architecture`` says it is an ensemble. ``ValueError`` when they do not fit.
    """
    import onnx

    from models.export import average_models, write_metadata

    metas = [{p.key: p.value for p in onnx.load(str(path)).metadata_props} for path in paths]
    for path, meta in zip(paths[1:], metas[1:], strict=True):
        for key in SHARED_METADATA:
            if meta.get(key) != metas[0].get(key):
                theirs, ours = meta.get(key), metas[0].get(key)
                raise ValueError(f"average_verifiers: {path} has {key}={theirs!r}, {paths[0]} has {ours!r}")
    average_models(paths, out)
    first, n = metas[0], len(paths)
    meta = {
        **first,
        "architecture": f"ensemble of {n} x {first.get('architecture', 'verifier')}, outputs averaged",
        "output_layout": f"{first.get('output_layout', '')}; the mean of {n} members' outputs",
        "train_seed": ", ".join(str(m.get("train_seed", "?")) for m in metas),
    }
    return write_metadata(out, meta)


def build_verifier(
    detector_path: Path,
    samples: list,
    mine_cfg: MineConfig,
    train_cfg: VerifierTrainConfig,
    geometry: CropGeometry,
    console,
    threads: int = 2,
    members: int = 1,
):
    """Mine crops with the detector at ``detector_path`` (verifier off) and train ``members`` nets on
    them, member k with training seed ``train_cfg.seed + k`` (the crops are mined once).

    Returns ``(nets, summary)``; the caller exports them (``export_verifier``), picks the operating
    point and exports again."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from contract.messages import DEBRIS_CLASSES
    from edge.detect import Detector, DetectorConfig

    probe = Detector(
        DetectorConfig(
            model_path=detector_path,
            threads=threads,
            score_threshold=mine_cfg.proposal_threshold,
            tile="off",
            verifier="off",
        )
    )
    cols = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*cols, console=console) as bar:
        task = bar.add_task("mine candidates", total=len(samples))
        crops = mine(probe, samples, geometry, mine_cfg, lambda: bar.advance(task))
    negatives = len(crops.label) - crops.positives
    console.print(f"mined {len(crops.label)} crops: {crops.positives} on items, {negatives} not debris")
    kinds = {name: int((crops.kind == k).sum()) for k, name in enumerate(NEGATIVE_KINDS)}
    kinds["unknown"] = negatives - sum(kinds.values())
    console.print("negatives by kind: " + ", ".join(f"{name} {n}" for name, n in kinds.items()))
    nets, runs = [], []
    for k in range(members):
        cfg = replace(train_cfg, seed=train_cfg.seed + k)
        with Progress(*cols, TextColumn("{task.fields[loss]}"), console=console) as bar:
            task = bar.add_task(f"train verifier {k + 1}/{members}", total=cfg.steps, loss="")

            def progress(step: int, loss: float, task=task, bar=bar) -> None:
                bar.update(task, completed=step, loss=f"loss {loss:.3f}")

            net, info = train_verifier(crops, len(DEBRIS_CLASSES), cfg, progress)
        nets.append(net)
        runs.append({**asdict(cfg), **info})
    summary = {
        "crops": len(crops.label),
        "crops_on_items": crops.positives,
        "negatives_by_kind": kinds,
        "mine": asdict(mine_cfg),
        "geometry": asdict(geometry),
        "members": members,
        "train": runs[0] if members == 1 else runs,
    }
    return nets, summary


app = typer.Typer(add_completion=False)


@app.command()
def main(
    data: Annotated[Path, typer.Option(help="Data set folder (rendered if missing).")] = DEFAULT_DATA,
    detector: Annotated[Path, typer.Option(help="Detector whose candidates are verified.")] = DEFAULT_OUT,
    out: Annotated[Path, typer.Option(help="Verifier ONNX to write.")] = DEFAULT_OUT.with_name(VERIFIER_NAME),
    steps: Annotated[int, typer.Option(help="Training steps.")] = VERIFIER_STEPS,
    frames: Annotated[int, typer.Option(help="Training frames to mine (0: all of the train split).")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of data splits, mining and training.")] = 7,
    threads: Annotated[int, typer.Option(help="Torch / onnxruntime threads.")] = 2,
    workers: Annotated[int, typer.Option(help="Render processes if the data set is missing.")] = 2,
    link: Annotated[bool, typer.Option(help="Name the verifier in the detector's metadata.")] = True,
    train_only: Annotated[bool, typer.Option(help="Stop after training (renders only train).")] = False,
    save_weights: Annotated[Path | None, typer.Option(help="Save the trained state dict here.")] = None,
    weights: Annotated[Path | None, typer.Option(help="Skip mining and training: load these.")] = None,
    keep_weights: Annotated[
        bool, typer.Option(help="Keep the weights of the verifier at --out; choose its operating point anew.")
    ] = False,
    members: Annotated[
        int, typer.Option(help="Nets trained (seeds seed, seed + 1, ...) and averaged in one file.")
    ] = VERIFIER_MEMBERS,
    look_jitter: Annotated[
        bool, typer.Option(help="Wave and sun jitter of the training crops (ripples, light ramps, glare).")
    ] = VERIFIER_LOOK_JITTER,
    water_norm: Annotated[
        bool, typer.Option(help="The net sees each crop relative to the water around it (WaterNorm).")
    ] = VERIFIER_WATER_NORM,
    scene_frames: Annotated[
        int, typer.Option(min=0, help="Also train on a split of this many frames, 4 per world (many waters).")
    ] = VERIFIER_SCENE_FRAMES,
    balance_classes: Annotated[
        bool, typer.Option(help="Draw each batch's positives class-balanced (bottles as often as bags).")
    ] = VERIFIER_BALANCE_CLASSES,
    outlier_frames: Annotated[
        int, typer.Option(min=0, help="Also mine negatives on this many non-river images (models.outliers).")
    ] = VERIFIER_OUTLIER_FRAMES,
    mix: Annotated[
        bool, typer.Option(help="A pointwise conv after each depthwise one (channels mixed twice a stage).")
    ] = VERIFIER_MIX,
    negative_kinds: Annotated[
        bool, typer.Option(help="Also learn what each negative shows: water, bird, boat, glint, ...")
    ] = VERIFIER_NEGATIVE_KINDS,
    focal_gamma: Annotated[
        float, typer.Option(min=0.0, help="Focal loss on p(debris) with this gamma (0: plain BCE).")
    ] = VERIFIER_FOCAL_GAMMA,
    context: Annotated[
        float, typer.Option(min=1.0, help="Window side over the candidate's longer side.")
    ] = SHIPPED_GEOMETRY.context,
    crop: Annotated[int, typer.Option(min=16, help="Side the window is resized to, px.")] = (
        SHIPPED_GEOMETRY.crop
    ),
    min_side: Annotated[
        int, typer.Option(min=8, help="Smallest window side, full-resolution px.")
    ] = SHIPPED_GEOMETRY.min_side,
) -> None:
    """Mine, train and export the verifier; choose the operating threshold on validation patrols."""
    from rich.console import Console

    from models.build import finish_with_verifier

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    finish_with_verifier(
        Console(),
        data,
        detector,
        out,
        seed,
        threads,
        workers,
        steps=steps,
        frames=frames,
        link=link,
        train_only=train_only,
        save_weights=save_weights,
        weights=weights,
        keep_weights=keep_weights,
        members=members,
        scene_frames=scene_frames,
        outlier_frames=outlier_frames,
        recipe=VerifierTrainConfig(
            look_jitter=look_jitter,
            water_norm=water_norm,
            balance_classes=balance_classes,
            mix=mix,
            negative_kinds=negative_kinds,
            focal_gamma=focal_gamma,
        ),
        geometry=replace(SHIPPED_GEOMETRY, context=context, crop=crop, min_side=min_side),
    )


if __name__ == "__main__":
    app()
