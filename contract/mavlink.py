"""MAVLink conventions of ArduPilot Copter, shared by the simulator and every client.

These are properties of the wire, not of one component: the simulator emits them, the edge
agent and ground station decode them. Values follow ArduPilot's ``mode.h`` and ``common.xml``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

from contract.geo import inside_polygon

# pymavlink picks its dialect from the environment at import time; ArduPilot speaks MAVLink 2
# with the ardupilotmega dialect. Set both before any ``pymavlink`` import in the project.
os.environ.setdefault("MAVLINK20", "1")
os.environ.setdefault("MAVLINK_DIALECT", "ardupilotmega")

#: ArduPilot Copter flight modes (HEARTBEAT.custom_mode).
COPTER_MODES: dict[str, int] = {
    "STABILIZE": 0,
    "ACRO": 1,
    "ALT_HOLD": 2,
    "AUTO": 3,
    "GUIDED": 4,
    "LOITER": 5,
    "RTL": 6,
    "CIRCLE": 7,
    "LAND": 9,
    "BRAKE": 17,
    "SMART_RTL": 21,
}
COPTER_MODE_NAMES: dict[int, str] = {v: k for k, v in COPTER_MODES.items()}

#: MAV_SEVERITY_WARNING: a STATUSTEXT this severe or worse (lower) is one an operator must read
#: (a fence breach, a failsafe); the rest is information.
WARNING_SEVERITY = 4
#: HEARTBEAT.base_mode's armed bit (MAV_MODE_FLAG_SAFETY_ARMED).
ARMED_FLAG = 128
#: HEARTBEAT.autopilot of ArduPilot (MAV_AUTOPILOT_ARDUPILOTMEGA): its custom_mode is a Copter mode.
AUTOPILOT_ARDUPILOTMEGA = 3
#: SYS_STATUS sensor bit of the autopilot's pre-arm checks (MAV_SYS_STATUS_PREARM_CHECK).
PREARM_CHECK = 0x10000000
#: A uint16 field the vehicle does not know (hdg, voltages, MISSION_CURRENT's total...).
UINT16_UNKNOWN = 65535


def board_id(msg: Any) -> str | None:
    """The flight controller's hardware id from AUTOPILOT_VERSION, as lower-case hex: ``uid2``
    (18 bytes) where the board sets it, else ``uid`` (64 bits); None where it reports neither.
    Unlike the system id, which every ArduPilot ships as 1, it tells two boards apart: which
    edge agent rides on which vehicle, when two drones stand side by side."""
    uid2 = bytes(int(b) & 0xFF for b in (getattr(msg, "uid2", None) or []))
    if any(uid2):
        return uid2.hex()
    uid = int(getattr(msg, "uid", 0) or 0)
    return f"{uid:016x}" if uid else None


def statustext(msg: Any) -> str:
    """A STATUSTEXT's text: decoded where pymavlink left bytes, its NUL padding dropped."""
    text = msg.text if isinstance(msg.text, str) else bytes(msg.text).decode("utf-8", "replace")
    return text.rstrip("\x00")


#: Vehicle SYSID/COMPID of an ArduPilot SITL out of the box.
VEHICLE_SYSTEM_ID = 1
AUTOPILOT_COMPONENT_ID = 1
#: Ground-control stations conventionally use system id 255 (MAVProxy, QGroundControl).
GCS_SYSTEM_ID = 255


def mode_name(custom_mode: int) -> str:
    """Name of a Copter custom mode, or ``MODE(n)`` for one we do not know."""
    return COPTER_MODE_NAMES.get(custom_mode, f"MODE({custom_mode})")


def mode_number(name: str) -> int:
    """Custom-mode number of a Copter mode name (case-insensitive); ``KeyError`` if unknown."""
    return COPTER_MODES[name.upper()]


#: A fence polygon's vertex items (mission_type FENCE), param1 the polygon's corner count.
FENCE_VERTEX_INCLUSION = 5001  # MAV_CMD_NAV_FENCE_POLYGON_VERTEX_INCLUSION
FENCE_VERTEX_EXCLUSION = 5002  # MAV_CMD_NAV_FENCE_POLYGON_VERTEX_EXCLUSION


class FencePolygon(NamedTuple):
    """One polygon of a geofence: the vehicle stays inside every ``inclusion`` one and outside every
    other (a school, a helipad); ``points`` are its ``(lat, lon)`` corners, open ring."""

    inclusion: bool
    points: tuple[tuple[float, float], ...]


class FenceVertex(Protocol):
    """What a fence list item has, whichever side's mission item class holds it."""

    @property
    def command(self) -> int: ...

    @property
    def param1(self) -> float: ...

    @property
    def lat(self) -> float: ...

    @property
    def lon(self) -> float: ...


def fence_polygons(items: Sequence[FenceVertex]) -> list[FencePolygon]:
    """The polygons of a fence list as ArduPilot reads it: each run of vertex items whose first
    says how many corners follow; other items (circles, a return point) are skipped."""
    out: list[FencePolygon] = []
    k = 0
    while k < len(items):
        it = items[k]
        if it.command not in (FENCE_VERTEX_INCLUSION, FENCE_VERTEX_EXCLUSION):
            k += 1
            continue
        n = max(1, int(it.param1))
        out.append(
            FencePolygon(
                it.command == FENCE_VERTEX_INCLUSION, tuple((v.lat, v.lon) for v in items[k : k + n])
            )
        )
        k += n
    return out


def polygon_breached(polygons: Sequence[FencePolygon], lat: float, lon: float) -> int | None:
    """Index of the first polygon (lat, lon) breaks as ArduPilot judges a polygon fence: outside
    an inclusion one, or inside an exclusion one (a ring of under 3 corners fences nothing);
    ``None`` when it keeps to every one."""
    for k, (inclusion, points) in enumerate(polygons):
        if len(points) >= 3 and inside_polygon(lat, lon, points) != inclusion:
            return k
    return None
