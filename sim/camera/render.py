"""Render what the drone's camera sees, with exact ground truth, fast enough for live video.

The water is a plane, so a frame is one ``cv2.remap`` of a world-fixed ground texture (cached
tiles at a texel size close to the frame's ground sample distance, floating items drawn into it
at their positions at time ``t``). The map is exact on a 16 px grid of rays (lens distortion
included) and bilinear in between, which is sub-pixel for any downward view. A coarse per-frame
lighting pass (sun glitter, sky and cloud reflection, haze, vignetting, exposure), sensor noise,
optional blur and JPEG finish the image.

Truth boxes come from projecting each item's outline (its sprite's convex hull, in metres)
through ``contract.camera.project_world_to_pixel`` — the same function the edge agent
inverts to geolocate, so the simulator and the agent agree exactly."""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field

import cv2
import numpy as np

from contract.camera import (
    CameraModel,
    CameraMount,
    CameraPose,
    camera_position_ned,
    ground_footprint,
    pose_rotation,
    project_world_to_pixel,
)
from contract.geo import to_local
from sim.camera import metrics
from sim.camera.ground import TILE, Tile, make_tile
from sim.camera.noise import value_noise
from sim.camera.scene import RiverScene, WorldItem
from sim.camera.sprites import master_sprite

MAX_RANGE_M = 600.0  # beyond this horizontal distance the view fades into haze / sky
MAX_ATLAS_TEXELS = 4096
_GRID = 16  # rays, the lens map and lighting are exact on a 16 px grid, bilinear between
_RIM_BGR = (25, 35, 30)
#: drawing order on the water: surface marks (0), debris (1), things above debris (2)
_LAYER = {"reflection": 0, "wake": 0, "glint": 0, "boat": 2, "bird": 2}
#: texels may be this much coarser than the ground sample distance (speed vs sharpness)
_TEXEL_SLACK = 1.4
_TEXEL_LADDER = tuple(0.01 * 2**k for k in range(8))  # 1 cm .. 1.28 m


@dataclass(frozen=True)
class TruthBox:
    """One item seen in a frame. Boxes use pixel-extent coordinates: the image spans [0, W] x [0, H]."""

    item_id: int
    kind: str
    class_index: int  # index in contract.messages.DEBRIS_CLASSES, -1 for distractors
    x1: float
    y1: float
    x2: float
    y2: float
    visible_fraction: float  # inside the image and not under a bridge, 0..1
    lat: float
    lon: float
    size_m: float
    heading_deg: float

    def as_dict(self) -> dict:
        return {
            "item_id": self.item_id,
            "kind": self.kind,
            "class_index": self.class_index,
            "box": [round(self.x1, 2), round(self.y1, 2), round(self.x2, 2), round(self.y2, 2)],
            "visible_fraction": round(self.visible_fraction, 4),
            "lat": self.lat,
            "lon": self.lon,
            "size_m": round(self.size_m, 3),
            "heading_deg": round(self.heading_deg, 2),
        }


@dataclass
class Frame:
    """An image (H,W,3 uint8 BGR) plus what is in it: debris ``truth`` and ``distractors``."""

    image: np.ndarray
    truth: list[TruthBox]
    distractors: list[TruthBox]
    pose: CameraPose
    t: float
    camera: CameraModel
    gsd_m: float  # ground sample distance at the image centre
    footprint: list[tuple[float, float]] = field(default_factory=list)
    appearance: dict = field(default_factory=dict)  # the scene's look, so a data set can be sliced by it

    def truth_dict(self) -> dict:
        return {
            "t": self.t,
            "appearance": self.appearance,
            "pose": self.pose.model_dump(),
            "camera": self.camera.model_dump(),
            "gsd_m": self.gsd_m,
            "footprint": [list(p) for p in self.footprint],
            "truth": [b.as_dict() for b in self.truth],
            "distractors": [b.as_dict() for b in self.distractors],
        }


@dataclass
class _Atlas:
    """A mosaic of ground tiles at one texel size; tiles are filled lazily as the view needs them."""

    texel: float
    tx0: int
    ty0: int
    tx1: int
    ty1: int
    base: np.ndarray  # ground under the floating items
    view: np.ndarray  # BGRx: base with bridges and overhanging trees on top, what the camera sees
    water: np.ndarray
    overlay: np.ndarray | None = None
    filled: set[tuple[int, int]] = field(default_factory=set)

    def covers(self, texel: float, tx0: int, ty0: int, tx1: int, ty1: int) -> bool:
        return (
            texel == self.texel
            and tx0 >= self.tx0
            and ty0 >= self.ty0
            and tx1 <= self.tx1
            and ty1 <= self.ty1
        )

    @property
    def e0(self) -> float:  # east of the atlas' west edge
        return self.tx0 * TILE * self.texel

    @property
    def n0(self) -> float:  # north of the atlas' north edge
        return -self.ty0 * TILE * self.texel


def _over(under: np.ndarray, overlay: np.ndarray) -> np.ndarray:
    """``overlay`` (BGRA uint8) composited over ``under`` (BGR uint8)."""
    a = overlay[..., 3:4].astype(np.float32) / 255
    return (under * (1 - a) + overlay[..., :3] * a).astype(np.uint8)


class _Sprite:
    def __init__(self, item: WorldItem) -> None:
        (col, al), m_per_px = master_sprite(item.kind, item.size_m, item.shape_seed, item.submerged)
        self.col, self.al, self.m_per_px = col, al, m_per_px
        ys, xs = np.nonzero(al > 0.05)  # everything that visibly changes the water
        pts = np.stack([xs, ys], 1).astype(np.float32)
        hull = cv2.convexHull(pts).reshape(-1, 2) if len(pts) >= 3 else np.zeros((1, 2), np.float32)
        h, w = al.shape
        # local metres: x along the item's length (heading), y to its right
        self.hull_m = (hull - [(w - 1) / 2, (h - 1) / 2]) * m_per_px
        self.levels: dict[float, tuple[np.ndarray, np.ndarray]] = {}

    def at(self, texel: float) -> tuple[np.ndarray, np.ndarray]:
        if texel not in self.levels:
            f = self.m_per_px / texel
            h, w = self.al.shape
            size = (max(2, round(w * f)), max(2, round(h * f)))
            interp = cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR
            col = cv2.resize(self.col, size, interpolation=interp)
            al = cv2.resize(self.al, size, interpolation=interp)
            # a thin dark wet rim where the item meets the water (meniscus and contact shadow)
            pad = 2
            col = cv2.copyMakeBorder(col, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
            al = cv2.copyMakeBorder(al, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
            rim = np.clip(cv2.GaussianBlur(al, (0, 0), max(0.6, 0.02 / texel)) * 1.6 - al, 0, 1) * 0.3
            new_al = al + rim * (1 - al)
            col = col * (al / np.maximum(new_al, 1e-6))[..., None] + (
                rim * (1 - al) / np.maximum(new_al, 1e-6)
            )[..., None] * np.array(_RIM_BGR, np.float32)
            self.levels[texel] = (col.astype(np.float32), new_al.astype(np.float32))
        return self.levels[texel]


class Renderer:
    """Holds the caches (tiles, atlas, sprites, lens maps) for one scene; ``render`` is the API."""

    def __init__(self, scene: RiverScene, mount: CameraMount | None = None, max_tiles: int = 400) -> None:
        self.scene = scene
        self.mount = mount or CameraMount()
        self.max_tiles = max_tiles
        self._tiles: OrderedDict[tuple[float, int, int], Tile] = OrderedDict()
        self._atlas: _Atlas | None = None
        self._sprites: dict[WorldItem, _Sprite] = {}
        self._lens: dict[str, tuple] = {}
        self._noise: np.ndarray | None = None
        self._sparkle: np.ndarray | None = None
        self._item_arrays: tuple[list[WorldItem], tuple[np.ndarray, ...]] | None = None

    # ---- caches -------------------------------------------------------------------------
    def _tile(self, texel: float, tx: int, ty: int) -> Tile:
        key = (texel, tx, ty)
        t = self._tiles.get(key)
        if t is None:
            t = make_tile(self.scene, tx, ty, texel)
            metrics.TILES.inc()
            self._tiles[key] = t
            while len(self._tiles) > self.max_tiles:
                self._tiles.popitem(last=False)
        else:
            self._tiles.move_to_end(key)
        return t

    def _atlas_for(self, texel: float, needed: set[tuple[int, int]]) -> _Atlas:
        txs = [t[0] for t in needed]
        tys = [t[1] for t in needed]
        tx0, tx1, ty0, ty1 = min(txs), max(txs), min(tys), max(tys)
        a = self._atlas
        if a is None or not a.covers(texel, tx0, ty0, tx1, ty1):
            # room for some flying before the next reallocation
            tx0, ty0, tx1, ty1 = tx0 - 2, ty0 - 2, tx1 + 2, ty1 + 2
            nx, ny = tx1 - tx0 + 1, ty1 - ty0 + 1
            a = _Atlas(
                texel,
                tx0,
                ty0,
                tx1,
                ty1,
                np.zeros((ny * TILE, nx * TILE, 3), np.uint8),
                np.zeros((ny * TILE, nx * TILE, 4), np.uint8),  # 4 channels: OpenCV's fast remap path
                np.zeros((ny * TILE, nx * TILE), np.uint8),
            )
            self._atlas = a
        for tx, ty in sorted(needed - a.filled):
            t = self._tile(texel, tx, ty)
            y0, x0 = (ty - a.ty0) * TILE, (tx - a.tx0) * TILE
            sl = np.s_[y0 : y0 + TILE, x0 : x0 + TILE]
            a.base[sl] = t.base
            a.water[sl] = t.water
            if t.overlay is None:
                a.view[sl][..., :3] = t.base
            else:
                if a.overlay is None:
                    a.overlay = np.zeros((*a.water.shape, 4), np.uint8)
                a.overlay[sl] = t.overlay
                a.view[sl][..., :3] = _over(t.base, t.overlay)
            a.filled.add((tx, ty))
        return a

    def _lens_for(self, camera: CameraModel) -> tuple:
        """Per camera: camera-frame rays through a coarse pixel grid (one ring beyond the image,
        so bilinear upsampling never clamps inside it) and through the image border."""
        key = camera.model_dump_json()
        if key in self._lens:
            return self._lens[key]
        gw, gh = math.ceil(camera.width / _GRID) + 2, math.ceil(camera.height / _GRID) + 2
        gu = (np.arange(gw) + 0.5) * _GRID - 0.5 - _GRID
        gv = (np.arange(gh) + 0.5) * _GRID - 0.5 - _GRID
        uu, vv = np.meshgrid(gu, gv)
        xn, yn = camera.undistort((uu - camera.cx) / camera.fx, (vv - camera.cy) / camera.fy)
        rays = np.stack([xn, yn, np.ones_like(xn)], -1)
        rays /= np.linalg.norm(rays, axis=-1, keepdims=True)
        # rays along the image border, so every tile the frame touches is known
        bu = np.arange(-0.5, camera.width, 4.0)
        bv = np.arange(-0.5, camera.height, 4.0)
        eu = np.concatenate([bu, bu, np.full_like(bv, -0.5), np.full_like(bv, camera.width - 0.5)])
        ev = np.concatenate([np.full_like(bu, -0.5), np.full_like(bu, camera.height - 0.5), bv, bv])
        bxn, byn = camera.undistort((eu - camera.cx) / camera.fx, (ev - camera.cy) / camera.fy)
        border = np.stack([bxn, byn, np.ones_like(bxn)], -1)
        radius = (((uu - camera.cx) / camera.width) ** 2 + ((vv - camera.cy) / camera.height) ** 2).ravel()
        self._lens[key] = (rays.reshape(-1, 3).astype(np.float32), (gw, gh), border, radius)
        return self._lens[key]

    @staticmethod
    def _up(small: np.ndarray, camera: CameraModel) -> np.ndarray:
        """A coarse-grid field at every pixel: exact bilinear between grid samples."""
        gh, gw = small.shape[:2]
        big = cv2.resize(small, (gw * _GRID, gh * _GRID), interpolation=cv2.INTER_LINEAR)
        return big[_GRID : _GRID + camera.height, _GRID : _GRID + camera.width]

    def _sprite(self, item: WorldItem) -> _Sprite:
        s = self._sprites.get(item)
        if s is None:
            s = self._sprites[item] = _Sprite(item)
        return s

    # ---- the frame ----------------------------------------------------------------------
    def render(
        self, pose: CameraPose, camera: CameraModel, t: float = 0.0, jpeg_quality: int | None = None
    ) -> Frame:
        """One frame of the scene from ``pose`` at time ``t``; ValueError for a pose seeing no water."""
        with metrics.RENDER_SECONDS.time():
            frame = self._render(pose, camera, t, jpeg_quality)
        metrics.FRAMES.inc()
        return frame

    def _render(self, pose: CameraPose, camera: CameraModel, t: float, jpeg_quality: int | None) -> Frame:
        scene = self.scene
        ap = scene.appearance
        assert ap is not None
        r = pose_rotation(pose, self.mount)
        c = camera_position_ned(pose, scene.origin[0], scene.origin[1], self.mount)
        rays_cam, (gw, gh), border, radius = self._lens_for(camera)
        d = rays_cam @ r.T.astype(np.float32)
        dz = d[:, 2]
        hit_t = np.where(dz > 1e-4, -c[2] / np.maximum(dz, 1e-4), np.inf)
        hit_n = c[0] + d[:, 0] * hit_t
        hit_e = c[1] + d[:, 1] * hit_t
        horiz = hit_t * np.hypot(d[:, 0], d[:, 1])
        valid = np.isfinite(hit_t) & (horiz <= MAX_RANGE_M)
        if not valid.any():
            metrics.BAD_POSES.inc()
            raise ValueError(f"camera pose {pose.model_dump()} sees no water within {MAX_RANGE_M} m")
        # texture resolution from the ground sample distance at the centre of the view
        centre_ray = r[:, 2]
        centre_range = -c[2] / centre_ray[2] if centre_ray[2] > 1e-3 else MAX_RANGE_M
        gsd = min(centre_range, MAX_RANGE_M) / camera.fx
        texel = max([x for x in _TEXEL_LADDER if x <= gsd * _TEXEL_SLACK] or [_TEXEL_LADDER[0]])
        bd = border @ r.T
        bt = np.where(bd[:, 2] > 1e-4, -c[2] / np.maximum(bd[:, 2], 1e-4), np.inf)
        bvalid = np.isfinite(bt) & (bt * np.hypot(bd[:, 0], bd[:, 1]) <= MAX_RANGE_M)
        all_n = np.concatenate([hit_n[valid], c[0] + bd[bvalid, 0] * bt[bvalid]])
        all_e = np.concatenate([hit_e[valid], c[1] + bd[bvalid, 1] * bt[bvalid]])
        n_lo, n_hi, e_lo, e_hi = all_n.min(), all_n.max(), all_e.min(), all_e.max()
        while max(n_hi - n_lo, e_hi - e_lo) / texel > MAX_ATLAS_TEXELS and texel < _TEXEL_LADDER[-1]:
            texel *= 2
        span = TILE * texel
        tx = np.floor(all_e / span).astype(np.int64)
        ty = np.floor(-all_n / span).astype(np.int64)
        tx0, ty0 = int(tx.min()), int(ty.min())
        keys = np.unique((tx - tx0) * 1_000_003 + (ty - ty0))  # a 1-D unique is much faster
        needed = {(int(k // 1_000_003) + tx0, int(k % 1_000_003) + ty0) for k in keys}
        atlas = self._atlas_for(texel, needed)
        drawn = self._draw_items(atlas, t, (n_lo, n_hi, e_lo, e_hi))
        try:
            # where each pixel looks in the atlas: exact on the coarse grid (ray meets water,
            # lens distortion included), bilinear in between (error << 0.1 px for this smooth map)
            s = atlas.texel
            above = ~np.isfinite(hit_t)
            map_x = np.where(above, -1e5, (hit_e - atlas.e0) / s - 0.5).astype(np.float32).reshape(gh, gw)
            map_y = np.where(above, -1e5, (atlas.n0 - hit_n) / s - 0.5).astype(np.float32).reshape(gh, gw)
            img = cv2.remap(
                atlas.view,
                self._up(map_x, camera),
                self._up(map_y, camera),
                cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_CONSTANT,
                borderValue=(*(float(x) for x in ap.sky_bgr), 0.0),
            )
        finally:
            self._restore(atlas, drawn)
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
        img = self._light(img, atlas, d, hit_n, hit_e, hit_t, valid, (gw, gh), radius, camera, t)
        img = self._sensor(img, t)
        if jpeg_quality is not None:
            _ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
            img = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        truth, distractors = self._truth(drawn, c, r, camera, t)
        return Frame(
            image=img,
            truth=truth,
            distractors=distractors,
            pose=pose,
            t=t,
            camera=camera,
            gsd_m=gsd,
            footprint=ground_footprint(pose, camera, self.mount, MAX_RANGE_M),
            appearance=ap.model_dump(),
        )

    def _draw_items(self, atlas: _Atlas, t: float, bounds: tuple[float, float, float, float]) -> list[tuple]:
        """Paint items into the atlas in place; returns what to undo and per-item occlusion."""
        n_lo, n_hi, e_lo, e_hi = bounds
        s = atlas.texel
        ah, aw = atlas.base.shape[:2]
        out = []
        river = self.scene.river
        items = self.scene.items
        if self._item_arrays is None or self._item_arrays[0] != items:  # the scene's items changed
            fields = ("s0", "speed_m_s", "lateral", "size_m", "lateral_speed_m_s", "bank_m")
            self._item_arrays = (items, tuple(np.array([getattr(i, f) for i in items]) for f in fields))
        s0, speed, lateral, size, lateral_speed, bank = self._item_arrays[1]
        # every item's position at t in one vectorized step (same arithmetic as WorldItem.position_ne)
        lateral = np.clip(lateral + lateral_speed * t, -bank, bank)
        ne = river.point_at((s0 + speed * t) % river.length_m, lateral).reshape(-1, 2)
        near = (
            (ne[:, 0] >= n_lo - size)
            & (ne[:, 0] <= n_hi + size)
            & (ne[:, 1] >= e_lo - size)
            & (ne[:, 1] <= e_hi + size)
        )
        # surface marks first, then debris, then what sits above it (boats, birds hide debris)
        order = sorted(np.nonzero(near)[0].tolist(), key=lambda k: _LAYER.get(items[k].kind, 1))
        drawn_debris: list[tuple[int, tuple[int, int, int, int], np.ndarray]] = []
        for k in order:
            item = items[k]
            pn, pe = float(ne[k, 0]), float(ne[k, 1])
            sprite = self._sprite(item)
            col, al = sprite.at(s)
            hd = math.radians(item.heading_deg(t))
            ch, sh = math.cos(hd), math.sin(hd)
            # sprite x (length) -> heading; sprite y -> heading + 90 deg; atlas col = east, row = south
            a_ = np.array([[sh, ch], [-ch, sh]])
            h, w = al.shape
            centre_sp = np.array([(w - 1) / 2, (h - 1) / 2])
            centre_at = np.array([(pe - atlas.e0) / s - 0.5, (atlas.n0 - pn) / s - 0.5])
            corners = (
                np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]]) - centre_sp
            ) @ a_.T + centre_at
            x0, y0 = np.floor(corners.min(0)).astype(int) - 1
            x1, y1 = np.ceil(corners.max(0)).astype(int) + 2
            x0c, y0c, x1c, y1c = max(x0, 0), max(y0, 0), min(x1, aw), min(y1, ah)
            if x1c <= x0c or y1c <= y0c:
                continue
            mtx = np.hstack([a_, (centre_at - a_ @ centre_sp - [x0c, y0c])[:, None]])
            size = (x1c - x0c, y1c - y0c)
            pa = cv2.warpAffine(al, mtx, size, flags=cv2.INTER_LINEAR, borderValue=0)
            pc = cv2.warpAffine(col, mtx, size, flags=cv2.INTER_LINEAR, borderValue=0)
            region = (y0c, y1c, x0c, x1c)
            under = atlas.base[y0c:y1c, x0c:x1c]
            seen = atlas.view[y0c:y1c, x0c:x1c]
            saved = (under.copy(), seen.copy())
            under[:] = np.clip(under * (1 - pa[..., None]) + pc * pa[..., None], 0, 255).astype(np.uint8)
            occluded = 0.0
            ov = None if atlas.overlay is None else atlas.overlay[y0c:y1c, x0c:x1c]
            if ov is not None and ov[..., 3].any():
                seen[..., :3] = _over(under, ov)
                tot = float(pa.sum())
                occluded = float((pa * ov[..., 3]).sum()) / 255 / tot if tot > 0 else 0.0
            else:
                seen[..., :3] = under
            if item.is_debris:
                drawn_debris.append((len(out), region, pa))
            elif _LAYER.get(item.kind, 1) > 1:
                self._occlude(out, drawn_debris, region, pa)
            out.append((item, region, saved, occluded, (pn, pe), hd))
        return out

    @staticmethod
    def _occlude(
        out: list[tuple], drawn_debris: list[tuple[int, tuple[int, int, int, int], np.ndarray]], region, pa
    ) -> None:
        """Add to each earlier-drawn debris item's hidden fraction what a boat/bird covers of it."""
        y0, y1, x0, x1 = region
        for idx, (dy0, dy1, dx0, dx1), da in drawn_debris:
            iy0, iy1, ix0, ix1 = max(y0, dy0), min(y1, dy1), max(x0, dx0), min(x1, dx1)
            if iy0 >= iy1 or ix0 >= ix1:
                continue
            d = da[iy0 - dy0 : iy1 - dy0, ix0 - dx0 : ix1 - dx0]
            b = pa[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0]
            tot = float(da.sum())
            if tot > 0:
                it, reg, sv, occ, pos, hd = out[idx]
                out[idx] = (it, reg, sv, min(1.0, occ + float((d * b).sum()) / tot), pos, hd)

    @staticmethod
    def _restore(atlas: _Atlas, drawn: list[tuple]) -> None:
        for _item, region, saved, *_ in reversed(drawn):
            if region is not None:
                y0, y1, x0, x1 = region
                atlas.base[y0:y1, x0:x1] = saved[0]
                atlas.view[y0:y1, x0:x1] = saved[1]

    def _light(
        self,
        img: np.ndarray,
        atlas: _Atlas,
        d: np.ndarray,
        hit_n: np.ndarray,
        hit_e: np.ndarray,
        hit_t: np.ndarray,
        valid: np.ndarray,
        grid: tuple[int, int],
        radius: np.ndarray,
        camera: CameraModel,
        t: float,
    ) -> np.ndarray:
        """Per-frame light on a coarse grid, applied as ``img * gain + offset`` at full resolution."""
        ap = self.scene.appearance
        assert ap is not None
        gw, gh = grid
        n = np.where(valid, hit_n, 0.0).astype(np.float32)
        e = np.where(valid, hit_e, 0.0).astype(np.float32)
        # animated wave slopes: a few directional swells around the wind direction
        sx = np.zeros_like(n)
        sy = np.zeros_like(n)
        rng = np.random.default_rng(self.scene.seed + 99)
        for _ in range(5):
            ang = math.radians(ap.wind_dir_deg + rng.normal(0, 35))
            lam = ap.wave_length_m * rng.uniform(0.8, 4.0)
            kk = 2 * math.pi / lam
            omega = math.sqrt(9.81 * kk)
            amp = 0.05 * ap.wind_speed * rng.uniform(0.5, 1.0)
            ph = kk * (n * math.cos(ang) + e * math.sin(ang)) - omega * t + rng.uniform(0, 2 * math.pi)
            g = amp * np.cos(ph)
            sx += g * math.cos(ang)
            sy += g * math.sin(ang)
        normal = np.stack([-sx, -sy, -np.ones_like(sx)], 1)
        normal /= np.linalg.norm(normal, axis=1, keepdims=True)
        vd = d
        to_sun = ap.sun_direction_ned().astype(np.float32)
        # glitter: where the flat-water mirror direction is within the wave-slope spread of the sun
        flat = vd * np.array([1.0, 1.0, -1.0], np.float32)
        ang = np.degrees(np.arccos(np.clip(flat @ to_sun, -1, 1)))
        spread = 6.0 + 14.0 * ap.wind_speed
        envelope = ap.glint * (0.75 * np.exp(-((ang / spread) ** 2)) + 0.6 * np.exp(-((ang / 2.5) ** 2)))
        cos_i = np.clip(-(vd * normal).sum(1), 0, 1)
        fresnel = 0.02 + 0.98 * (1 - cos_i) ** 5
        # water fraction under each sample, from the atlas
        s = atlas.texel
        col = np.clip(((e - atlas.e0) / s).astype(int), 0, atlas.water.shape[1] - 1)
        row = np.clip(((atlas.n0 - n) / s).astype(int), 0, atlas.water.shape[0] - 1)
        wat = atlas.water[row, col].astype(np.float32) / 255 * valid
        horiz = np.where(valid, hit_t * np.hypot(vd[:, 0], vd[:, 1]), MAX_RANGE_M)
        # aerial perspective: a floor of haze, growing with distance, opaque at the range limit
        haze = ap.haze + (1 - ap.haze) * (1 - np.exp(-horiz / 900.0)) * 0.6
        haze += np.clip((horiz - 0.8 * MAX_RANGE_M) / (0.2 * MAX_RANGE_M), 0, 1)
        haze = np.where(valid, np.clip(haze, 0, 1), 1.0)
        # vignetting over the normalized image radius
        vig = 1 - ap.vignetting * radius * 2
        tint = np.array(ap.tint_bgr)
        # the sky seen in the water: Fresnel reflection, plus clouds drifting across the reflected sky
        refl_dir = flat / np.maximum(-flat[:, 2:3], 0.05)
        rx = (refl_dir[:, 0] * 3.0 + 0.01 * t).reshape(gh, gw)
        ry = (refl_dir[:, 1] * 3.0).reshape(gh, gw)
        clouds = value_noise(rx, ry, 1.0, self.scene.seed + 77) + 0.5 * value_noise(
            rx, ry, 0.35, self.scene.seed + 78
        )
        clouds = clouds.ravel() / 1.5
        cloud = np.clip((clouds - 0.45) * 2.5, 0, 1) * ap.clouds
        refl = (0.4 * fresnel + 0.25 * cloud) * wat
        gain = (ap.exposure * ap.contrast * vig * (1 - haze) * (1 - refl))[:, None] * tint
        sky = np.array(ap.sky_bgr)
        sheen = 0.12 * envelope * wat * 255
        offset = (
            haze[:, None] * sky
            + (1 - haze)[:, None]
            * (refl[:, None] * sky + sheen[:, None] * np.array([1.0, 0.98, 0.92]))
            * ap.exposure
        ) + (1 - ap.contrast) * 110.0
        glitter = np.clip(envelope * wat * (1 - haze) * 255, 0, 255).astype(np.uint8).reshape(gh, gw)
        gain_img = np.clip(gain * 128, 0, 255).astype(np.uint8).reshape(gh, gw, 3)
        off_img = np.clip(offset, 0, 255).astype(np.uint8).reshape(gh, gw, 3)
        gain_full = self._up(gain_img, camera)
        off_full = self._up(off_img, camera)
        out = cv2.add(cv2.multiply(img, gain_full, scale=1 / 128), off_full)
        if glitter.max() > 3:  # sun glitter: the smooth envelope times twinkling sparkles
            g_full = self._up(glitter, camera)
            sparkle = self._sparkle_view(camera.height, camera.width, t)
            # at the envelope's edge only the strongest sparkles survive: density follows the sun
            g_full = cv2.multiply(cv2.subtract(sparkle, cv2.subtract(255, g_full)), g_full, scale=1 / 40)
            out = cv2.add(out, cv2.cvtColor(g_full, cv2.COLOR_GRAY2BGR))
        return out

    def _sparkle_view(self, h: int, w: int, t: float) -> np.ndarray:
        """A sparse field of specular points, at a per-frame offset so the glitter twinkles."""
        if self._sparkle is None or self._sparkle.shape[0] < h + 64 or self._sparkle.shape[1] < w + 64:
            g = np.random.default_rng(self.scene.seed + 6)
            u = g.random((h + 64, w + 64), dtype=np.float32)
            pts = np.where(u > 0.975, g.uniform(0.0, 1.0, u.shape).astype(np.float32) ** 0.5, 0)
            pts = cv2.GaussianBlur(pts, (0, 0), 0.8)
            pts = cv2.dilate(pts, np.ones((2, 2), np.uint8))
            self._sparkle = np.clip(pts / max(float(pts.max()), 1e-6) * 255 * 1.6, 0, 255).astype(np.uint8)
        g = np.random.default_rng([self.scene.seed, round(t * 1000) & 0xFFFFFFFF, 1])
        oy, ox = (int(x) for x in g.integers(0, 64, 2))
        return self._sparkle[oy : oy + h, ox : ox + w]

    def _sensor(self, img: np.ndarray, t: float) -> np.ndarray:
        """Shot/read noise (a cached noise field at a per-frame offset) and optional lens blur."""
        ap = self.scene.appearance
        assert ap is not None
        h, w = img.shape[:2]
        if ap.blur_sigma > 0.3:
            img = cv2.GaussianBlur(img, (0, 0), ap.blur_sigma)
        if ap.noise_sigma > 0.2:
            if self._noise is None or self._noise.shape[0] < h + 64 or self._noise.shape[1] < w + 64:
                g = np.random.default_rng(self.scene.seed + 5)
                self._noise = np.clip(g.normal(128, 16, (h + 64, w + 64, 3)), 0, 255).astype(np.uint8)
            g = np.random.default_rng([self.scene.seed, round(t * 1000) & 0xFFFFFFFF])
            oy, ox = (int(x) for x in g.integers(0, 64, 2))
            nz = self._noise[oy : oy + h, ox : ox + w]
            k = ap.noise_sigma / 16.0
            img = cv2.addWeighted(img, 1.0, nz, k, -128.0 * k)
        return img

    def _truth(
        self, drawn: list[tuple], c: np.ndarray, r: np.ndarray, camera: CameraModel, t: float
    ) -> tuple[list[TruthBox], list[TruthBox]]:
        truth: list[TruthBox] = []
        distractors: list[TruthBox] = []
        w, h = camera.width, camera.height
        for item, _region, _saved, occluded, pos, hd in drawn:
            if item is None:
                continue
            sprite = self._sprites[item]
            ch, sh = math.cos(hd), math.sin(hd)
            hx, hy = sprite.hull_m[:, 0], sprite.hull_m[:, 1]
            pn = pos[0] + hx * ch - hy * sh
            pe = pos[1] + hx * sh + hy * ch
            pts = np.stack([pn, pe, np.zeros_like(pn)], 1)
            uv, front = project_world_to_pixel(pts, c, r, camera)
            if not front.all():
                continue
            bx1, by1 = uv.min(0) + 0.5
            bx2, by2 = uv.max(0) + 0.5
            area = max((bx2 - bx1) * (by2 - by1), 1e-9)
            cx1, cy1, cx2, cy2 = max(bx1, 0), max(by1, 0), min(bx2, w), min(by2, h)
            if cx2 <= cx1 or cy2 <= cy1:
                continue
            vis = (cx2 - cx1) * (cy2 - cy1) / area * (1 - occluded)
            if vis <= 0:
                continue
            lat, lon = self.scene.to_lat_lon(*pos)
            box = TruthBox(
                item_id=item.item_id,
                kind=item.kind,
                class_index=item.class_index,
                x1=float(cx1),
                y1=float(cy1),
                x2=float(cx2),
                y2=float(cy2),
                visible_fraction=float(vis),
                lat=lat,
                lon=lon,
                size_m=item.size_m,
                heading_deg=math.degrees(hd) % 360,
            )
            (truth if item.is_debris else distractors).append(box)
        return truth, distractors


_renderers: dict[int, tuple[RiverScene, CameraMount, Renderer]] = {}


def render(
    scene: RiverScene,
    pose: CameraPose,
    camera: CameraModel | None = None,
    t: float = 0.0,
    mount: CameraMount | None = None,
    jpeg_quality: int | None = None,
) -> Frame:
    """One frame of ``scene`` from ``pose`` at time ``t`` (a cached ``Renderer`` per scene)."""
    camera = camera or CameraModel.default()
    mount = mount or CameraMount()
    entry = _renderers.get(id(scene))
    if entry is None or entry[0] is not scene or entry[1] != mount:
        if len(_renderers) > 8:
            _renderers.clear()
        entry = (scene, mount, Renderer(scene, mount))
        _renderers[id(scene)] = entry
    return entry[2].render(pose, camera, t, jpeg_quality)


def local_of(scene: RiverScene, lat: float, lon: float) -> tuple[float, float]:
    """(north, east) of a lat/lon in the scene's tangent plane."""
    return to_local(scene.origin[0], scene.origin[1], lat, lon)
