"""Rendering a ``VehicleState`` for people (a rich table) and for scripts (a JSON-able dict)."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from rich.table import Table

from edge.telemetry.state import VehicleState

_GPS_FIX = {0: "none", 1: "no fix", 2: "2D", 3: "3D", 4: "DGPS", 5: "RTK float", 6: "RTK fixed"}


def state_to_dict(state: VehicleState, now: float | None = None) -> dict[str, Any]:
    """Plain-data form of the state, with ``last_heard_s`` relative to ``now`` (monotonic)."""
    now = time.monotonic() if now is None else now
    d = dataclasses.asdict(state)
    d["statustexts"] = [{"severity": t.severity, "text": t.text} for t in state.statustexts]
    d["last_heard_s"] = None if state.last_heard is None else round(now - state.last_heard, 3)
    d["utc"] = None if state.time_boot_s is None else state.utc_at(state.time_boot_s)
    for key in ("last_heard", "last_heartbeat"):  # monotonic instants mean nothing to another process
        d.pop(key)
    return d


def _f(value: float | None, fmt: str, unit: str = "") -> str:
    return "—" if value is None else f"{value:{fmt}}{unit}"


def render_state(state: VehicleState, url: str, now: float | None = None) -> Table:
    """A two-column table of the state, as ``riverpatrol edge telemetry`` shows it."""
    now = time.monotonic() if now is None else now
    s, c = state, state.counters
    table = Table(title=f"vehicle telemetry — {url}", show_header=False, title_justify="left")
    table.add_column("what", style="bold cyan", no_wrap=True)
    table.add_column("value")
    if s.system_id is None:
        link = "[yellow]waiting for autopilot heartbeat[/]"
    else:
        heard = "never" if s.last_heard is None else f"{now - s.last_heard:.1f}s ago"
        up = "[green]UP[/]" if s.link_up else "[red]LOST[/]"
        board = f", board {s.board_id}" if s.board_id else ""
        link = (
            f"{up}  last heard {heard}  (sys {s.system_id}/{s.component_id}{board}, losses {s.link_losses})"
        )
    table.add_row("link", link)
    armed = "[red]ARMED[/]" if s.armed else "[green]disarmed[/]"
    table.add_row("mode", f"{s.mode or '—'}  {armed}")
    table.add_row("position", f"{_f(s.lat, '.7f')}, {_f(s.lon, '.7f')}")
    table.add_row("altitude", f"rel {_f(s.alt_rel_m, '.1f', ' m')}   MSL {_f(s.alt_msl_m, '.1f', ' m')}")
    table.add_row(
        "attitude",
        f"roll {_f(s.roll_deg, '.1f', '°')}  pitch {_f(s.pitch_deg, '.1f', '°')}"
        f"  yaw {_f(s.yaw_deg, '.1f', '°')}",
    )
    table.add_row(
        "speed",
        f"ground {_f(s.groundspeed_mps, '.1f', ' m/s')}  heading {_f(s.heading_deg, '.0f', '°')}"
        f"  vertical {_f(s.climb_mps, '+.1f', ' m/s')}",
    )
    table.add_row(
        "battery",
        f"{_f(s.battery_voltage_v, '.2f', ' V')}  {_f(s.battery_remaining_pct, 'd', ' %')}"
        f"  {_f(s.battery_current_a, '.1f', ' A')}",
    )
    fix = "—" if s.gps_fix_type is None else _GPS_FIX.get(s.gps_fix_type, str(s.gps_fix_type))
    table.add_row("GPS", f"{fix}  sats {_f(s.gps_satellites, 'd')}  hdop {_f(s.gps_hdop, '.1f')}")
    total = "?" if s.mission_total is None else str(s.mission_total)
    table.add_row("mission item", f"{_f(s.mission_seq, 'd')} / {total}")
    home = f"{_f(s.home_lat, '.7f')}, {_f(s.home_lon, '.7f')}  {_f(s.home_alt_msl_m, '.1f', ' m')}"
    table.add_row("home", home)
    utc = s.utc_at(s.time_boot_s) if s.time_boot_s is not None else None
    utc_txt = "—" if utc is None else time.strftime("%H:%M:%S", time.gmtime(utc)) + " UTC"
    boot = _f(s.time_boot_s, ".1f", " s")
    table.add_row("vehicle time", f"{boot} since boot  {utc_txt}  reboots {c.reboots}")
    table.add_row("messages", f"{s.message_rate_hz:.0f}/s  total {c.accepted}  foreign {c.foreign}")
    table.add_row(
        "bad input",
        f"bad frames {c.bad_data} ({c.bad_bytes} B)  CRC {c.crc_errors}"
        f"  unknown {c.unknown}  malformed {c.malformed}",
    )
    if s.statustexts:
        table.add_row("last text", s.statustexts[-1].text)
    return table
