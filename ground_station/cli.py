"""``riverpatrol gcs``: operator commands (fleet status, patrol planning, missions, relay)."""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import typer

from ground_station.missions.cli import register as _register_missions
from ground_station.relay.cli import register as _register_relay

app = typer.Typer(no_args_is_help=True, add_completion=False)

#: Exit codes of ``gcs plan`` (2 is also typer's own for a malformed command line).
EXIT_BAD_PARAMETERS = 2
EXIT_BAD_RIVER = 3
EXIT_BATTERY = 4


@app.callback()
def _root() -> None:
    """Ground-station tools for drone operators: fleet status, patrol plans, missions, relay."""


def _parse_home(text: str) -> tuple[float, float]:
    try:
        lat, lon = (float(v) for v in text.split(","))
    except ValueError as e:
        raise typer.BadParameter(f"expected 'lat,lon' in degrees, got {text!r}") from e
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise typer.BadParameter(f"{text!r} is not a WGS84 lat,lon")
    return lat, lon


def _parse_wind(text: str) -> tuple[float, float]:
    """``--wind SPEED@FROM``: m/s, and where it blows from in degrees (8@45: 8 m/s from the NE)."""
    try:
        speed, from_deg = (float(v) for v in text.split("@"))
    except ValueError as e:
        raise typer.BadParameter(f"expected SPEED@FROM, m/s and degrees (e.g. 8@45), got {text!r}") from e
    if not (0 <= speed < 60 and -360 <= from_deg <= 360):
        raise typer.BadParameter(f"{text!r}: the speed must be 0-60 m/s and the direction in degrees")
    return speed, from_deg % 360.0


def _parse_sortie(text: str) -> tuple[int, int]:
    try:
        k, n = (int(v) for v in text.split("/"))
    except ValueError as e:
        raise typer.BadParameter(f"expected K/N (e.g. 2/3), got {text!r}") from e
    if not 1 <= k <= n:
        raise typer.BadParameter(f"sortie {text!r}: need 1 <= K <= N")
    return k, n


@app.command()
def plan(
    river: str = typer.Option(
        ...,
        "--river",
        "-r",
        help="Bundled river id (shenzhen, xinzhou) or a GeoJSON file (LineString or Polygon).",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the .plan, .waypoints and .geojson files."),
    segment: str | None = typer.Option(
        None,
        "--segment",
        "-s",
        help="Plan one segment (e.g. shenzhen-3), or pick a feature of a file by id/name.",
    ),
    sortie: str | None = typer.Option(
        None, "--sortie", help="K/N: plan the K-th of N equal parts of the reach (one battery each)."
    ),
    alt: float | None = typer.Option(None, "--alt", help="Altitude above home, m (gcs.alt_m)."),
    speed: float | None = typer.Option(None, "--speed", help="Cruise ground speed, m/s (gcs.speed_mps)."),
    overlap: float | None = typer.Option(
        None, "--overlap", help="Side overlap of passes, 0..0.95 (gcs.overlap)."
    ),
    home: str | None = typer.Option(
        None, "--home", help="Launch point 'lat,lon'. Default: the reach end nearest gcs.launch_near_lat/lon."
    ),
    width: float | None = typer.Option(None, "--width", help="River width, m (overrides the data)."),
    hfov: float | None = typer.Option(
        None, "--hfov", help="Camera horizontal field of view, deg (overrides)."
    ),
    no_fly: Path | None = typer.Option(
        None, "--no-fly", help="GeoJSON of no-fly zones (Polygons) to go around (gcs.no_fly_zones)."
    ),
    wind: str | None = typer.Option(
        None,
        "--wind",
        help="The day's wind, SPEED@FROM in m/s and degrees (8@45: 8 m/s from the NE): the battery"
        " estimate reads each leg's airspeed (gcs.wind_mps, gcs.wind_from_deg).",
    ),
    config: Path | None = typer.Option(None, "--config", help="TOML config file (its \\[gcs] table)."),
) -> None:
    """Plan a camera patrol along a river: writes a QGC .plan, a MAVLink WPL and a route GeoJSON.

    Passes follow the river, enough to cover its width with the side overlap, in alternating directions.

    Refused (exit 4) if the battery cannot fly it with the reserve; the message says how to split it.

    With no-fly zones (--no-fly), a leg that would cross one goes around it instead, `no_fly_margin_m`
    (20 m) clear, by the shortest way; waypoints inside a zone or that margin are dropped and the
    summary says so (that water goes unpatrolled). Zones near the route are kept out by the plan's
    geofence too. Home inside a zone or its margin, or zones that close the way, are refused (exit 2).

    With a wind (--wind), each leg's battery cost reads its airspeed (a headwind leg costs more
    than a tailwind leg saves), and a leg that would need more airspeed than `max_airspeed_mps`
    is refused (exit 2): fly slower or another day.

    Exit codes: 0 written; 2 impossible parameters; 3 unknown or unreadable river or zones; 4 battery.
    """
    from rich.console import Console
    from rich.table import Table

    from contract.camera import CameraModel
    from contract.rivers import rivers as bundled_rivers
    from ground_station.planning.energy import Wind
    from ground_station.planning.mission import build_mission
    from ground_station.planning.mission_files import write_plan, write_route_geojson, write_wpl
    from ground_station.planning.nofly import ZoneError, keep_out, read_zones, straight_home_crossings
    from ground_station.planning.planner import (
        PlanError,
        PlanOptions,
        RiverReach,
        advise_sorties,
        footprint_width_m,
        nearest_end,
        plan_patrol,
        split_reach,
    )
    from ground_station.planning.reach_source import ReachError, bundled_reach, reach_from_file
    from ground_station.settings import GcsSettings

    console = Console()
    err = Console(stderr=True)

    def fail(code: int, message: str) -> NoReturn:
        err.print(f"[bold red]error:[/] {message}")
        raise typer.Exit(code)

    home_ll = _parse_home(home) if home else None
    wind_given = _parse_wind(wind) if wind else None
    part = _parse_sortie(sortie) if sortie else None
    try:
        s = GcsSettings.load(config)
    except (OSError, ValueError) as e:
        fail(EXIT_BAD_PARAMETERS, f"settings: {e}")

    try:
        if river not in bundled_rivers() and (river.endswith((".geojson", ".json")) or Path(river).exists()):
            reach = reach_from_file(river, segment, width)
        else:
            reach = bundled_reach(river, segment)
            if width is not None:
                reach = RiverReach(reach.name, reach.centerline, width)
        camera = CameraModel.load(s.camera_calibration) if s.camera_calibration else CameraModel.default()
        if hfov is not None:
            camera = CameraModel.from_hfov(camera.width, camera.height, hfov, name=f"hfov-{hfov:g}")
        zones_file = no_fly or s.no_fly_zones
        zones = read_zones(zones_file) if zones_file else []
    except (ReachError, ZoneError) as e:
        fail(EXIT_BAD_RIVER, str(e))
    except (PlanError, ValueError) as e:
        fail(EXIT_BAD_PARAMETERS, str(e))

    launch_near = (s.launch_near_lat, s.launch_near_lon)
    try:
        whole = reach
        if part:
            reach = split_reach(whole, part[1])[part[0] - 1]
        alt_m = alt if alt is not None else s.alt_m
        options = PlanOptions(
            alt_m=alt_m,
            speed_mps=speed if speed is not None else s.speed_mps,
            overlap=overlap if overlap is not None else s.overlap,
            footprint_m=footprint_width_m(camera, alt_m),
            home=home_ll or nearest_end(reach, launch_near),
            max_alt_m=s.max_alt_m,
            max_speed_mps=s.max_speed_mps,
            simplify_tolerance_m=s.simplify_tolerance_m,
            max_spacing_m=s.max_waypoint_spacing_m,
            fence_margin_m=s.fence_margin_m,
            no_fly=tuple(zones),
            no_fly_margin_m=s.no_fly_margin_m,
        )
        model = s.energy_model()
        patrol = keep_out(plan_patrol(reach, options), zones)
    except (PlanError, ValueError) as e:
        fail(EXIT_BAD_PARAMETERS, str(e))

    day = Wind(*wind_given) if wind_given else Wind(s.wind_mps, s.wind_from_deg)
    windy = day if day.speed_mps > 0 else None
    est = patrol.estimate(model, windy)
    table = Table(title=f"Patrol plan: {reach.name}", show_header=False)
    rows = [
        ("river width", f"{reach.width_m:.0f} m"),
        ("altitude / speed", f"{options.alt_m:g} m / {options.speed_mps:g} m/s"),
        ("camera footprint", f"{options.footprint_m:.1f} m wide ({camera.hfov_deg:.0f}° hfov)"),
        ("passes", f"{patrol.passes} (side overlap ≥ {options.overlap:.0%})"),
        ("waypoints", str(len(patrol.waypoints))),
        (
            "route length",
            f"{patrol.route_length_m / 1000:.2f} km (survey {patrol.survey_length_m / 1000:.2f} km)",
        ),
        (
            "flight time",
            f"{est.total_s / 60:.1f} min (climb {est.climb_s:.0f} s, cruise {est.cruise_s / 60:.1f} min, "
            f"turns {est.turns_s:.0f} s, descent {est.descent_s:.0f} s)",
        ),
        (
            "battery",
            f"{est.energy_wh:.1f} Wh = {est.battery_pct:.0f}% of {model.battery_wh:g} Wh "
            f"(limit {model.usable_wh:.1f} Wh, {model.reserve:.0%} reserve)",
        ),
        *(
            [
                (
                    "wind",
                    f"{day.speed_mps:g} m/s from {day.from_deg:.0f}°:"
                    f" +{est.energy_wh - est.calm_energy_wh:.1f} Wh over calm air;"
                    f" legs up to {est.max_airspeed_mps:.1f} m/s through the air"
                    f" (at most {s.max_airspeed_mps:g})",
                )
            ]
            if windy and est.calm_energy_wh is not None
            else []
        ),
        ("home", f"{options.home[0]:.6f},{options.home[1]:.6f}"),
        (
            "geofence",
            f"{len(patrol.fence)} corners, {options.fence_margin_m:g} m around the route"
            if patrol.fence
            else "none (fence_margin_m = 0)",
        ),
        (
            "no-fly zones",
            ", ".join(z.name for z in patrol.keep_out) + " (kept out by the fence)"
            if patrol.keep_out
            else "none near",
        ),
    ]
    for d in patrol.detours:  # the way around a zone in the way, and the water it leaves unpatrolled
        dropped = (
            f"; {d.dropped} waypoint(s) inside it or within {options.no_fly_margin_m:g} m dropped"
            if d.dropped
            else ""
        )
        rows.append(
            (
                "detour",
                f"around {d.zone!r}: +{d.extra_m:.0f} m{dropped} (the water under it is not flown over)",
            )
        )
    crossings = straight_home_crossings(patrol.route, list(patrol.keep_out))
    if crossings:
        over = ", ".join(
            f"{name!r} from {n} of {len(patrol.route) - 2} waypoints" for name, n in crossings.items()
        )
        rows.append(("straight RTL", f"would cross {over}: a failsafe comes back along the river (SmartRTL)"))
    for k, v in rows:
        table.add_row(k, v)
    console.print(table)

    if est.max_airspeed_mps > s.max_airspeed_mps:
        fail(
            EXIT_BAD_PARAMETERS,
            f"into a {day.speed_mps:g} m/s wind from {day.from_deg:.0f}° the upwind legs need"
            f" {est.max_airspeed_mps:.1f} m/s through the air at {options.speed_mps:g} m/s over the ground,"
            f" above the vehicle's {s.max_airspeed_mps:g} m/s (max_airspeed_mps): the vehicle would fall"
            " behind its plan and its battery estimate. Fly slower (--speed) or another day.",
        )
    if not est.fits:
        # advise on the whole reach: --sortie K/N does not nest
        advice = advise_sorties(
            whole, options, model, launch_near=None if home_ll else launch_near, wind=windy
        )
        msg = (
            f"refused: the plan needs {est.energy_wh:.0f} Wh but the battery allows {model.usable_wh:.0f} Wh "
            f"({model.battery_wh:g} Wh less {model.reserve:.0%} reserve)."
        )
        if advice is not None and advice.sorties > 1:
            n = advice.sorties
            where = "from the same home" if home_ll else "each launching at its nearest river end"
            worst = max(e.battery_pct for e in advice.estimates)
            msg += (
                f"\nsplit into {n} sorties ({where}, at most {worst:.0f}% battery each): "
                f"--sortie 1/{n} ... --sortie {n}/{n}"
            )
        else:
            msg += "\nno split into equal parts fits from this home: launch closer (--home)."
        if not segment and river in bundled_rivers():
            msg += f"\nor plan one ~1 km segment: --segment {river}-1"
        fail(EXIT_BATTERY, msg)

    items = build_mission(patrol)
    stem = reach.name.replace(" ", "_").replace("/", "of")
    try:
        out.mkdir(parents=True, exist_ok=True)
        files = (out / f"{stem}.plan", out / f"{stem}.waypoints", out / f"{stem}.geojson")
        write_plan(
            files[0],
            items,
            options.speed_mps,
            s.hover_speed_mps,
            patrol.fence_polygons(),
        )
        write_wpl(files[1], items)
        write_route_geojson(files[2], patrol, items)
    except OSError as e:
        fail(EXIT_BAD_PARAMETERS, f"cannot write to {out}: {e}")
    for f in files:
        console.print(f"wrote {f}")


_register_relay(app)
_register_missions(app)


@app.command("config")
def config_cmd(config: Path = typer.Option(None, help="TOML config file (its \\[gcs] table).")) -> None:
    """Print the settings the ground station runs with, as the `[gcs]` table of a config file.

    Every setting is under its description; unset ones are commented out and secrets are not
    shown. With no file and no `RIVERPATROL_GCS_*` variables these are the defaults: a file to
    start from (`riverpatrol gcs config > ground-station.toml`).
    """
    from contract.settings import to_toml
    from ground_station.settings import GcsSettings

    typer.echo(to_toml(GcsSettings.load(config)), nl=False)
