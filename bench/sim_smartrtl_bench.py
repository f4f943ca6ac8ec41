"""How closely the simulator's SmartRTL brings a drone home along the path it flew, against RTL.

Over a city the patrol's own path is the airspace known to be clear; a straight RTL crosses
whatever lies between the river and home. Each round flies one seeded meandering "river" (legs of
80-150 m turning up to 60 degrees, at 8 m/s and 30 m) in GUIDED on the vehicle core (no sockets),
then turns home twice from the same end point: once in SMART_RTL, once in RTL (the baseline,
flown again from a fresh vehicle). For each it reports how far the way home strayed from the
track flown (the largest and the mean distance), how long it took and how far it flew, and what
recording the path costs a physics step (steps/s with ``SRTL_POINTS`` 300 against 0).

    python bench/sim_smartrtl_bench.py [--rounds 5] [--seed 1]
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import contract.mavlink  # noqa: E402, F401  (MAVLINK20 + ardupilotmega before pymavlink)
from bench.machine import machine_info  # noqa: E402
from contract import geo  # noqa: E402
from sim.settings import VehicleSettings  # noqa: E402
from sim.vehicle import SimVehicle  # noqa: E402
from sim.vehicle.autopilot import GUIDED, RTL, SMART_RTL  # noqa: E402

OUT = ROOT / "bench" / "results" / "sim_smartrtl.json"
DT = 0.02
ALT = 30.0

Point = tuple[float, float]


def river(rng: random.Random, legs: int = 8) -> list[Point]:
    """Waypoints (north, east) of a meandering river from home."""
    pts, heading = [(0.0, 0.0)], rng.uniform(0, 360)
    for _ in range(legs):
        heading += rng.uniform(-60, 60)
        d = rng.uniform(80, 150)
        n, e = pts[-1]
        pts.append((n + d * math.cos(math.radians(heading)), e + d * math.sin(math.radians(heading))))
    return pts


def off_track(p: Point, track: list[Point]) -> float:
    best = math.inf
    for (an, ae), (bn, be) in itertools.pairwise(track):
        dn, de = bn - an, be - ae
        L2 = dn * dn + de * de
        t = 0.0 if L2 == 0 else max(0.0, min(1.0, ((p[0] - an) * dn + (p[1] - ae) * de) / L2))
        best = min(best, math.hypot(p[0] - an - t * dn, p[1] - ae - t * de))
    return best


class Flight:
    """One vehicle core flown by hand: take off, GUIDED along the waypoints, then home."""

    def __init__(self, srtl_points: int) -> None:
        params = {"DISARM_DELAY": 0, "WPNAV_SPEED": 800, "SRTL_POINTS": srtl_points}
        self.core = SimVehicle(VehicleSettings(tcp_port=0, udp_out=[], ekf_ready_s=2.0, params=params)).core
        self.t = 0.0
        self.steps = 0
        self.busy_s = 0.0

    def run(self, until, limit_s: float = 900.0) -> list[Point]:
        track, end = [], self.t + limit_s
        while self.t < end:
            start = time.perf_counter()
            self.core.step(DT, self.t)
            self.busy_s += time.perf_counter() - start
            self.steps += 1
            self.t += DT
            s = self.core.snapshot
            track.append((s.north, s.east))
            if until(s):
                break
        return track

    def fly(self, wps: list[Point]) -> list[Point]:
        ap = self.core.ap
        self.run(lambda s: s.pos_ok, 30)
        assert ap.set_mode(GUIDED) and ap.arm() and ap.takeoff(ALT)
        track = self.run(lambda s: s.alt_rel > ALT - 0.5, 120)
        lat0, lon0 = self.core.origin[:2]
        for n, e in wps[1:]:
            assert ap.goto(*geo.offset(lat0, lon0, n, e), ALT)
            track += self.run(lambda s, n=n, e=e: math.hypot(s.north - n, s.east - e) < 2.0, 300)
        return track

    def home(self, mode: int) -> tuple[list[Point], float]:
        assert self.core.ap.set_mode(mode)
        t0 = self.t
        back = self.run(lambda s: not s.armed)
        return back, self.t - t0


def length(track: list[Point]) -> float:
    return sum(math.dist(a, b) for a, b in itertools.pairwise(track))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    rounds = []
    for k in range(args.rounds):
        wps = river(rng)
        smart, rtl, cost_off = Flight(300), Flight(300), Flight(0)
        flown = smart.fly(wps)
        recording = smart.steps / smart.busy_s  # the same flight out, recording the path or not
        rtl.fly(wps)
        cost_off.fly(wps)
        out = {"round": k, "waypoints": len(wps) - 1, "flown_m": round(length(flown))}
        for name, flight, mode in (("smart_rtl", smart, SMART_RTL), ("rtl_baseline", rtl, RTL)):
            back, took = flight.home(mode)
            devs = [off_track(p, flown) for p in back[::5]]
            out[name] = {
                "max_off_track_m": round(max(devs), 1),
                "mean_off_track_m": round(statistics.fmean(devs), 1),
                "home_s": round(took, 1),
                "home_m": round(length(back)),
                "landed_from_home_m": round(math.hypot(*back[-1]), 2),
            }
        out["steps_per_s"] = {
            "recording": round(recording),
            "srtl_points_0": round(cost_off.steps / cost_off.busy_s),
        }
        rounds.append(out)
        s, r = out["smart_rtl"], out["rtl_baseline"]
        print(
            f"round {k}: flew {out['flown_m']} m; home off the track flown: SmartRTL max"
            f" {s['max_off_track_m']} m"
            f" (mean {s['mean_off_track_m']}) in {s['home_s']} s, RTL max {r['max_off_track_m']} m"
            f" (mean {r['mean_off_track_m']}) in {r['home_s']} s"
        )

    def med(path: tuple[str, str]) -> float:
        return round(statistics.median(float(r[path[0]][path[1]]) for r in rounds), 1)

    rec, base = med(("steps_per_s", "recording")), med(("steps_per_s", "srtl_points_0"))
    result = {
        "benchmark": "sim_smartrtl",
        "machine": machine_info(),
        "rounds": rounds,
        "median": {
            "smart_rtl_max_off_track_m": med(("smart_rtl", "max_off_track_m")),
            "rtl_baseline_max_off_track_m": med(("rtl_baseline", "max_off_track_m")),
            "smart_rtl_home_s": med(("smart_rtl", "home_s")),
            "rtl_baseline_home_s": med(("rtl_baseline", "home_s")),
            "steps_per_s_recording": rec,
            "steps_per_s_srtl_points_0": base,
            "ratio_recording_to_off": round(rec / base, 3),
        },
        "baseline": (
            "RTL from the same end point (a fresh vehicle flown the same way);"
            " SRTL_POINTS 0 for the step cost"
        ),
    }
    m = result["median"]
    print(
        f"median: SmartRTL strays {m['smart_rtl_max_off_track_m']} m at most from the track flown, RTL"
        f" (baseline) {m['rtl_baseline_max_off_track_m']} m; home in {m['smart_rtl_home_s']} s vs"
        f" {m['rtl_baseline_home_s']} s; steps/s recording {rec:,.0f} vs {base:,.0f} off"
        f" (ratio {m['ratio_recording_to_off']})"
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
