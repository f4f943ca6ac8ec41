"""Split a large frame into overlapping tiles so small debris keeps enough pixels (pure)."""

from __future__ import annotations


def _starts(length: int, tile: int, overlap: int) -> list[int]:
    if tile >= length:
        return [0]
    step = max(1, tile - overlap)
    starts = list(range(0, length - tile, step))
    starts.append(length - tile)  # last tile flush with the edge, never past it
    return sorted(set(starts))


def tile_grid(
    frame_hw: tuple[int, int], tile_hw: tuple[int, int], overlap: float
) -> list[tuple[int, int, int, int]]:
    """``(x1, y1, x2, y2)`` windows covering the frame; neighbours share ``overlap`` of a tile.

    An object smaller than the overlap is whole in at least one tile, which is what makes
    cross-tile NMS sufficient at seams.
    """
    if not 0 <= overlap < 1:
        raise ValueError(f"tile overlap must be in [0, 1), got {overlap}")
    fh, fw = frame_hw
    th, tw = min(tile_hw[0], fh), min(tile_hw[1], fw)
    if th <= 0 or tw <= 0:
        raise ValueError(f"tile size must be positive, got {tile_hw}")
    ys = _starts(fh, th, round(th * overlap))
    xs = _starts(fw, tw, round(tw * overlap))
    return [(x, y, x + tw, y + th) for y in ys for x in xs]
