"""``riverpatrol demo``: a whole patrol on one machine, nothing to set up.

It boots the MAVLink simulator over the Shenzhen River in Futian, plans a patrol of the river
segment around it (as ``riverpatrol gcs plan`` would), uploads it with the ground station's
MAVLink client, arms when the position estimate is good, flies it in AUTO at ``--speedup`` and
shows the edge agent's live telemetry until the vehicle has landed back home.

The demo is glue only: every step is a component's public API, so what it shows is what an
operator and a drone would run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel


@dataclass
class DemoOptions:
    segment: str = "shenzhen-4"
    alt_m: float = 30.0
    speed_mps: float = 8.0
    overlap: float = 0.3
    speedup: float = 20.0
    tcp_port: int = 5760
    duration_s: float = 0.0  # 0 = until landed


def plan_items(segment: str, home: tuple[float, float], o: DemoOptions):
    """The patrol's mission items for the vehicle client (home placeholder excluded)."""
    from contract.camera import CameraModel
    from ground_station.missions.files import to_vehicle
    from ground_station.planning.mission import build_mission
    from ground_station.planning.planner import PlanOptions, footprint_width_m, plan_patrol
    from ground_station.planning.reach_source import bundled_reach

    reach = bundled_reach(segment.split("-")[0], segment)
    footprint = footprint_width_m(CameraModel.default(), o.alt_m)
    plan = plan_patrol(reach, PlanOptions(o.alt_m, o.speed_mps, o.overlap, footprint, home))
    items, _home = to_vehicle(build_mission(plan), source=f"plan of {segment}")
    return plan, items


def run_demo(o: DemoOptions, console: Console | None = None) -> int:
    """Fly the demo patrol; returns a process exit code."""
    import contract.mavlink  # noqa: F401
    from contract import defaults
    from edge.settings import EdgeSettings
    from edge.telemetry.link import TelemetryLink
    from edge.telemetry.view import render_state
    from ground_station.mavlink import VehicleClient
    from sim.settings import VehicleSettings
    from sim.vehicle import SimVehicle

    console = console or Console()
    home = (defaults.HOME_LAT, defaults.HOME_LON)
    plan, items = plan_items(o.segment, home, o)
    console.print(
        f"[bold]RiverPatrol demo[/] — patrol of [cyan]{plan.reach.name}[/]: {plan.passes} pass(es), "
        f"{len(plan.waypoints)} waypoints, {plan.route_length_m / 1000:.2f} km at {o.alt_m:g} m, "
        f"simulated at {o.speedup:g}x"
    )
    settings = VehicleSettings(
        tcp_port=o.tcp_port, udp_out=[], speedup=o.speedup, wind_speed=3.0, wind_gust=0.8, gps_noise_m=0.5,
        home_lat=home[0], home_lon=home[1], params={"DISARM_DELAY": 0},
    )  # fmt: skip
    with SimVehicle(settings) as sim:
        url = f"tcp:127.0.0.1:{sim.tcp_port}"
        console.print(f"simulator up: MAVLink on {url} (MAVProxy/QGroundControl can connect too)")
        edge = TelemetryLink(EdgeSettings(mavlink=url, link_timeout=2.0)).start()
        gcs = VehicleClient.connect(url, heartbeat_timeout=15.0, timeout=2.0)
        try:
            with console.status("uploading the patrol ..."):
                gcs.upload_mission(items)
            console.print(f"mission uploaded and verified: {len(items)} items")
            with console.status("waiting for the position estimate (PreArm: Need Position Estimate) ..."):
                gcs.wait_armable(120.0)
            gcs.set_mode("GUIDED")
            armed = gcs.arm()
            if not armed.accepted:
                console.print(f"[red]arming refused:[/] {armed.reason or armed.result_name}")
                return 1
            gcs.takeoff(o.alt_m)
            sim.wait_for(lambda s: s.alt_rel > o.alt_m * 0.8, timeout=60.0)
            gcs.start_mission()
            t0 = time.monotonic()
            total = len(items)

            def screen() -> Group:
                s = edge.snapshot()
                seq = s.mission_seq or 0
                head = (
                    f"mission item {seq}/{total}  ({100 * seq / total:.0f}% of route)   "
                    f"wall {time.monotonic() - t0:5.1f} s   Ctrl-C to stop"
                )
                return Group(Panel(head, title="patrol"), render_state(s, url))

            with Live(screen(), console=console, refresh_per_second=4) as live:
                airborne_seen = False
                while True:
                    time.sleep(0.25)
                    live.update(screen())
                    truth = sim.snapshot()
                    airborne_seen = airborne_seen or truth.alt_rel > 5
                    if airborne_seen and not truth.armed:
                        break
                    if o.duration_s and time.monotonic() - t0 > o.duration_s:
                        break
            s = edge.snapshot()
            console.print(
                f"[green]done[/]: vehicle {'landed' if not sim.snapshot().armed else 'still flying'}, "
                f"battery {s.battery_remaining_pct}%, link losses {s.link_losses}, "
                f"{s.counters.accepted} messages digested"
            )
            return 0
        finally:
            gcs.close()
            edge.stop()
