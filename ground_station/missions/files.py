"""Mission files (QGC ``.plan`` / ``QGC WPL 110``) to vehicle items and back, format by suffix.

The planner's file model numbers home as item 0; the vehicle client takes the mission proper
(items 1..n) plus an optional home. This module is the only place the two meet.
"""

from __future__ import annotations

import math
from pathlib import Path

from ground_station.mavlink.mission import MissionItem as VehicleItem
from ground_station.planning.mission import MissionItem as FileItem
from ground_station.planning.mission_files import (
    MissionFileError,
    read_plan,
    read_wpl,
    write_plan,
    write_wpl,
)

PLAN_SUFFIXES = (".plan",)
WPL_SUFFIXES = (".waypoints", ".wpl", ".txt")


def _finite(v: float, what: str, source: str) -> float:
    if not math.isfinite(v):
        raise MissionFileError(f"{source}: {what} is {v!r}; a vehicle mission needs a finite number")
    return v


def to_vehicle(items: list[FileItem], source: str = "<mission>") -> tuple[list[VehicleItem], tuple]:
    """(mission items 1..n, home (lat, lon, alt)) of a file's items, home first."""
    if not items:
        raise MissionFileError(f"{source}: no mission items")
    home_item, rest = items[0], items[1:]
    if not rest:
        raise MissionFileError(f"{source}: only a home position, no mission items to fly")
    home = (
        (home_item.x, home_item.y, home_item.z)
        if math.isfinite(home_item.x + home_item.y + home_item.z)
        else None
    )
    out = [
        VehicleItem(
            seq=it.seq,
            command=it.command,
            frame=it.frame,
            param1=it.param1,
            param2=it.param2,
            param3=it.param3,
            param4=it.param4,
            lat=_finite(it.x, f"item {it.seq} x/lat", source),
            lon=_finite(it.y, f"item {it.seq} y/lon", source),
            alt=_finite(it.z, f"item {it.seq} z/alt", source),
            autocontinue=bool(it.autocontinue),
        )
        for it in rest
    ]
    return out, home


def to_file(items: list[VehicleItem]) -> list[FileItem]:
    """File items of a vehicle mission downloaded with its home (item 0) first."""
    return [
        FileItem(
            seq=it.seq,
            frame=it.frame,
            command=it.command,
            param1=it.param1,
            param2=it.param2,
            param3=it.param3,
            param4=it.param4,
            x=it.lat,
            y=it.lon,
            z=it.alt,
            autocontinue=int(it.autocontinue),
            current=1 if it.seq == 0 else 0,
        )
        for it in items
    ]


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in PLAN_SUFFIXES:
        return "plan"
    if suffix in WPL_SUFFIXES:
        return "wpl"
    raise MissionFileError(
        f"{path}: unknown mission file type {suffix!r}; "
        "use .plan (QGroundControl) or .waypoints (QGC WPL 110)"
    )


def read_mission(path: Path | str) -> tuple[list[VehicleItem], tuple | None]:
    """(items 1..n, home or None) of a ``.plan`` or ``.waypoints`` file; ``MissionFileError`` if bad."""
    p = Path(path)
    kind = _kind(p)
    file_items = read_plan(p) if kind == "plan" else read_wpl(p)
    return to_vehicle(file_items, str(p))


def write_mission(
    path: Path | str, items_with_home: list[VehicleItem], cruise_speed: float, hover_speed: float
) -> None:
    """Write a downloaded mission (home first) in the format the suffix names."""
    p = Path(path)
    kind = _kind(p)
    file_items = to_file(items_with_home)
    if kind == "plan":
        write_plan(p, file_items, cruise_speed, hover_speed)
    else:
        write_wpl(p, file_items)
