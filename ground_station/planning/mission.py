"""A patrol plan as a MAVLink mission: the items an ArduPilot Copter flies, in upload order.

Item 0 is home (the autopilot replaces it with where it armed), then: take off to the patrol
altitude, set the ground speed, point the camera straight down, fly the waypoints, return to
launch (which lands at home on Copter). Command numbers are MAVLink ``common.xml``;
the test suite checks them against pymavlink's dialect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ground_station.planning.planner import PatrolPlan

MAV_CMD_NAV_WAYPOINT = 16
MAV_CMD_NAV_RETURN_TO_LAUNCH = 20
MAV_CMD_NAV_LAND = 21
MAV_CMD_NAV_TAKEOFF = 22
MAV_CMD_DO_CHANGE_SPEED = 178
MAV_CMD_DO_MOUNT_CONTROL = 205

MAV_FRAME_GLOBAL = 0
MAV_FRAME_MISSION = 2
MAV_FRAME_GLOBAL_RELATIVE_ALT = 3

MAV_MOUNT_MODE_MAVLINK_TARGETING = 2
SPEED_TYPE_GROUND = 1

#: Commands that move the vehicle to (lat, lon, alt); the rest are actions or have no position.
NAV_COMMANDS = frozenset({MAV_CMD_NAV_WAYPOINT, MAV_CMD_NAV_TAKEOFF, MAV_CMD_NAV_LAND})

COMMAND_NAMES = {
    MAV_CMD_NAV_WAYPOINT: "NAV_WAYPOINT",
    MAV_CMD_NAV_RETURN_TO_LAUNCH: "NAV_RETURN_TO_LAUNCH",
    MAV_CMD_NAV_LAND: "NAV_LAND",
    MAV_CMD_NAV_TAKEOFF: "NAV_TAKEOFF",
    MAV_CMD_DO_CHANGE_SPEED: "DO_CHANGE_SPEED",
    MAV_CMD_DO_MOUNT_CONTROL: "DO_MOUNT_CONTROL",
}

#: Gimbal pitch for a nadir camera, degrees (``contract.camera``: -90 looks straight down).
NADIR_PITCH_DEG = -90.0


@dataclass(frozen=True)
class MissionItem:
    """One MISSION_ITEM_INT as the WPL and .plan formats store it (x = lat, y = lon, z = alt)."""

    seq: int
    frame: int
    command: int
    param1: float = 0.0
    param2: float = 0.0
    param3: float = 0.0
    param4: float = 0.0
    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    autocontinue: int = 1
    current: int = 0

    @property
    def is_nav(self) -> bool:
        return self.command in NAV_COMMANDS

    def same_as(self, other: MissionItem, tol: float = 1e-6) -> bool:
        """Equal within ``tol`` (NaN equals NaN): what survives a text round trip."""
        a, b = _values(self), _values(other)
        return all((math.isnan(p) and math.isnan(q)) or abs(p - q) <= tol for p, q in zip(a, b, strict=True))


def _values(it: MissionItem) -> tuple[float, ...]:
    return (
        it.seq, it.frame, it.command, it.param1, it.param2, it.param3, it.param4,
        it.x, it.y, it.z, it.autocontinue, it.current,
    )  # fmt: skip


def build_mission(plan: PatrolPlan, home_alt_m: float = 0.0) -> list[MissionItem]:
    """The mission items of ``plan``, home first."""
    o = plan.options
    lat, lon = plan.home
    items = [
        MissionItem(0, MAV_FRAME_GLOBAL, MAV_CMD_NAV_WAYPOINT, x=lat, y=lon, z=home_alt_m, current=1),
        MissionItem(1, MAV_FRAME_GLOBAL_RELATIVE_ALT, MAV_CMD_NAV_TAKEOFF, x=lat, y=lon, z=o.alt_m),
        MissionItem(2, MAV_FRAME_MISSION, MAV_CMD_DO_CHANGE_SPEED, SPEED_TYPE_GROUND, o.speed_mps, -1.0),
        MissionItem(
            3,
            MAV_FRAME_MISSION,
            MAV_CMD_DO_MOUNT_CONTROL,
            NADIR_PITCH_DEG,
            0.0,
            0.0,
            z=MAV_MOUNT_MODE_MAVLINK_TARGETING,
        ),
    ]
    for w in plan.waypoints:
        items.append(
            MissionItem(
                len(items), MAV_FRAME_GLOBAL_RELATIVE_ALT, MAV_CMD_NAV_WAYPOINT, x=w.lat, y=w.lon, z=o.alt_m
            )
        )
    items.append(MissionItem(len(items), MAV_FRAME_MISSION, MAV_CMD_NAV_RETURN_TO_LAUNCH))
    return items
