"""What an enforced geofence costs the simulator: physics steps per second, fence off vs on.

The vehicle and the camera share one simulator process, so every microsecond a step spends is
taken from the frames the camera renders. Runs the vehicle core (no sockets) at 400 Hz steps
with a 63-corner inclusion polygon loaded, alternating FENCE_ENABLE 0 (the baseline) and 1,
``--repeats`` rounds of ``--seconds`` each, and reports the median steps/s of each and their
ratio (on / off; 1.0 = free).

    python bench/sim_fence_bench.py [--seconds 1.5] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import math
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
from sim.vehicle.mission import FENCE, MissionItem  # noqa: E402

OUT = ROOT / "bench" / "results" / "sim_fence.json"
STEP_S = 0.0025
CORNERS = 63


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=1.5)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    core = SimVehicle(VehicleSettings(tcp_port=0, udp_out=[], speedup=1, ekf_ready_s=2)).core
    lat0, lon0 = core.origin[:2]
    ring = [geo.offset(lat0, lon0, 500 * math.sin(a / 10), 500 * math.cos(a / 10)) for a in range(CORNERS)]
    core.store.replace(
        FENCE,
        [
            MissionItem(i, 0, 5001, param1=float(CORNERS), x=round(lat * 1e7), y=round(lon * 1e7))
            for i, (lat, lon) in enumerate(ring)
        ],
    )
    t_link = 0.0
    for _ in range(2000):  # past the position estimate's settling
        core.step(STEP_S, t_link)
        t_link += STEP_S
    rates: dict[str, list[float]] = {"fence_off": [], "fence_on": []}
    for _ in range(args.repeats):
        for enable, key in ((0, "fence_off"), (1, "fence_on")):
            core.params.set("FENCE_ENABLE", enable)
            n, start = 0, time.perf_counter()
            while time.perf_counter() - start < args.seconds:
                core.step(STEP_S, t_link)
                t_link += STEP_S
                n += 1
            rates[key].append(n / (time.perf_counter() - start))
    off, on = (statistics.median(rates[k]) for k in ("fence_off", "fence_on"))
    result = {
        "benchmark": "sim_fence",
        "machine": machine_info(),
        "corners": CORNERS,
        "step_s": STEP_S,
        "baseline": {"name": "fence_off", "steps_per_s": round(off)},
        "fence_on": {"steps_per_s": round(on)},
        "ratio_on_off": round(on / off, 3),
        "rounds": {k: [round(v) for v in vs] for k, vs in rates.items()},
    }
    print(f"steps/s fence off (baseline) {off:,.0f}, fence on {on:,.0f}: ratio {on / off:.3f}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
