"""A patrol flight's record, the same whoever keeps it: the drone's edge agent or a ground station.

A patrol flight is a record the district and the aviation authority ask for: when, which vehicle,
how long, how far, how high, how much battery, which waypoints of which mission, and the path it
flew. :class:`FlightRecorder` is pure (fed the vehicle's state with its time; :func:`record` feeds
it one decoded MAVLink message); :meth:`FlightRecorder.feature` is the logbook's GeoJSON form and
:func:`flight_from_feature` the wire's :class:`~contract.messages.Flight`.

Two keepers may record one flight (the drone always, an operator's ``mission watch`` too), each
with its own clock and name for it: :func:`same_flight` is the rule that makes them one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from contract.geo import distance_m
from contract.mavlink import (
    ARMED_FLAG,
    AUTOPILOT_ARDUPILOTMEGA,
    UINT16_UNKNOWN,
    WARNING_SEVERITY,
    mode_name,
    statustext,
)
from contract.messages import MAX_FLIGHT_POINTS, MAX_FLIGHT_WARNINGS, MAX_WARNING_CHARS, Flight

#: A track point is kept when the vehicle moved this far since the last one, or ...
TRACK_STEP_M = 5.0
#: ... this long has passed (a hover still shows in the track).
TRACK_EVERY_S = 10.0


@dataclass
class FlightRecorder:
    """One flight, from arming to disarming, out of the vehicle's stream of state."""

    vehicle: str
    mission_count: int = 0
    armed_at: float | None = None
    disarmed_at: float | None = None
    track: list[tuple[float, float, float, float | None]] = field(default_factory=list)  # t, lat, lon, alt
    distance_m: float = 0.0
    max_alt_m: float | None = None
    battery_start_pct: float | None = None
    battery_end_pct: float | None = None
    reached: list[int] = field(default_factory=list)
    #: What the autopilot warned of in flight (failsafes, fence breaches), with when.
    warnings: list[tuple[float, str]] = field(default_factory=list)
    #: The flight modes flown, each from when (the last one: how it came home).
    modes: list[tuple[float, str]] = field(default_factory=list)
    _last: tuple[float, float, float, float | None] | None = field(default=None, repr=False)
    _mode: str | None = field(default=None, repr=False)

    @property
    def flying(self) -> bool:
        return self.armed_at is not None and self.disarmed_at is None

    def armed(self, t: float, armed: bool) -> None:
        """The heartbeat's armed flag; the flight runs from the first armed to the next disarmed."""
        if armed and self.armed_at is None:
            self.armed_at = t
            self.battery_start_pct = self.battery_end_pct
            if self._mode is not None:
                self.modes.append((t, self._mode))
        elif not armed and self.flying:
            if self._last is not None and self._last is not self.track[-1]:  # where it landed
                self._keep(self._last)
            self.disarmed_at = t

    def position(self, t: float, lat: float, lon: float, alt_rel_m: float | None = None) -> None:
        if not self.flying or (lat == 0.0 and lon == 0.0):  # no fix reads as 0, 0
            return
        if alt_rel_m is not None:
            self.max_alt_m = alt_rel_m if self.max_alt_m is None else max(self.max_alt_m, alt_rel_m)
        self._last = (t, lat, lon, alt_rel_m)
        if self.track:
            t0, lat0, lon0, _ = self.track[-1]
            if distance_m(lat0, lon0, lat, lon) < TRACK_STEP_M and t - t0 < TRACK_EVERY_S:
                return
        self._keep(self._last)

    def _keep(self, point: tuple[float, float, float, float | None]) -> None:
        if self.track:
            self.distance_m += distance_m(self.track[-1][1], self.track[-1][2], point[1], point[2])
        self.track.append(point)

    def battery(self, pct: float | None) -> None:
        """SYS_STATUS battery_remaining (-1: the vehicle does not know)."""
        if pct is not None and pct >= 0:
            self.battery_end_pct = float(pct)
            if self.armed_at is None:
                self.battery_start_pct = float(pct)

    def warning(self, t: float, text: str) -> None:
        """A STATUSTEXT of warning severity or worse, kept while flying (the first
        ``MAX_FLIGHT_WARNINGS``: a vehicle repeating one each second must not grow the file for ever)."""
        if self.flying and len(self.warnings) < MAX_FLIGHT_WARNINGS:
            self.warnings.append((t, text))

    def mode(self, t: float, name: str | None) -> None:
        """The heartbeat's flight mode; each change while flying is kept (the first
        ``MAX_FLIGHT_WARNINGS``), the one at take-off too."""
        if name is None or name == self._mode:
            return
        self._mode = name
        if self.flying and len(self.modes) < MAX_FLIGHT_WARNINGS:
            self.modes.append((t, name))

    def waypoint_reached(self, seq: int) -> None:
        if self.flying and seq not in self.reached:
            self.reached.append(seq)

    def feature(self) -> dict[str, Any]:
        """The flight as a GeoJSON Feature: its track, and what a logbook line says."""
        start, end = self.armed_at, self.disarmed_at
        iso = lambda t: None if t is None else datetime.fromtimestamp(t, UTC).isoformat()  # noqa: E731
        used = None
        if self.battery_start_pct is not None and self.battery_end_pct is not None:
            used = round(self.battery_start_pct - self.battery_end_pct, 1)
        coords = [[round(lon, 7), round(lat, 7)] for _, lat, lon, _ in self.track]
        return {
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": coords} if len(coords) > 1 else None,
            "properties": {
                "vehicle": self.vehicle,
                "armed_at": iso(start),
                "disarmed_at": iso(end),
                "duration_s": round(end - start, 1) if start is not None and end is not None else None,
                "distance_m": round(self.distance_m, 1),
                "max_alt_m": None if self.max_alt_m is None else round(self.max_alt_m, 1),
                "battery_start_pct": self.battery_start_pct,
                "battery_used_pct": used,
                "mission_count": self.mission_count,
                "waypoints_reached": list(self.reached),
                "warnings": [{"at": iso(t), "text": text[:MAX_WARNING_CHARS]} for t, text in self.warnings],
                "modes": [{"at": iso(t), "mode": name} for t, name in self.modes],
            },
        }


def record(rec: FlightRecorder, msg: Any, t: float) -> None:
    """Feed ``rec`` one decoded MAVLink message of the vehicle's (pymavlink's, by duck typing),
    received at UTC ``t``: arming and mode (HEARTBEAT), position, battery, warnings, waypoints
    reached and the mission's size. Other messages are ignored; the caller picks the vehicle's own."""
    kind = msg.get_type()
    if kind == "HEARTBEAT":
        if msg.autopilot == AUTOPILOT_ARDUPILOTMEGA:
            rec.mode(t, mode_name(msg.custom_mode))
        rec.armed(t, bool(msg.base_mode & ARMED_FLAG))
    elif kind == "GLOBAL_POSITION_INT":
        rec.position(t, msg.lat / 1e7, msg.lon / 1e7, msg.relative_alt / 1000.0)
    elif kind == "GPS_RAW_INT" and msg.fix_type >= 3:
        rec.position(t, msg.lat / 1e7, msg.lon / 1e7)
    elif kind == "SYS_STATUS":
        rec.battery(msg.battery_remaining)
    elif kind == "STATUSTEXT" and msg.severity <= WARNING_SEVERITY:
        rec.warning(t, statustext(msg))
    elif kind == "MISSION_ITEM_REACHED":
        rec.waypoint_reached(int(msg.seq))
    elif kind == "MISSION_CURRENT":  # MAVLink 2's ``total``: 0 not said, 65535 no mission
        total = int(getattr(msg, "total", 0) or 0)
        if 0 < total < UINT16_UNKNOWN:
            rec.mission_count = total


class VehicleClock:
    """UTC by the vehicle's GPS clock, for a keeper whose own may be wrong (a field laptop with no
    network time): then the station's record of a flight is timed as the drone's own is, and the
    two overlap as one flight. SYSTEM_TIME ties the vehicle's boot clock to UTC; each message
    stamped on the boot clock (``time_boot_ms``) then gives how far the keeper's clock is off,
    and between stamps the keeper's clock measures the time gone by. Until then (no GPS time
    yet), :meth:`utc` is the keeper's own time."""

    #: A stamp this far behind the last one is a reboot: its boot clock starts again at zero.
    REBOOT_S = 5.0

    def __init__(self) -> None:
        self._unix_minus_boot: float | None = None  # vehicle UTC - vehicle boot time
        self._last_boot_s: float | None = None
        self._skew_s: float | None = None  # vehicle UTC - keeper UTC, at the last stamp

    def see(self, msg: Any, t: float) -> None:
        """One decoded message of the vehicle's, received at the keeper's UTC ``t``."""
        boot_ms = getattr(msg, "time_boot_ms", None)
        if not isinstance(boot_ms, int):
            return
        boot_s = boot_ms / 1000.0
        if self._last_boot_s is not None and boot_s < self._last_boot_s - self.REBOOT_S:
            self._unix_minus_boot = None  # rebooted: wait for its next SYSTEM_TIME
        self._last_boot_s = boot_s
        if msg.get_type() == "SYSTEM_TIME" and msg.time_unix_usec:
            self._unix_minus_boot = msg.time_unix_usec / 1e6 - boot_s
        if self._unix_minus_boot is not None:
            self._skew_s = boot_s + self._unix_minus_boot - t

    def utc(self, t: float) -> float:
        """The vehicle's UTC at the keeper's UTC ``t``."""
        return t if self._skew_s is None else t + self._skew_s


def came_home(modes: list[str]) -> str | None:
    """How a flight ended, from the modes it flew in order: ``"mission"`` (its mission's own end,
    AUTO), a return (``SMART_RTL``, ``RTL``: a failsafe's, a fence's or an operator's) or a
    ``LAND`` where it was; None where no mode was recorded."""
    if not modes:
        return None
    return "mission" if modes[-1] == "AUTO" else modes[-1]


def flight_id(vehicle: str, armed_at: float) -> str:
    """``VEHICLE-YYYYmmddTHHMMSSZ``: the vehicle and its take-off, the name of the flight's record."""
    return f"{vehicle}-{datetime.fromtimestamp(armed_at, UTC).strftime('%Y%m%dT%H%M%SZ')}"


#: A track's box: min lon, min lat, max lon, max lat.
Box = tuple[float, float, float, float]


def same_flight(
    a: tuple[str, float, float],
    b: tuple[str, float, float],
    box_a: Box | None = None,
    box_b: Box | None = None,
) -> bool:
    """Whether two records (vehicle, take-off, landing; UTC seconds) are of one flight: one vehicle
    cannot fly twice at once, so the same vehicle in the air at overlapping times is one flight,
    whatever each keeper's clock and id made of it. Given both tracks' boxes, they must meet too:
    two records of one flight flew one path, and a keeper that misnamed another drone flying at
    the same time elsewhere does not make one flight of two."""
    if box_a is not None and box_b is not None and not boxes_meet(box_a, box_b):
        return False
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


def boxes_meet(a: Box, b: Box) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def track_box(track: list[tuple[float, float]]) -> Box | None:
    """The box of (lon, lat) points; None for no point."""
    if not track:
        return None
    return (
        min(x for x, _ in track),
        min(y for _, y in track),
        max(x for x, _ in track),
        max(y for _, y in track),
    )


def flight_from_feature(feature: dict[str, Any], default_id: str) -> Flight:
    """The contract :class:`Flight` of a logbook entry (its ``flight_id``, else ``default_id``);
    ``ValueError`` (pydantic's ``ValidationError``) when it cannot be one: not seen landing, a
    track of one point."""
    p = feature["properties"]
    if p.get("disarmed_at") is None:
        raise ValueError("the flight was not seen landing (the follower stopped in flight)")
    return Flight(
        flight_id=p.get("flight_id") or default_id,
        vehicle=p["vehicle"],
        armed_at=p["armed_at"],
        disarmed_at=p["disarmed_at"],
        distance_m=p["distance_m"],
        max_alt_m=p.get("max_alt_m"),
        battery_used_pct=p.get("battery_used_pct"),
        mission_count=p.get("mission_count") or 0,
        waypoints_reached=p.get("waypoints_reached") or [],
        warnings=(p.get("warnings") or [])[:MAX_FLIGHT_WARNINGS],
        modes=(p.get("modes") or [])[:MAX_FLIGHT_WARNINGS],
        track=_at_most(
            MAX_FLIGHT_POINTS,
            [(float(c[0]), float(c[1])) for c in ((feature.get("geometry") or {}).get("coordinates") or [])],
        ),
    )


def _at_most(n: int, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Evenly spaced points of a long track, its first and last kept (the wire's cap is ``n``)."""
    if len(points) <= n:
        return points
    step = (len(points) - 1) / (n - 1)
    return [points[round(k * step)] for k in range(n)]
