"""Typed mission items and command results, and their MAVLink wire form (pure, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from contract.mavlink import FENCE_VERTEX_EXCLUSION, FENCE_VERTEX_INCLUSION, FencePolygon

MAV_FRAME_GLOBAL = 0
MAV_FRAME_MISSION = 2
MAV_FRAME_GLOBAL_RELATIVE_ALT = 3
MAV_CMD_NAV_WAYPOINT = 16
MAV_CMD_NAV_TAKEOFF = 22
#: Frames whose x/y are latitude/longitude (MISSION_ITEM_INT sends them as degrees * 1e7).
GLOBAL_FRAMES = frozenset({0, 3, 5, 6, 10, 11})
MAV_RESULT_ACCEPTED = 0
MAV_MISSION_TYPE_MISSION = 0
MAV_MISSION_TYPE_FENCE = 1


@dataclass(frozen=True, slots=True)
class MissionItem:
    """One mission item as ArduPilot stores it; sent on the wire as MISSION_ITEM_INT."""

    seq: int
    command: int
    frame: int = MAV_FRAME_GLOBAL_RELATIVE_ALT
    param1: float = 0.0
    param2: float = 0.0
    param3: float = 0.0
    param4: float = 0.0
    lat: float = 0.0  # or param5 / local x, by frame
    lon: float = 0.0  # or param6 / local y, by frame
    alt: float = 0.0  # param7
    autocontinue: bool = True


def waypoint(seq: int, lat: float, lon: float, alt: float, hold_s: float = 0.0) -> MissionItem:
    """A NAV_WAYPOINT at ``alt`` metres above home."""
    return MissionItem(seq, MAV_CMD_NAV_WAYPOINT, param1=hold_s, lat=lat, lon=lon, alt=alt)


def home_placeholder(home: tuple[float, float, float] | None = None) -> MissionItem:
    """Item 0: ArduPilot's home slot, overwritten by the vehicle with its real home."""
    lat, lon, alt = home or (0.0, 0.0, 0.0)
    return MissionItem(0, MAV_CMD_NAV_WAYPOINT, frame=MAV_FRAME_GLOBAL, lat=lat, lon=lon, alt=alt)


def xy_scale(frame: int) -> float:
    """MISSION_ITEM_INT's x/y scaling for a frame: 1e7 for lat/lon, 1e4 for local metres, 1 for params."""
    if frame in GLOBAL_FRAMES:
        return 1e7
    return 1.0 if frame == MAV_FRAME_MISSION else 1e4


def to_wire(item: MissionItem) -> dict[str, float | int]:
    """Field values of a MISSION_ITEM_INT for ``item`` (targets and mission_type excluded)."""
    if item.seq < 0:
        raise ValueError(f"mission item seq must be >= 0, got {item.seq}")
    scale = xy_scale(item.frame)
    return {
        "seq": item.seq,
        "frame": item.frame,
        "command": item.command,
        "current": 0,
        "autocontinue": int(item.autocontinue),
        "param1": item.param1,
        "param2": item.param2,
        "param3": item.param3,
        "param4": item.param4,
        "x": round(item.lat * scale),
        "y": round(item.lon * scale),
        "z": item.alt,
    }


def from_wire(msg: object) -> MissionItem:
    """A ``MissionItem`` from a decoded MISSION_ITEM_INT or (float) MISSION_ITEM."""
    frame = int(msg.frame)  # type: ignore[attr-defined]
    is_int = msg.get_type() == "MISSION_ITEM_INT"  # type: ignore[attr-defined]
    scale = xy_scale(frame) if is_int else 1.0
    return MissionItem(
        seq=int(msg.seq),  # type: ignore[attr-defined]
        command=int(msg.command),  # type: ignore[attr-defined]
        frame=frame,
        param1=float(msg.param1),  # type: ignore[attr-defined]
        param2=float(msg.param2),  # type: ignore[attr-defined]
        param3=float(msg.param3),  # type: ignore[attr-defined]
        param4=float(msg.param4),  # type: ignore[attr-defined]
        lat=msg.x / scale,  # type: ignore[attr-defined]
        lon=msg.y / scale,  # type: ignore[attr-defined]
        alt=float(msg.z),  # type: ignore[attr-defined]
        autocontinue=bool(msg.autocontinue),  # type: ignore[attr-defined]
    )


def fence_items(polygons: list[FencePolygon]) -> list[MissionItem]:
    """The fence list (mission_type FENCE) of ``(inclusion, (lat, lon) corners)`` polygons: one
    vertex item per corner, param1 the polygon's corner count, as ArduPilot stores them."""
    out: list[MissionItem] = []
    for inclusion, points in polygons:
        cmd = FENCE_VERTEX_INCLUSION if inclusion else FENCE_VERTEX_EXCLUSION
        out += [
            MissionItem(len(out) + i, cmd, MAV_FRAME_GLOBAL, param1=float(len(points)), lat=lat, lon=lon)
            for i, (lat, lon) in enumerate(points)
        ]
    return out


def numbered(items: list[MissionItem], start: int = 1) -> list[MissionItem]:
    """``items`` renumbered ``start``, ``start + 1``... in list order."""
    return [replace(it, seq=start + i) for i, it in enumerate(items)]


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What a COMMAND_LONG got back: the COMMAND_ACK result and, on refusal, the vehicle's reason."""

    command: int
    result: int
    result_name: str
    reason: str | None = None  # e.g. "PreArm: Need Position Estimate"

    @property
    def accepted(self) -> bool:
        return self.result == MAV_RESULT_ACCEPTED
