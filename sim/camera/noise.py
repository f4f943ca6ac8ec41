"""Deterministic noise defined in world metres, so any tile rendered anywhere agrees at its edges.

Values come from hashing integer lattice coordinates with a seed (no RNG state), and are
interpolated with ``cv2.remap`` (bicubic) at the exact world position of each texel.
"""

from __future__ import annotations

import cv2
import numpy as np

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)
_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def hash2(ix: np.ndarray, iy: np.ndarray, seed: int) -> np.ndarray:
    """Uniform [0, 1) float32 from integer lattice coordinates and a seed (splitmix64 mixing)."""
    with np.errstate(over="ignore"):
        x = ix.astype(np.int64).astype(np.uint64) * _M1
        x ^= (iy.astype(np.int64).astype(np.uint64) + np.uint64(0x632BE59BD9B4E019)) * _M2
        x ^= np.uint64(seed & 0xFFFFFFFF) * _M3
        x ^= x >> np.uint64(30)
        x *= _M2
        x ^= x >> np.uint64(27)
        x *= _M3
        x ^= x >> np.uint64(31)
    return ((x >> np.uint64(40)).astype(np.float32)) / np.float32(1 << 24)


def value_noise(east: np.ndarray, north: np.ndarray, cell_m: float, seed: int) -> np.ndarray:
    """Smooth noise in [0, 1] (roughly) at world points (same-shape float32 arrays, metres)."""
    u = east / np.float32(cell_m)
    v = north / np.float32(cell_m)
    u0 = int(np.floor(u.min())) - 2
    v0 = int(np.floor(v.min())) - 2
    nu = int(np.floor(u.max())) - u0 + 4
    nv = int(np.floor(v.max())) - v0 + 4
    ju, jv = np.meshgrid(np.arange(u0, u0 + nu), np.arange(v0, v0 + nv))
    lattice = hash2(ju, jv, seed)
    out = cv2.remap(
        lattice,
        (u - u0).astype(np.float32),
        (v - v0).astype(np.float32),
        cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_REFLECT,
    )
    return out


def fbm(
    east: np.ndarray,
    north: np.ndarray,
    cell_m: float,
    seed: int,
    octaves: int = 4,
    gain: float = 0.5,
    min_cell_m: float = 0.0,
) -> np.ndarray:
    """Fractal sum of ``value_noise`` octaves, centred on 0 (about [-1, 1]); octaves finer than
    ``min_cell_m`` (about two texels) are dropped so nothing aliases."""
    total = np.zeros(east.shape, np.float32)
    amp, norm, cell = 1.0, 0.0, cell_m
    for k in range(octaves):
        if cell < min_cell_m:
            break
        total += np.float32(amp) * (value_noise(east, north, cell, seed * 131 + k) - 0.5)
        norm += amp
        amp *= gain
        cell *= 0.5
    return total * np.float32(2.0 / max(norm, 1e-6))


class TileNoise:
    """``fbm`` over one tile, with octaves much coarser than a texel evaluated on a sparse grid
    (every ``step`` texels) and interpolated, which is most of the speed of tile generation."""

    def __init__(self, east: np.ndarray, north: np.ndarray, step: int = 8) -> None:
        h, w = east.shape
        self.east, self.north, self.step = east, north, step
        texel = float(abs(east[0, 1] - east[0, 0])) if w > 1 else 1.0
        self.texel = texel
        # sparse grid: texel index -step .. n+step in strides of step
        ci = np.arange(-step, w + 2 * step, step, dtype=np.float32)
        cj = np.arange(-step, h + 2 * step, step, dtype=np.float32)
        e0, n0 = float(east[0, 0]), float(north[0, 0])
        ce, cn = np.meshgrid(e0 + ci * texel, n0 - cj * texel)
        self.c_east, self.c_north = ce.astype(np.float32), cn.astype(np.float32)
        mx, my = np.meshgrid(
            (np.arange(w, dtype=np.float32) + step) / step, (np.arange(h, dtype=np.float32) + step) / step
        )
        self._mx, self._my = mx, my

    def up(self, coarse: np.ndarray) -> np.ndarray:
        """A sparse-grid field at every texel (bilinear)."""
        return cv2.remap(coarse.astype(np.float32), self._mx, self._my, cv2.INTER_LINEAR)

    def fbm(self, coords, cell_m: float, seed: int, octaves: int = 4, gain: float = 0.5) -> np.ndarray:
        """Like ``fbm`` at ``coords(east, north) -> (x, y)`` (a map of world metres, applied to
        both grids); octaves finer than ~2 texels are dropped."""
        fx, fy = coords(self.east, self.north)
        cx, cy = coords(self.c_east, self.c_north)
        fine_total = np.zeros(self.east.shape, np.float32)
        coarse_total = np.zeros(self.c_east.shape, np.float32)
        amp, norm, cell = 1.0, 0.0, cell_m
        # the coordinate map may stretch: judge octave size in the map's own units
        scale = float(np.hypot(fx[0, 1] - fx[0, 0], fy[0, 1] - fy[0, 0])) if fx.shape[1] > 1 else self.texel
        scale = max(
            scale, float(np.hypot(fx[1, 0] - fx[0, 0], fy[1, 0] - fy[0, 0])) if fx.shape[0] > 1 else 0
        )
        for k in range(octaves):
            if cell < 2.2 * scale:
                break
            if cell >= 4 * self.step * scale:
                coarse_total += np.float32(amp) * (value_noise(cx, cy, cell, seed * 131 + k) - 0.5)
            else:
                fine_total += np.float32(amp) * (value_noise(fx, fy, cell, seed * 131 + k) - 0.5)
            norm += amp
            amp *= gain
            cell *= 0.5
        if coarse_total.any():
            fine_total += self.up(coarse_total)
        return fine_total * np.float32(2.0 / max(norm, 1e-6))
