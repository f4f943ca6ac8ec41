"""Procedural top-down sprites of debris and distractors, drawn in metres so size is physical.

Each sprite is an item-local image (columns along the item's length, heading 0 = north) with
BGR colour and alpha, drawn once at a high "master" resolution from the item's own seed and
resampled to whatever ground resolution a frame needs.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

Sprite = tuple[np.ndarray, np.ndarray]  # (H,W,3) float32 BGR 0..255, (H,W) float32 alpha 0..1

_AA = cv2.LINE_AA
_SHIFT = 4  # fixed-point bits for sub-pixel polygon vertices


def _canvas(length_px: int, width_px: int, pad: int) -> tuple[np.ndarray, np.ndarray]:
    h, w = width_px + 2 * pad, length_px + 2 * pad
    return np.zeros((h, w, 3), np.float32), np.zeros((h, w), np.float32)


def _fill(color: np.ndarray, alpha: np.ndarray, pts: np.ndarray, bgr, a: float) -> None:
    """Paint polygon ``pts`` (pixel float coords) with colour ``bgr`` and opacity ``a`` (over)."""
    mask = np.zeros(alpha.shape, np.uint8)
    cv2.fillPoly(mask, [np.round(pts * (1 << _SHIFT)).astype(np.int32)], 255, _AA, _SHIFT)
    m = mask.astype(np.float32) / 255.0 * a
    color *= (1 - m)[..., None]
    color += m[..., None] * np.asarray(bgr, np.float32)
    alpha[:] = alpha * (1 - m) + m


def _ellipse_pts(cx: float, cy: float, rx: float, ry: float, ang: float = 0.0, n: int = 28) -> np.ndarray:
    t = np.linspace(0, 2 * math.pi, n, endpoint=False)
    x, y = rx * np.cos(t), ry * np.sin(t)
    c, s = math.cos(ang), math.sin(ang)
    return np.stack([cx + c * x - s * y, cy + s * x + c * y], 1)


def _blob_pts(
    cx: float, cy: float, rx: float, ry: float, rng: np.random.Generator, rough: float
) -> np.ndarray:
    n = int(rng.integers(9, 18))
    t = np.sort(rng.uniform(0, 2 * math.pi, n))
    r = 1 + rough * rng.uniform(-1, 1, n)
    r = (r + np.roll(r, 1) + np.roll(r, -1)) / 3 if rough < 0.3 else r
    return np.stack([cx + rx * r * np.cos(t), cy + ry * r * np.sin(t)], 1)


def _jitter(c: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    return np.clip(
        np.asarray(c, np.float32) * rng.uniform(1 - amount, 1 + amount) + rng.normal(0, 6, 3), 0, 255
    )


def _texture(shape: tuple[int, int], rng: np.random.Generator, cell_px: float, amp: float) -> np.ndarray:
    small = rng.uniform(-1, 1, (max(2, int(shape[0] / cell_px) + 2), max(2, int(shape[1] / cell_px) + 2)))
    big = cv2.resize(small.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    return 1 + amp * big


def bottle(length_px: int, rng: np.random.Generator) -> Sprite:
    L = float(length_px)
    w = L * rng.uniform(0.26, 0.36)
    pad = 3
    col, al = _canvas(length_px, math.ceil(w), pad)
    cy = pad + w / 2
    kind = rng.choice(["clear", "clear", "green", "blue", "brown", "white"])
    body, a = {
        "clear": ((215, 222, 218), 0.5),
        "green": ((95, 165, 90), 0.75),
        "blue": ((205, 160, 95), 0.7),
        "brown": ((40, 70, 115), 0.85),
        "white": ((232, 236, 236), 0.95),
    }[str(kind)]
    body = _jitter(body, rng, 0.08)
    x0 = pad
    shoulder, neck_end = 0.72 * L, 0.9 * L
    nw = w * 0.42
    outline = np.array(
        [
            [x0 + 0.04 * L, cy - w / 2],
            [x0 + shoulder, cy - w / 2],
            [x0 + 0.82 * L, cy - nw / 2],
            [x0 + neck_end, cy - nw / 2],
            [x0 + neck_end, cy + nw / 2],
            [x0 + 0.82 * L, cy + nw / 2],
            [x0 + shoulder, cy + w / 2],
            [x0 + 0.04 * L, cy + w / 2],
            [x0, cy + w * 0.3],
            [x0, cy - w * 0.3],
        ]
    )
    if rng.random() < 0.3:  # crushed
        outline[:, 1] += rng.normal(0, w * 0.08, len(outline))
    _fill(col, al, outline, body, a)
    if rng.random() < 0.6:
        lab = _jitter(rng.choice([(40, 40, 200), (200, 120, 30), (240, 240, 240), (30, 180, 230)]), rng, 0.1)
        lx = x0 + rng.uniform(0.15, 0.35) * L
        _fill(
            col,
            al,
            np.array(
                [[lx, cy - w / 2], [lx + 0.28 * L, cy - w / 2], [lx + 0.28 * L, cy + w / 2], [lx, cy + w / 2]]
            ),
            lab,
            0.95,
        )
    cap = _jitter(rng.choice([(200, 90, 30), (240, 240, 240), (40, 40, 190), (50, 160, 60)]), rng, 0.1)
    _fill(
        col,
        al,
        np.array(
            [
                [x0 + neck_end, cy - nw * 0.6],
                [x0 + L, cy - nw * 0.6],
                [x0 + L, cy + nw * 0.6],
                [x0 + neck_end, cy + nw * 0.6],
            ]
        ),
        cap,
        1.0,
    )
    # cylinder shading and a specular streak along the body
    yy = (np.arange(col.shape[0], dtype=np.float32) - cy) / (w / 2)
    shade = np.clip(1.1 - 0.35 * yy**2, 0.6, 1.2)[:, None, None]
    col *= shade
    hl = np.exp(-(((yy + 0.4) / 0.18) ** 2))[:, None]
    streak = hl * (al > 0.05) * rng.uniform(0.4, 0.9)
    col += streak[..., None] * (255 - col)
    al[:] = np.maximum(al, streak * 0.9 * (al > 0.05))
    return col, al


def bag(length_px: int, rng: np.random.Generator) -> Sprite:
    L = float(length_px)
    w = L * rng.uniform(0.5, 0.95)
    pad = 3
    col, al = _canvas(length_px, math.ceil(w), pad)
    kind = rng.choice(["white", "white", "translucent", "black", "blue", "red", "yellow", "pink", "green"])
    base, a = {
        "white": ((232, 234, 234), 0.9),
        "translucent": ((220, 225, 225), 0.55),
        "black": ((35, 35, 38), 0.92),
        "blue": ((190, 120, 50), 0.88),
        "red": ((50, 50, 185), 0.9),
        "yellow": ((60, 200, 230), 0.88),
        "pink": ((170, 140, 230), 0.88),
        "green": ((70, 150, 70), 0.88),
    }[str(kind)]
    base = _jitter(base, rng, 0.08)
    pts = _blob_pts(pad + L / 2, pad + w / 2, L / 2 * 0.92, w / 2 * 0.92, rng, 0.3)
    _fill(col, al, pts, base, a)
    if rng.random() < 0.5:  # handles
        for sgn in (-1, 1):
            hx = pad + L * (0.85 if sgn > 0 else 0.15)
            pts = _ellipse_pts(hx, pad + w / 2 + sgn * w * 0.1, L * 0.08, w * 0.15, rng.uniform(0, 3), 12)
            _fill(col, al, pts, base * 0.9, a * 0.8)
    # wrinkles: folds as light/dark streaks
    wr = _texture(al.shape, rng, max(2.0, L / 10), 0.25)
    col *= wr[..., None]
    for _ in range(int(rng.integers(3, 8))):
        p0 = rng.uniform([pad, pad], [pad + L, pad + w])
        p1 = p0 + rng.normal(0, L / 4, 2)
        tone = 1.25 if rng.random() < 0.5 else 0.7
        tmp = np.zeros(al.shape, np.uint8)
        cv2.line(tmp, tuple(int(v) for v in p0), tuple(int(v) for v in p1), 255, max(1, int(L / 40)), _AA)
        m = tmp.astype(np.float32) / 255 * (al > 0.05)
        col *= (1 + (tone - 1) * m)[..., None]
    return col, al


def foam(length_px: int, rng: np.random.Generator) -> Sprite:
    """Lacy off-white scum: clumps of fine bubbles with holes, thinning out at ragged edges."""
    L = float(length_px)
    w = L * rng.uniform(0.45, 0.9)
    pad = 4
    col, al = _canvas(length_px, math.ceil(w), pad)
    base = _jitter(
        rng.choice([(232, 238, 240), (212, 228, 235), (195, 218, 228), (200, 215, 215)]), rng, 0.05
    )
    body = np.zeros(al.shape, np.float32)
    for _ in range(int(rng.integers(4, 10))):
        cx, cy = rng.uniform(pad + L * 0.2, pad + L * 0.8), rng.uniform(pad + w * 0.3, pad + w * 0.7)
        rx = min(rng.uniform(0.1, 0.3) * L, cx - pad, pad + L - cx)
        ry = min(rng.uniform(0.15, 0.4) * w, cy - pad, pad + w - cy)
        _fill(col, body, _ellipse_pts(cx, cy, rx, ry, rng.uniform(0, math.pi)), base, 1.0)
    body = cv2.GaussianBlur(body, (0, 0), max(1.0, L / 25))
    lace = 0.6 * _texture(al.shape, rng, max(1.5, L / 30), 1.0) + 0.4 * _texture(
        al.shape, rng, max(1.5, L / 10), 1.0
    )
    al[:] = np.clip((body * 1.4 - 0.35) + (lace - 1.0) * 0.9, 0, 1) * rng.uniform(0.75, 0.95)
    col[:] = base
    col *= _texture(al.shape, rng, max(1.2, L / 60), 0.1)[..., None]
    return col, al


def styrofoam(length_px: int, rng: np.random.Generator) -> Sprite:
    L = float(length_px)
    w = L * rng.uniform(0.55, 0.85)
    pad = 3
    col, al = _canvas(length_px, math.ceil(w), pad)
    white = _jitter((236, 240, 240), rng, 0.04)
    rect = np.array([[pad, pad], [pad + L, pad], [pad + L, pad + w], [pad, pad + w]])
    if rng.random() < 0.25:  # broken: cut a corner off
        cut = rng.uniform(0.3, 0.7)
        rect = np.array(
            [
                [pad, pad],
                [pad + L * cut, pad],
                [pad + L, pad + w * (1 - cut)],
                [pad + L, pad + w],
                [pad, pad + w],
            ]
        )
    _fill(col, al, rect, white, 0.97)
    if rng.random() < 0.6:  # open box: rim and a shaded inside
        rim = L * rng.uniform(0.06, 0.1)
        inner = np.array(
            [
                [pad + rim, pad + rim],
                [pad + L - rim, pad + rim],
                [pad + L - rim, pad + w - rim],
                [pad + rim, pad + w - rim],
            ]
        )
        _fill(col, al, inner, white * rng.uniform(0.72, 0.85), 1.0)
        sh = np.zeros(al.shape, np.float32)
        y0 = int(pad + rim)
        sh[y0 : y0 + max(1, int(rim * 1.5)), int(pad + rim) : int(pad + L - rim)] = 0.25
        col *= (1 - cv2.GaussianBlur(sh, (0, 0), max(0.5, rim / 2)))[..., None]
    dirt = _texture(al.shape, rng, max(2.0, L / 8), rng.uniform(0.03, 0.12))
    beads = _texture(al.shape, rng, max(1.2, L / 70), 0.05)
    col *= (dirt * beads)[..., None]
    return col, al


def vegetation(length_px: int, rng: np.random.Generator) -> Sprite:
    """A floating mat: water hyacinth rosettes, loose leaves, or dead reeds and twigs."""
    L = float(length_px)
    w = L * rng.uniform(0.4, 0.8)
    pad = 4
    col, al = _canvas(length_px, math.ceil(w), pad)
    style = rng.choice(["hyacinth", "leaves", "reeds"])
    if style == "reeds":
        greens = [(60, 110, 130), (50, 95, 115), (70, 125, 140), (45, 80, 95)]
    elif style == "hyacinth":
        greens = [(50, 130, 60), (40, 115, 55), (60, 150, 80), (45, 105, 70)]
    else:
        greens = [(50, 120, 60), (40, 100, 80), (45, 90, 110), (50, 80, 95), (60, 140, 110)]
    n_parts = int(np.clip(L * w / 30, 20, 300))
    for _ in range(n_parts):
        r, th = math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        cx, cy = pad + L / 2 + r * math.cos(th) * L * 0.45, pad + w / 2 + r * math.sin(th) * w * 0.45
        c = _jitter(greens[int(rng.integers(len(greens)))], rng, 0.15)
        if style == "reeds":  # thin straw-coloured stalks, mostly aligned
            ang = rng.normal(0, 0.5)
            ln = rng.uniform(0.05, 0.2) * L
            p0 = (cx - math.cos(ang) * ln, cy - math.sin(ang) * ln)
            p1 = (cx + math.cos(ang) * ln, cy + math.sin(ang) * ln)
            tmp = np.zeros(al.shape, np.uint8)
            cv2.line(tmp, (int(p0[0]), int(p0[1])), (int(p1[0]), int(p1[1])), 255, max(1, int(L / 90)), _AA)
            m = tmp.astype(np.float32) / 255
            col[:] = col * (1 - m[..., None]) + m[..., None] * c
            al[:] = np.maximum(al, m)
        elif style == "hyacinth":  # rosettes of round glossy leaves
            sz = rng.uniform(0.03, 0.06) * L
            for k in range(5):
                a_ = k * 2 * math.pi / 5 + rng.uniform(0, 0.6)
                _fill(
                    col,
                    al,
                    _ellipse_pts(cx + math.cos(a_) * sz, cy + math.sin(a_) * sz, sz, sz * 0.7, a_, 10),
                    c * rng.uniform(0.9, 1.15),
                    1.0,
                )
        else:
            s_ = rng.uniform(0.02, 0.06) * L
            _fill(
                col,
                al,
                _ellipse_pts(cx, cy, s_, s_ * rng.uniform(0.3, 0.6), rng.uniform(0, math.pi), 10),
                c,
                rng.uniform(0.8, 1.0),
            )
    twig = _jitter((45, 70, 95), rng, 0.2)
    for _ in range(int(rng.integers(0, 4))):
        p0 = rng.uniform([pad, pad + w * 0.2], [pad + L * 0.4, pad + w * 0.8])
        mid = p0 + rng.uniform([L * 0.15, -w * 0.1], [L * 0.3, w * 0.1])
        p1 = mid + rng.uniform([L * 0.1, -w * 0.15], [L * 0.3, w * 0.15])
        tmp = np.zeros(al.shape, np.uint8)
        cv2.polylines(tmp, [np.array([p0, mid, p1], np.int32)], False, 255, max(1, int(L / 120)), _AA)
        m = tmp.astype(np.float32) / 255
        col[:] = col * (1 - m[..., None]) + m[..., None] * twig
        al[:] = np.maximum(al, m)
    col *= _texture(al.shape, rng, max(2.0, L / 25), 0.12)[..., None]
    return col, al


def boat(length_px: int, rng: np.random.Generator) -> Sprite:
    L = float(length_px)
    w = L * rng.uniform(0.3, 0.4)
    pad = 3
    col, al = _canvas(length_px, math.ceil(w), pad)
    hull = _jitter(
        rng.choice([(235, 235, 235), (160, 90, 30), (40, 60, 170), (40, 130, 220), (60, 90, 120)]), rng, 0.08
    )
    cy = pad + w / 2
    pts = np.array(
        [
            [pad, cy - w * 0.42],
            [pad + 0.65 * L, cy - w / 2],
            [pad + 0.88 * L, cy - w * 0.3],
            [pad + L, cy],
            [pad + 0.88 * L, cy + w * 0.3],
            [pad + 0.65 * L, cy + w / 2],
            [pad, cy + w * 0.42],
        ]
    )
    _fill(col, al, pts, hull, 1.0)
    inner = (pts - [pad + L / 2, cy]) * [0.85, 0.7] + [pad + L / 2, cy]
    _fill(col, al, inner, hull * 0.55, 1.0)
    for k in range(int(rng.integers(1, 4))):
        x = pad + L * (0.25 + 0.2 * k)
        _fill(
            col,
            al,
            np.array(
                [
                    [x, cy - w * 0.33],
                    [x + L * 0.05, cy - w * 0.33],
                    [x + L * 0.05, cy + w * 0.33],
                    [x, cy + w * 0.33],
                ]
            ),
            hull * 0.8,
            1.0,
        )
    if rng.random() < 0.6:  # a person
        _fill(
            col, al, _ellipse_pts(pad + L * 0.3, cy, w * 0.18, w * 0.22), _jitter((60, 60, 70), rng, 0.3), 1.0
        )
    return col, al


def bird(length_px: int, rng: np.random.Generator) -> Sprite:
    L = float(length_px)
    spread = rng.random() < 0.35
    w = L * (1.4 if spread else 0.4)
    pad = 3
    col, al = _canvas(length_px, math.ceil(w), pad)
    c = _jitter(rng.choice([(238, 240, 240), (240, 240, 240), (40, 40, 45), (80, 90, 100)]), rng, 0.05)
    cy = pad + w / 2
    if spread:
        wing = np.array(
            [[pad + L * 0.35, cy], [pad + L * 0.5, pad], [pad + L * 0.62, cy], [pad + L * 0.5, pad + w]]
        )
        _fill(col, al, wing, c * 0.95, 1.0)
    _fill(col, al, _ellipse_pts(pad + L * 0.42, cy, L * 0.3, L * 0.13), c, 1.0)
    _fill(col, al, _ellipse_pts(pad + L * 0.82, cy, L * 0.08, L * 0.06), c, 1.0)
    _fill(
        col,
        al,
        np.array([[pad + L * 0.88, cy - L * 0.015], [pad + L, cy], [pad + L * 0.88, cy + L * 0.015]]),
        (40, 170, 220),
        1.0,
    )
    return col, al


def glint(length_px: int, rng: np.random.Generator) -> Sprite:
    L = float(length_px)
    pad = 2
    col, al = _canvas(length_px, length_px, pad)
    col[:] = 255.0
    for _ in range(int(rng.integers(3, 12))):
        cx, cy = rng.uniform(pad, pad + L, 2)
        r = rng.uniform(0.04, 0.15) * L
        tmp = np.zeros(al.shape, np.float32)
        cv2.circle(tmp, (int(cx), int(cy)), max(1, int(r)), 1.0, -1, _AA)
        al[:] = np.maximum(al, tmp)
    al[:] = cv2.GaussianBlur(al, (0, 0), max(0.5, L / 30)) * rng.uniform(0.7, 1.0)
    return col, al


def reflection(length_px: int, rng: np.random.Generator) -> Sprite:
    L = float(length_px)
    w = L * rng.uniform(0.15, 0.4)
    pad = 4
    col, al = _canvas(length_px, math.ceil(w), pad)
    dark = rng.random() < 0.7
    c = (30, 50, 40) if dark else (210, 215, 215)
    _fill(
        col,
        al,
        _blob_pts(pad + L / 2, pad + w / 2, L / 2 * 0.95, w / 2 * 0.9, rng, 0.25),
        c,
        rng.uniform(0.25, 0.5),
    )
    al[:] = cv2.GaussianBlur(al, (0, 0), max(1.0, w / 6))
    return col, al


def wake(length_px: int, rng: np.random.Generator) -> Sprite:
    L = float(length_px)
    w = L * rng.uniform(0.25, 0.45)
    pad = 3
    col, al = _canvas(length_px, math.ceil(w), pad)
    col[:] = (225, 232, 235)
    cy = pad + w / 2
    tmp = np.zeros(al.shape, np.uint8)
    thick = max(1, int(L / 120))
    for sgn in (-1, 1):
        for k in range(3):
            off = k * L * 0.04
            cv2.line(
                tmp,
                (int(pad + L - off), int(cy)),
                (int(pad + off), int(cy + sgn * (w / 2 - off * 0.3))),
                255,
                thick,
                _AA,
            )
    m = tmp.astype(np.float32) / 255
    m *= np.linspace(0.2, 1.0, al.shape[1], dtype=np.float32)[None, :]
    m *= np.clip(_texture(al.shape, rng, max(2.0, L / 30), 0.8) - 0.4, 0, 1)
    al[:] = cv2.GaussianBlur(m, (0, 0), max(0.8, thick)) * rng.uniform(0.4, 0.7)
    return col, al


DRAW = {
    "bottle": bottle,
    "bag": bag,
    "foam": foam,
    "styrofoam": styrofoam,
    "vegetation": vegetation,
    "boat": boat,
    "bird": bird,
    "glint": glint,
    "reflection": reflection,
    "wake": wake,
}


def master_sprite(kind: str, size_m: float, seed: int, submerged: float) -> tuple[Sprite, float]:
    """The item's sprite at its master resolution and that resolution in metres per pixel."""
    length_px = int(np.clip(160, 16, 640))
    m_per_px = size_m / length_px
    rng = np.random.default_rng(seed)
    col, al = DRAW[kind](length_px, rng)
    if submerged > 0:  # the part under the surface fades into the water along a random direction
        h, w = al.shape
        ang = rng.uniform(0, 2 * math.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        proj = ((xx - w / 2) * math.cos(ang) + (yy - h / 2) * math.sin(ang)) / (max(h, w) / 2)
        fade = np.clip((proj - (1 - 2 * submerged)) * 3, 0, 1)
        al *= 1 - 0.75 * fade
    return (np.clip(col, 0, 255), np.clip(al, 0, 1)), m_per_px
