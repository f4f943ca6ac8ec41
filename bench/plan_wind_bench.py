"""What wind costs a patrol: the planner's estimate against the simulator flying the plan.

``gcs plan --wind`` reads each leg's airspeed (``ground_station.planning.energy.Wind``). This
plans one reach of the bundled Shenzhen River, then flies its mission in AUTO on the simulator's
vehicle core (no sockets, its physics and battery model) in calm air and in each wind, and
compares the extra energy the wind took in the simulator with what the planner predicts: with
the wind model, and without it (the named baseline, which predicts no extra energy at all).

The planner's absolute figures are a vehicle's settings (``hover_power_w``, ``drag_coeff``) and
the simulator has its own airframe, so the figure compared is the *ratio* windy / calm of each.

    python bench/plan_wind_bench.py [--segment shenzhen-3] [--winds 4@45,8@45,8@135,10@270]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import contract.mavlink  # noqa: E402, F401  (MAVLINK20 + ardupilotmega before pymavlink)
from bench.machine import machine_info  # noqa: E402
from contract.camera import CameraModel  # noqa: E402
from ground_station.planning.energy import Wind  # noqa: E402
from ground_station.planning.mission import build_mission  # noqa: E402
from ground_station.planning.planner import (  # noqa: E402
    PlanOptions,
    footprint_width_m,
    nearest_end,
    plan_patrol,
)
from ground_station.planning.reach_source import bundled_reach  # noqa: E402
from ground_station.settings import GcsSettings  # noqa: E402
from sim.settings import VehicleSettings  # noqa: E402
from sim.vehicle import SimVehicle  # noqa: E402
from sim.vehicle.autopilot import AUTO, GUIDED  # noqa: E402
from sim.vehicle.mission import MISSION, MissionItem  # noqa: E402

OUT = ROOT / "bench" / "results" / "plan_wind.json"
DT = 0.02


def plan(segment: str):
    s = GcsSettings.load(None)
    reach = bundled_reach(segment.rsplit("-", 1)[0], segment)
    opts = PlanOptions(
        alt_m=s.alt_m,
        speed_mps=s.speed_mps,
        overlap=s.overlap,
        footprint_m=footprint_width_m(CameraModel.default(), s.alt_m),
        home=nearest_end(reach, (s.launch_near_lat, s.launch_near_lon)),
        fence_margin_m=0.0,
    )
    return plan_patrol(reach, opts), s.energy_model()


def fly(patrol, wind: Wind | None) -> dict:
    """The plan's mission flown in AUTO from the ground to the landing: energy, time, distance."""
    lat, lon = patrol.home
    settings = VehicleSettings(
        tcp_port=0,
        udp_out=[],
        ekf_ready_s=2.0,
        home_lat=lat,
        home_lon=lon,
        wind_speed=wind.speed_mps if wind else 0.0,
        wind_dir=wind.from_deg if wind else 0.0,
        params={"DISARM_DELAY": 0, "BATT_CAPACITY": 50_000, "BATT_FS_LOW_ACT": 0, "BATT_FS_CRT_ACT": 0},
    )
    core = SimVehicle(settings).core
    items = [
        MissionItem(
            m.seq,
            m.frame,
            m.command,
            m.param1,
            m.param2,
            m.param3,
            m.param4,
            round(m.x * 1e7),
            round(m.y * 1e7),
            m.z,
        )
        for m in build_mission(patrol)
    ]
    core.store.replace(MISSION, items)
    t, ap = 0.0, core.ap

    def run(until, limit_s: float) -> None:
        nonlocal t
        end = t + limit_s
        while t < end:
            core.step(DT, t)
            t += DT
            if until(core.snapshot):
                return
        raise RuntimeError(f"the flight did not get there in {limit_s:.0f} s of simulated time")

    run(lambda s: s.pos_ok, 60)
    assert ap.set_mode(GUIDED) and ap.arm(), "the simulator would not arm"
    wh0, t0, started = core.battery.energy_wh, t, time.perf_counter()
    assert ap.takeoff(patrol.options.alt_m)
    run(lambda s: s.alt_rel > patrol.options.alt_m - 0.5, 120)
    assert ap.set_current(1) and ap.set_mode(AUTO)
    run(lambda s: not s.armed, 3600)
    return {
        "energy_wh": round(core.battery.energy_wh - wh0, 2),
        "flight_s": round(t - t0, 1),
        "wall_s": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--segment", default="shenzhen-3")
    ap.add_argument("--winds", default="4@45,8@45,8@135,10@270", help="SPEED@FROM, comma-separated")
    args = ap.parse_args()
    patrol, model = plan(args.segment)
    calm_est = patrol.estimate(model)
    calm_sim = fly(patrol, None)
    print(
        f"{args.segment}: {patrol.route_length_m / 1000:.2f} km; calm air: planner"
        f" {calm_est.energy_wh:.1f} Wh,"
        f" simulator {calm_sim['energy_wh']:.1f} Wh in {calm_sim['flight_s'] / 60:.1f} min"
    )
    cases = []
    for spec in args.winds.split(","):
        speed, from_deg = (float(v) for v in spec.split("@"))
        wind = Wind(speed, from_deg)
        est = patrol.estimate(model, wind)
        sim = fly(patrol, wind)
        sim_ratio = sim["energy_wh"] / calm_sim["energy_wh"]
        model_ratio = est.energy_wh / calm_est.energy_wh
        cases.append(
            {
                "wind": spec,
                "simulator": sim,
                "simulator_ratio_to_calm": round(sim_ratio, 3),
                "planner_wind_model_wh": round(est.energy_wh, 2),
                "planner_wind_model_ratio_to_calm": round(model_ratio, 3),
                "planner_no_wind_model_ratio_to_calm": 1.0,
                "max_airspeed_mps": round(est.max_airspeed_mps, 1),
            }
        )
        print(
            f"wind {speed:g} m/s from {from_deg:.0f}: the simulator used {100 * (sim_ratio - 1):+.1f} %"
            f" over calm air; the planner predicts {100 * (model_ratio - 1):+.1f} % with the wind model,"
            f" +0.0 % without (baseline); legs up to {est.max_airspeed_mps:.1f} m/s airspeed"
        )
    errs = [abs(c["planner_wind_model_ratio_to_calm"] - c["simulator_ratio_to_calm"]) for c in cases]
    base = [abs(1.0 - c["simulator_ratio_to_calm"]) for c in cases]
    result = {
        "benchmark": "plan_wind",
        "machine": machine_info(),
        "segment": args.segment,
        "route_km": round(patrol.route_length_m / 1000, 2),
        "calm": {"planner_wh": round(calm_est.energy_wh, 2), "simulator": calm_sim},
        "cases": cases,
        "mean_abs_error_of_ratio": {
            "wind_model": round(sum(errs) / len(errs), 3),
            "no_wind_model_baseline": round(sum(base) / len(base), 3),
        },
        "baseline": "the planner without the wind model: every wind costs nothing over calm air",
    }
    m = result["mean_abs_error_of_ratio"]
    print(
        f"mean error of the predicted windy/calm energy: {m['wind_model']:.3f} with the wind model,"
        f" {m['no_wind_model_baseline']:.3f} without (baseline)"
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
