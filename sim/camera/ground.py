"""World-fixed ground texture tiles: water, banks, bridges and their shadows, seen from above.

A tile is ``TILE`` x ``TILE`` texels of ``texel_m`` metres; tile ``(tx, ty)`` spans east
``[tx, tx+1) * TILE * texel_m`` and north ``(-(ty+1), -ty] * TILE * texel_m`` (rows run south),
so tiles drawn separately agree at their seams. Bridge decks go to a separate overlay, drawn
after the floating items so a bridge hides what floats under it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from sim.camera.noise import TileNoise, fbm, hash2
from sim.camera.scene import Bridge, RiverScene

TILE = 256
_COARSE = 8  # river geometry is evaluated every 8 texels and interpolated


@dataclass
class Tile:
    base: np.ndarray  # (T,T,3) uint8 BGR: ground, water, shadows
    water: np.ndarray  # (T,T) uint8 0..255: how much of the texel is open water (for glint)
    overlay: np.ndarray | None  # (T,T,4) uint8 BGRA bridge decks, or None when there is none


def texel_grid(
    tx: int, ty: int, texel_m: float, n: int = TILE, step: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """East and north (metres) of texel centres in a tile, (n/step, n/step) float32 each."""
    idx = np.arange(0, n, step, dtype=np.float64) + 0.5
    east = (tx * TILE + idx) * texel_m
    north = -(ty * TILE + idx) * texel_m
    e, nn = np.meshgrid(east, north)
    return e.astype(np.float32), nn.astype(np.float32)


def _bridge_local(
    b: Bridge, scene: RiverScene, n: np.ndarray, e: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates along the deck (u, across the river) and across it (v, along the flow)."""
    c = scene.river.point_at(b.s)
    d = scene.river.direction_at(b.s)
    ang = math.atan2(d[1], d[0]) + math.radians(b.skew_deg)
    dn, de = math.cos(ang), math.sin(ang)
    rn, re = n - c[0], e - c[1]
    v = rn * dn + re * de
    u = -rn * de + re * dn
    return u, v


def _near_bridge(
    b: Bridge, centre: np.ndarray, box: tuple[float, float, float, float], dn: float, de: float
) -> bool:
    """Whether the deck of ``b`` (centred at ``centre``, north/east), moved by (``dn``, ``de``)
    metres, may reach the tile ``box`` (north min/max, east min/max): a circle around the deck
    against the box, a metre to spare."""
    cn, ce = float(centre[0]) + dn, float(centre[1]) + de
    r = math.hypot(b.length_m / 2, b.width_m / 2) + 1.0
    gap_n = max(box[0] - cn, 0.0, cn - box[1])
    gap_e = max(box[2] - ce, 0.0, ce - box[3])
    return math.hypot(gap_n, gap_e) <= r


def make_tile(scene: RiverScene, tx: int, ty: int, texel_m: float) -> Tile:
    """Render one tile of the scene's static ground at ``texel_m`` metres per texel."""
    ap = scene.appearance
    assert ap is not None
    seed = scene.seed
    e, n = texel_grid(tx, ty, texel_m)
    tn = TileNoise(e, n, _COARSE)
    cs, clat = scene.river.locate(tn.c_north, tn.c_east)
    s, lat = tn.up(cs), tn.up(clat)
    ident = _identity
    half = scene.width_m / 2
    # bank type varies along each side: concrete embankment or natural vegetated bank
    c_nat = fbm(
        cs.astype(np.float32) + np.sign(clat).astype(np.float32) * 5000,
        np.zeros_like(cs, np.float32),
        180.0,
        seed + 7,
        2,
    )
    natural = tn.up(c_nat) > 0.1
    edge_jitter = np.where(natural, 1.2, 0.08) * tn.fbm(ident, 2.5, seed + 3, 3)
    dist_edge = half + edge_jitter - np.abs(lat)  # >0 on water
    water_a = np.clip(dist_edge / max(texel_m, 0.02) + 0.5, 0, 1).astype(np.float32)

    out = np.zeros((TILE, TILE, 3), np.float32)
    if water_a.max() > 0:
        wbgr = np.array(ap.water_bgr, np.float32)
        silt = np.array((110, 150, 170), np.float32)
        turb = np.clip(ap.turbidity * (0.6 + 0.8 * tn.fbm(ident, 60.0, seed + 11, 3)), 0, 1)
        col = wbgr[None, None, :] * (1 - turb[..., None]) + silt * turb[..., None]
        # waves: anisotropic noise stretched across the wind; ripples finer; slicks along the flow
        wd = math.radians(ap.wind_dir_deg)
        sw, cw = np.float32(math.sin(wd)), np.float32(math.cos(wd))

        def wind(ee: np.ndarray, nn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return ee * sw + nn * cw, (ee * cw - nn * sw) * np.float32(0.3)

        lam = ap.wave_length_m
        waves = tn.fbm(wind, lam, seed + 13, 4, 0.55)
        ripples = tn.fbm(ident, lam / 4, seed + 17, 3)
        # wave crests: thin bright lines where a wind-aligned noise crosses zero (sky reflections)
        crest_n = tn.fbm(wind, lam * 0.8, seed + 29, 2)
        gusts = np.clip(0.35 + tn.fbm(ident, 30.0, seed + 53, 2), 0, 1)  # wind gusts ruffle patches
        crests = (1 - np.minimum(np.abs(crest_n) * 4, 1)) ** 3 * gusts
        slicks = tn.up(fbm(cs.astype(np.float32) * 0.05, clat.astype(np.float32), 1.5, seed + 19, 3))
        slick = np.clip((slicks - 0.35) * 3, 0, 1) * 0.12
        depth = np.clip(dist_edge / 6.0, 0, 1)  # shallower, darker and greener near the banks
        gain = (
            1
            + ap.wave_contrast * waves
            + ap.ripple_contrast * ripples
            + 1.5 * ap.ripple_contrast * crests
            + slick
            - 0.12 * (1 - depth)
        )
        col *= gain[..., None]
        out += col * water_a[..., None]
    if water_a.min() < 1:
        out += _banks(scene, tn, s, natural, -dist_edge) * (1 - water_a[..., None])
    shadow = np.ones((TILE, TILE), np.float32)
    overlay = None
    near = natural & (dist_edge > -0.5) & (dist_edge < 8.0)
    if near.any():
        # natural banks: trees overhang the water (drawn above floating items) and shade it
        tree, tree_shadow, leaf = _canopy(scene, tn)
        overhang = 0.5 + 3.0 * np.clip(tn.fbm(ident, 9.0, seed + 47, 2) + 0.5, 0, 1)
        on_water = np.clip(dist_edge / 0.3 + 0.5, 0, 1)  # the land already has its own trees
        over = tree * np.clip((overhang - dist_edge) / 0.3, 0, 1) * natural * on_water
        shade = tree_shadow * natural * np.clip((overhang + 3.0 - dist_edge) / 1.0, 0, 1) * on_water
        shadow *= 1 - 0.45 * shade * (1 - over)
        if over.max() > 0.02:
            overlay = np.zeros((TILE, TILE, 4), np.float32)
            overlay[..., :3] = (0.7 + 0.35 * leaf)[..., None] * np.array(ap.vegetation_bgr, np.float32)
            overlay[..., 3] = over * 255
    span = TILE * texel_m
    box = (-(ty + 1) * span, -ty * span, tx * span, (tx + 1) * span)  # the tile's north and east extent
    for b in scene.bridges:
        sun = ap.sun_direction_ned()
        horiz = math.hypot(sun[0], sun[1])
        reach = b.height_m / max(math.tan(math.radians(ap.sun_elev_deg)), 0.2)
        sn, se = sun[0] / max(horiz, 1e-6) * reach, sun[1] / max(horiz, 1e-6) * reach
        # most tiles are far from every bridge: a bounding test spares them the per-texel work
        centre = scene.river.point_at(b.s)
        if _near_bridge(b, centre, box, -sn, -se):
            u, v = _bridge_local(b, scene, n + sn, e + se)
            inside = (np.abs(u) < b.length_m / 2) & (np.abs(v) < b.width_m / 2)
            if inside.any():
                soft = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), max(0.5, 0.15 / texel_m))
                shadow *= 1 - 0.55 * soft
        if not _near_bridge(b, centre, box, 0.0, 0.0):
            continue
        u, v = _bridge_local(b, scene, n, e)
        deck = (np.abs(u) < b.length_m / 2) & (np.abs(v) < b.width_m / 2)
        if deck.any():
            overlay = np.zeros((TILE, TILE, 4), np.float32) if overlay is None else overlay
            dcol = (
                np.array(b.deck_bgr, np.float32)
                * (1 + 0.06 * tn.fbm(_identity, 1.5, seed + 23, 3))[..., None]
            )
            lane_w = b.width_m / b.lanes
            stripe = (np.abs((v + b.width_m / 2) % lane_w) < 0.15) & ((u % 6.0) < 3.0)
            edge = np.abs(v) > b.width_m / 2 - 1.0
            dcol[stripe] = (225, 225, 225)
            dcol[edge] = np.array(b.deck_bgr, np.float32) * 1.5
            rail = np.abs(np.abs(v) - b.width_m / 2 + 0.1) < 0.1
            dcol[rail] = (60, 60, 60)
            overlay[..., :3] = np.where(deck[..., None], dcol, overlay[..., :3])
            overlay[..., 3] = np.maximum(overlay[..., 3], deck * 255.0)
    out *= shadow[..., None]
    return Tile(
        base=np.clip(out, 0, 255).astype(np.uint8),
        water=np.clip(
            water_a * shadow * (1 - (0 if overlay is None else overlay[..., 3] / 255)) * 255, 0, 255
        ).astype(np.uint8),
        overlay=None if overlay is None else np.clip(overlay, 0, 255).astype(np.uint8),
    )


def _identity(e: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return e, n


def _canopy(scene: RiverScene, tn: TileNoise) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tree cover (0..1), where trees shade the ground (0..1) and leaf texture, world-fixed."""
    ap = scene.appearance
    assert ap is not None
    seed = scene.seed
    canopy_n = tn.fbm(_identity, 7.0, seed + 41, 4)
    leaf = tn.fbm(_identity, 0.6, seed + 43, 3)
    sun = ap.sun_direction_ned()
    horiz = max(math.hypot(sun[0], sun[1]), 1e-6)
    reach = 4.0 / max(math.tan(math.radians(ap.sun_elev_deg)), 0.3)
    de, dn = np.float32(sun[1] / horiz * reach), np.float32(sun[0] / horiz * reach)
    canopy_shadow = tn.fbm(lambda ee, nn: (ee + de, nn + dn), 7.0, seed + 41, 4)
    tree = np.clip((canopy_n - 0.1) * 6, 0, 1)
    tree_shadow = np.clip((canopy_shadow - 0.1) * 6, 0, 1)
    return tree, tree_shadow, leaf


def _banks(
    scene: RiverScene, tn: TileNoise, s: np.ndarray, natural: np.ndarray, beyond: np.ndarray
) -> np.ndarray:
    """Colour of the land: concrete embankments with joints and algae, or mud and vegetation.

    Each material is its colour times a scalar shading field, so the per-texel work is scalar.
    """
    ap = scene.appearance
    assert ap is not None
    seed = scene.seed
    ident = _identity
    stains = tn.fbm(ident, 4.0, seed + 31, 4)
    grain = tn.fbm(ident, 0.4, seed + 37, 2)
    tree, tree_shadow, leaf = _canopy(scene, tn)
    land = (1.1 + 0.15 * grain) * (1 - 0.45 * tree_shadow * (1 - tree)) * (1 - tree) + (
        0.75 + 0.35 * leaf
    ) * tree
    # embankment slope of ~6 m, then a ~3 m path, then land; natural banks: a mud fringe, then land
    concrete_side = ~natural
    w_slope = (concrete_side & (beyond < 6.0)).astype(np.float32)
    w_path = (concrete_side & (beyond >= 6.0) & (beyond < 9.0)).astype(np.float32)
    w_mud = (natural & (beyond < 0.8)).astype(np.float32)
    w_land = 1 - w_slope - w_path - w_mud
    joints = ((s % 4.0) < 0.04) | ((beyond % 1.5) < 0.03)
    wet = np.clip(1 - beyond / 0.8, 0, 1) * 0.45
    slope = (1 + 0.1 * stains + 0.05 * grain) * np.where(joints, 0.82, 1.0) * (1 - wet)
    out = np.empty((*s.shape, 3), np.float32)
    out[:] = (w_land * land)[..., None] * np.array(ap.vegetation_bgr, np.float32)
    out += (w_slope * slope)[..., None] * np.array(ap.concrete_bgr, np.float32)
    out += (w_slope * wet)[..., None] * np.array((50, 80, 60), np.float32)
    out += (w_path * (1 + 0.05 * grain))[..., None] * np.array((170, 180, 185), np.float32)
    out += (w_mud * (0.7 + 0.15 * grain))[..., None] * np.array(ap.soil_bgr, np.float32)
    far = beyond > 11.0
    if far.any():
        _town(scene, tn, s, beyond, concrete_side, grain, out)
    return out


_ROOFS = np.array(
    [
        (190, 190, 185),
        (95, 95, 100),
        (170, 125, 75),
        (70, 90, 170),
        (95, 140, 95),
        (228, 228, 225),
        (140, 150, 160),
    ],
    np.float32,
)


def _roof_at(east: np.ndarray, north: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Whether a point is on a roof of the block grid (30 m blocks, one building each), and its cell."""
    cell = 30.0
    ci, cj = np.floor(east / cell), np.floor(north / cell)
    fx, fy = east / cell - ci, north / cell - cj
    h = [hash2(ci, cj, seed + k) for k in range(4)]
    x0, x1 = 0.08 + 0.2 * h[0], 0.92 - 0.2 * h[1]
    y0, y1 = 0.08 + 0.2 * h[2], 0.92 - 0.2 * h[3]
    return (fx > x0) & (fx < x1) & (fy > y0) & (fy < y1), hash2(ci, cj, seed + 9)


def _town(
    scene: RiverScene,
    tn: TileNoise,
    s: np.ndarray,
    beyond: np.ndarray,
    concrete_side: np.ndarray,
    grain: np.ndarray,
    out: np.ndarray,
) -> None:
    """Urban river banks: a road behind the embankment, and flat roofs (with shadows) further back."""
    ap = scene.appearance
    assert ap is not None
    seed = scene.seed
    road = concrete_side & (beyond > 11.0) & (beyond < 18.0)
    if road.any():
        asphalt = np.array((78, 78, 82), np.float32) * (1 + 0.05 * grain)[..., None]
        dash = (np.abs(beyond - 14.5) < 0.08) & ((s % 6.0) < 3.0)
        asphalt[dash] = (215, 215, 215)
        out[road] = asphalt[road]
    urban = (tn.fbm(_identity, 250.0, seed + 61, 2) > -0.2) & (beyond > 24.0)
    if not urban.any():
        return
    e, n = tn.east, tn.north
    roof, pick = _roof_at(e, n, seed + 71)
    built = hash2(np.floor(e / 30.0), np.floor(n / 30.0), seed + 72) < 0.75  # some blocks are parks
    roof &= urban & built
    sun = ap.sun_direction_ned()
    horiz = max(math.hypot(sun[0], sun[1]), 1e-6)
    reach = 15.0 / max(math.tan(math.radians(ap.sun_elev_deg)), 0.25)
    se, sn = e + np.float32(sun[1] / horiz * reach), n + np.float32(sun[0] / horiz * reach)
    shade, _ = _roof_at(se, sn, seed + 71)
    shade &= urban & ~roof & (hash2(np.floor(se / 30.0), np.floor(sn / 30.0), seed + 72) < 0.75)
    shade &= beyond > 24.0 + reach  # the casting roof must itself be in town, not on the river side
    out[shade] *= 0.55
    colour = _ROOFS[(pick * len(_ROOFS)).astype(int) % len(_ROOFS)] * (1 + 0.04 * grain)[..., None]
    out[roof] = colour[roof]
