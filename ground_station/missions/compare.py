"""Read-back verification: does the vehicle hold the mission we sent? (pure)

The wire quantises lat/lon to 1e-7 degrees (MISSION_ITEM_INT) and params/alt to float32,
so equality is within those steps; anything more is a real difference and is listed.
"""

from __future__ import annotations

import math

from ground_station.mavlink.mission import GLOBAL_FRAMES, MissionItem

#: Half a MISSION_ITEM_INT step plus rounding slack, degrees.
LATLON_TOL_DEG = 1.5e-7
#: float32 keeps ~7 significant digits.
FLOAT32_REL_TOL = 1e-6
FLOAT32_ABS_TOL = 1e-5


def _same(a: float, b: float, abs_tol: float, rel_tol: float = FLOAT32_REL_TOL) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol)


def diff_missions(sent: list[MissionItem], back: list[MissionItem]) -> list[str]:
    """Human-readable differences between two missions (items 1..n); empty when identical."""
    out: list[str] = []
    if len(sent) != len(back):
        out.append(f"item count: sent {len(sent)}, vehicle holds {len(back)}")
    for a, b in zip(sent, back, strict=False):
        where = f"item {a.seq}"
        for name in ("seq", "command", "frame", "autocontinue"):
            va, vb = getattr(a, name), getattr(b, name)
            if va != vb:
                out.append(f"{where} {name}: sent {va}, vehicle has {vb}")
        for name in ("param1", "param2", "param3", "param4", "alt"):
            va, vb = getattr(a, name), getattr(b, name)
            if not _same(va, vb, FLOAT32_ABS_TOL):
                out.append(f"{where} {name}: sent {va!r}, vehicle has {vb!r}")
        # degrees travel as integers: a relative tolerance would allow metres at lat 22
        tol, rel = (LATLON_TOL_DEG, 0.0) if a.frame in GLOBAL_FRAMES else (FLOAT32_ABS_TOL, FLOAT32_REL_TOL)
        for name in ("lat", "lon"):
            va, vb = getattr(a, name), getattr(b, name)
            if not _same(va, vb, tol, rel):
                out.append(f"{where} {name}: sent {va!r}, vehicle has {vb!r}")
    return out
