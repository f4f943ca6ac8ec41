"""What going round no-fly zones costs a plan: planning time and route metres, with and without.

Plans each bundled Shenzhen segment once without zones (the baseline) and once with ``--zones``
round zones of ``--corners`` corners (a city's GeoJSON outlines are that detailed) of
``--radius`` m, set on the river centreline at even fractions of its length, so every pass of
the patrol runs into them, and ``--city`` more (20-150 m, seeded) 300-2000 m off the river, as a
district's file holds them: the planner is given them all. Reports the median planning time of
each over ``--repeats`` runs and their ratio, the metres the detours add, the waypoints dropped,
and the least clearance from any zone found along the planned route (at least the margin).

    python bench/plan_detour_bench.py [--zones 3] [--corners 200] [--radius 30] [--repeats 5]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import machine_info  # noqa: E402
from contract.camera import CameraModel  # noqa: E402
from contract.geo import offset  # noqa: E402
from contract.rivers import rivers  # noqa: E402
from ground_station.planning import geometry as g  # noqa: E402
from ground_station.planning.planner import (  # noqa: E402
    NoFlyZone,
    PlanError,
    PlanOptions,
    footprint_width_m,
    nearest_end,
    plan_patrol,
)
from ground_station.planning.reach_source import bundled_reach  # noqa: E402

OUT = ROOT / "bench" / "results" / "plan_detour.json"


def circle(lat: float, lon: float, radius: float, corners: int) -> tuple[tuple[float, float], ...]:
    angles = [2 * math.pi * j / corners for j in range(corners)]
    return tuple(offset(lat, lon, radius * math.cos(t), radius * math.sin(t)) for t in angles)


def zones_on(reach, n: int, corners: int, radius: float, city: int, seed: int = 3) -> list[NoFlyZone]:
    """``n`` round zones on the centreline, at fractions 1/(n+1) ... n/(n+1) of its length, and
    ``city`` more beside the river, 300-2000 m off it."""
    proj = g.Projection(*reach.centerline[0])
    line = [proj.to_xy(*p) for p in reach.centerline]
    total = g.length(line)
    out = []
    for k in range(1, n + 1):
        lat, lon = proj.to_latlon(*g.substring(line, total * k / (n + 1), total * k / (n + 1) + 1.0)[0])
        out.append(NoFlyZone(f"zone-{k}", circle(lat, lon, radius, corners)))
    rng = random.Random(seed)
    for k in range(city):
        x, y = g.substring(line, total * rng.random(), total)[0]
        y += rng.choice((-1, 1)) * rng.uniform(300.0, 2000.0)
        out.append(NoFlyZone(f"city-{k}", circle(*proj.to_latlon(x, y), rng.uniform(20.0, 150.0), corners)))
    return out


def clearance_m(route, zones, proj) -> float:
    """Least distance from a route leg to a zone corner or edge (a leg never crosses one here)."""

    def seg(p, a, b):
        dx, dy = b[0] - a[0], b[1] - a[1]
        t = max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / (dx * dx + dy * dy or 1.0)))
        return math.dist(p, (a[0] + t * dx, a[1] + t * dy))

    path = [proj.to_xy(*p) for p in route]
    best = math.inf
    for z in zones:
        ring = [proj.to_xy(*p) for p in z.ring]
        for a, b in itertools.pairwise(path):
            best = min(best, min(seg(c, a, b) for c in ring))
    return best


def timed(reach, opts, repeats: int):
    times, plan = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        plan = plan_patrol(reach, opts)
        times.append(time.perf_counter() - t)
    return statistics.median(times), plan


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zones", type=int, default=3)
    ap.add_argument("--corners", type=int, default=200)
    ap.add_argument("--radius", type=float, default=30.0)
    ap.add_argument("--margin", type=float, default=20.0)
    ap.add_argument("--city", type=int, default=40, help="zones off the river, as a district's file has")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    footprint = footprint_width_m(CameraModel.default(), 30.0)
    rows = []
    for seg_id in rivers()["shenzhen"].segment_ids:
        reach = bundled_reach("shenzhen", seg_id)
        opts = PlanOptions(30.0, 8.0, 0.3, footprint, home=nearest_end(reach, reach.centerline[0]))
        zones = zones_on(reach, args.zones, args.corners, args.radius, args.city)
        base_s, base = timed(reach, opts, args.repeats)
        try:
            with_s, plan = timed(
                reach, replace(opts, no_fly=tuple(zones), no_fly_margin_m=args.margin), args.repeats
            )
        except PlanError as e:  # a zone over home: said, not measured
            rows.append({"segment": seg_id, "refused": str(e)})
            continue
        rows.append({
            "segment": seg_id,
            "baseline_s": round(base_s, 4),
            "with_zones_s": round(with_s, 4),
            "ratio": round(with_s / base_s, 1),
            "route_m": round(base.route_length_m), "route_with_zones_m": round(plan.route_length_m),
            "detour_m": round(sum(d.extra_m for d in plan.detours), 1),
            "waypoints_dropped": sum(d.dropped for d in plan.detours),
            "least_clearance_m": round(clearance_m(plan.route, zones, g.Projection(*opts.home)), 2),
        })  # fmt: skip
        print(json.dumps(rows[-1]))
    done = [r for r in rows if "ratio" in r]
    result = {
        "benchmark": "plan_detour",
        "machine": machine_info(),
        "zones": args.zones, "city_zones": args.city, "corners": args.corners, "radius_m": args.radius,
        "margin_m": args.margin,
        "baseline": {
            "name": "plan_without_zones",
            "median_s": statistics.median(r["baseline_s"] for r in done),
        },
        "with_zones_median_s": statistics.median(r["with_zones_s"] for r in done),
        "worst_with_zones_s": max(r["with_zones_s"] for r in done),
        "least_clearance_m": min(r["least_clearance_m"] for r in done),
        "segments": rows,
    }  # fmt: skip
    print(
        f"planning {len(done)} segments: median {result['baseline']['median_s'] * 1e3:.0f} ms without zones"
        f" (baseline), {result['with_zones_median_s'] * 1e3:.0f} ms with {args.zones} zones on the river"
        f" and {args.city} beside it, of {args.corners} corners (worst"
        f" {result['worst_with_zones_s'] * 1e3:.0f} ms); least clearance {result['least_clearance_m']:.1f} m"
        f" (margin {args.margin:g} m)"
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
