"""Fleet state from the drones' MQTT messages (pure: every call takes ``now``, UNIX seconds).

A drone is *offline* as soon as its retained last will ``DroneStatus(online=False)`` arrives
and no telemetry came after it; *stale* when nothing was heard for longer than the keep-alive
window (a drone can vanish without its broker noticing for 1.5 keep-alives); *online* otherwise.
Bad payloads are rejected with the topic and the reason, counted, and the view carries on.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from pydantic import ValidationError

from contract import topics
from contract.messages import DroneStatus, Telemetry, validate_from_newer, where_invalid


class Link(StrEnum):
    ONLINE = "online"
    STALE = "stale"
    OFFLINE = "offline"
    UNKNOWN = "unknown"  # only a retained status without a time: nothing heard yet


@dataclass
class _Drone:
    telemetry: Telemetry | None = None
    telemetry_at: float | None = None
    status: DroneStatus | None = None
    status_at: float | None = None  # when we received it
    status_heard_at: float | None = None  # when the drone said it (retained: its own time)
    boards: dict[str, float] = field(default_factory=dict)  # board id -> when last reported
    newer_fields: tuple[str, ...] = ()  # telemetry fields this station does not know, left out


@dataclass(frozen=True)
class DroneRow:
    """One drone as the dashboard shows it; JSON-ready."""

    drone_id: str
    link: Link
    last_heard_s: float | None
    reason: str | None = None
    mode: str | None = None
    armed: bool | None = None
    battery_pct: float | None = None
    gps_fix: int | None = None
    satellites: int | None = None
    lat: float | None = None
    lon: float | None = None
    alt_rel_m: float | None = None
    mission_item: int | None = None
    mission_count: int | None = None
    mission_pct: float | None = None
    alerts_this_flight: int | None = None
    outbox_backlog: int | None = None
    telemetry_link_ok: bool | None = None
    camera: str | None = None
    detect_fps: float | None = None
    warning: str | None = None  #: the autopilot's latest warning, while recent
    board_id: str | None = None  #: the flight controller's hardware id, as the agent heard it
    wind_mps: float | None = None  #: the autopilot's wind estimate
    wind_from_deg: float | None = None
    #: The boards of two or more vehicles heard under this one id lately: two drones' agents set up
    #: alike (a copied memory card). Their alerts, flights and status mix under one name.
    id_shared_by: tuple[str, ...] = ()
    #: Telemetry fields this station does not know (a drone running a newer RiverPatrol): shown
    #: without them, and said, so the station is upgraded.
    newer_fields: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        d = asdict(self)
        d["link"] = self.link.value
        return d


def shared_id(boards: dict[str, float], now: float, within_s: float) -> tuple[str, ...]:
    """The boards (id -> when last reported) heard under one drone id within ``within_s`` of
    ``now``, where there are two or more: one id on two vehicles; else empty."""
    recent = tuple(sorted(b for b, at in boards.items() if now - at <= within_s))
    return recent if len(recent) > 1 else ()


def shared_id_problem(row: DroneRow) -> str | None:
    """What an operator must read when two vehicles report as one drone id; None when not."""
    if not row.id_shared_by:
        return None
    boards = ", ".join(row.id_shared_by)
    return (
        f"{row.drone_id} is {len(row.id_shared_by)} drones (boards {boards} each report as it):"
        " give each drone's agent its own drone_id"
    )


def mission_pct(item: int | None, count: int | None) -> float | None:
    """Share of the mission done when flying to ``item`` of ``count`` (items 1..count), by items."""
    if item is None or not count or count <= 0:
        return None
    done = min(max(item - 1, 0), count)
    return round(100.0 * done / count, 1)


@dataclass
class FleetState:
    """Per-drone latest telemetry and status; ``rows(now)`` is the dashboard."""

    stale_after_s: float
    drones: dict[str, _Drone] = field(default_factory=dict)
    rejected: Counter[str] = field(default_factory=Counter)
    last_error: str | None = None

    def on_telemetry(self, t: Telemetry, now: float) -> None:
        d = self.drones.setdefault(t.drone_id, _Drone())
        d.telemetry, d.telemetry_at = t, now
        if t.board_id is not None:
            d.boards[t.board_id] = now
            for board, at in list(d.boards.items()):
                if now - at > self.stale_after_s:
                    del d.boards[board]

    def on_status(self, s: DroneStatus, now: float, retained: bool = False) -> None:
        d = self.drones.setdefault(s.drone_id, _Drone())
        d.status, d.status_at = s, now
        if not s.online:
            return  # the last will comes from the broker: the drone itself was not heard
        if not retained:
            d.status_heard_at = now
        elif s.time is not None:
            d.status_heard_at = s.time.timestamp()

    def on_payload(self, topic: str, payload: bytes, now: float, retained: bool = False) -> bool:
        """Apply one MQTT message; ``False`` (counted, ``last_error`` set) if it is rejected. A
        drone's telemetry with fields this station does not know is shown without them, and said."""
        newer: list[str] = []
        try:
            drone_id, kind = topics.parse(topic)
            if kind == topics.TELEMETRY:
                msg: Telemetry | DroneStatus
                msg, newer = validate_from_newer(Telemetry, payload)
            elif kind == topics.STATUS:
                if not payload:  # a cleared retained status: the drone was decommissioned
                    self.drones.pop(drone_id, None)
                    return True
                msg, _ = validate_from_newer(DroneStatus, payload)  # online or not reads the same
            else:
                return True  # alerts and future kinds are not this view's business
            if msg.drone_id != drone_id:
                raise ValueError(f"payload drone_id {msg.drone_id!r} differs from the topic's {drone_id!r}")
        except (ValueError, ValidationError) as e:
            reason = type(e).__name__
            self.rejected[reason] += 1
            first = where_invalid(e) if isinstance(e, ValidationError) else str(e) or reason
            self.last_error = f"{topic}: rejected {len(payload)}-byte payload: {first}"
            return False
        if isinstance(msg, Telemetry):
            self.on_telemetry(msg, now)
            self.drones[drone_id].newer_fields = tuple(newer)
        else:
            self.on_status(msg, now, retained)
        return True

    def link(self, drone_id: str, now: float) -> tuple[Link, float | None]:
        """(link state, seconds since last heard) of one drone."""
        d = self.drones[drone_id]
        heard = max((t for t in (d.telemetry_at, d.status_heard_at) if t is not None), default=None)
        age = None if heard is None else max(0.0, now - heard)
        if (
            d.status is not None
            and not d.status.online
            and (d.telemetry_at is None or d.status_at is None or d.telemetry_at <= d.status_at)
        ):
            return Link.OFFLINE, age
        if age is None:
            return Link.UNKNOWN, None
        return (Link.STALE if age > self.stale_after_s else Link.ONLINE), age

    def rows(self, now: float) -> list[DroneRow]:
        out = []
        for drone_id in sorted(self.drones):
            d = self.drones[drone_id]
            link, age = self.link(drone_id, now)
            t = d.telemetry
            reason = d.status.reason if d.status is not None and not d.status.online else None
            if t is None:
                out.append(DroneRow(drone_id, link, age, reason))
                continue
            out.append(
                DroneRow(
                    drone_id,
                    link,
                    age,
                    reason,
                    mode=t.mode,
                    armed=t.armed,
                    battery_pct=t.battery_pct,
                    gps_fix=t.gps_fix,
                    satellites=t.satellites,
                    lat=t.lat,
                    lon=t.lon,
                    alt_rel_m=t.alt_rel_m,
                    mission_item=t.mission_item,
                    mission_count=t.mission_count,
                    mission_pct=mission_pct(t.mission_item, t.mission_count),
                    alerts_this_flight=t.alerts_this_flight,
                    outbox_backlog=t.outbox_backlog,
                    telemetry_link_ok=t.link_ok,
                    camera=t.camera,
                    detect_fps=t.detect_fps,
                    warning=t.warning,
                    board_id=t.board_id,
                    wind_mps=t.wind_mps,
                    wind_from_deg=t.wind_from_deg,
                    id_shared_by=shared_id(d.boards, now, self.stale_after_s),
                    newer_fields=d.newer_fields,
                )
            )
        return out
