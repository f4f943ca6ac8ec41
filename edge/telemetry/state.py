"""Typed, timestamped vehicle state, built from decoded pymavlink messages.

``StateTracker.digest`` is the pure core of the telemetry link: it takes one decoded message
and the local monotonic receive time, and updates ``VehicleState`` and the pose history. No
sockets, no clocks of its own, so tests feed it encoded messages and chosen times, and the
benchmark measures it. It locks onto the first autopilot HEARTBEAT (GCS, gimbal, camera...
heartbeats are ignored) and from then on only digests that system/component's messages.

Three clocks are kept: vehicle time (``time_boot_ms`` in seconds), UTC (vehicle time plus the
offset SYSTEM_TIME gives), and local monotonic receive time.
"""

from __future__ import annotations

import copy
import logging
import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from contract.heartbeat import is_autopilot_heartbeat
from contract.mavlink import (
    ARMED_FLAG,
    AUTOPILOT_ARDUPILOTMEGA,
    PREARM_CHECK,
    UINT16_UNKNOWN,
    WARNING_SEVERITY,
    board_id,
    mode_name,
    statustext,
)
from contract.messages import MAX_WARNING_CHARS
from edge.telemetry.pose import PoseHistory
from edge.telemetry.streams import POSE_MESSAGES

log = logging.getLogger(__name__)


class Digest(IntEnum):
    """What digesting one message meant, for the link thread to act on."""

    IGNORED = 0  # garbage, unknown, malformed, or from another system/component
    ACCEPTED = 1  # a message from our autopilot, state updated
    LOCKED = 2  # the first autopilot heartbeat: we now know whom to talk to
    REBOOTED = 3  # vehicle clock went backwards: streams must be requested again
    STREAM = 4  # accepted, and it is a pose-stream message (streams are flowing)


@dataclass(frozen=True, slots=True)
class StatusText:
    """One STATUSTEXT from the vehicle."""

    severity: int
    text: str
    received: float  # local monotonic time


def latest_warning(texts: Iterable[StatusText], now: float, within_s: float) -> str | None:
    """The newest STATUSTEXT of warning severity or worse heard in the last ``within_s``."""
    recent = [s for s in texts if s.severity <= WARNING_SEVERITY and now - s.received <= within_s]
    return max(recent, key=lambda s: s.received).text[:MAX_WARNING_CHARS] if recent else None


@dataclass(slots=True)
class Counters:
    """What arrived on the link, good and bad."""

    messages: int = 0  # everything pymavlink returned, bad data included
    accepted: int = 0  # from our autopilot and digested
    foreign: int = 0  # from another system/component (GCS, gimbal...) or before the lock
    bad_data: int = 0  # pymavlink BAD_DATA (bad prefix, bad CRC, bad length...)
    bad_bytes: int = 0
    crc_errors: int = 0  # the BAD_DATA that failed their CRC
    unknown: int = 0  # valid frames of message ids our dialect does not know
    malformed: int = 0  # decodable but with impossible values
    reboots: int = 0
    by_type: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class VehicleState:
    """Latest known state of the vehicle; None means never reported."""

    system_id: int | None = None
    component_id: int | None = None
    board_id: str | None = None  # the flight controller's hardware id (AUTOPILOT_VERSION)
    vehicle_type: int | None = None
    mode: str | None = None
    armed: bool = False
    system_status: int | None = None
    lat: float | None = None
    lon: float | None = None
    alt_rel_m: float | None = None  # above home
    alt_msl_m: float | None = None
    roll_deg: float | None = None
    pitch_deg: float | None = None
    yaw_deg: float | None = None
    groundspeed_mps: float | None = None
    airspeed_mps: float | None = None
    heading_deg: float | None = None
    wind_mps: float | None = None  # the autopilot's wind estimate (WIND, ArduPilot)
    wind_from_deg: float | None = None  # where it blows from, 0-360
    climb_mps: float | None = None  # vertical speed, up positive
    throttle_pct: int | None = None
    battery_voltage_v: float | None = None
    battery_current_a: float | None = None
    battery_remaining_pct: int | None = None
    gps_fix_type: int | None = None
    gps_satellites: int | None = None
    gps_hdop: float | None = None
    prearm_ok: bool | None = None  # SYS_STATUS pre-arm check bit, when the vehicle reports it
    mission_seq: int | None = None
    mission_total: int | None = None
    home_lat: float | None = None
    home_lon: float | None = None
    home_alt_msl_m: float | None = None
    time_boot_s: float | None = None  # latest vehicle time
    utc_offset_s: float | None = None  # UTC = vehicle time + offset (from SYSTEM_TIME)
    position_time_boot_s: float | None = None
    attitude_time_boot_s: float | None = None
    last_heard: float | None = None  # local monotonic time of the last message from the vehicle
    last_heartbeat: float | None = None
    link_up: bool = False
    link_losses: int = 0
    stream_requests: int = 0
    message_rate_hz: float = 0.0
    statustexts: deque[StatusText] = field(default_factory=lambda: deque(maxlen=20))
    counters: Counters = field(default_factory=Counters)

    def utc_at(self, time_boot_s: float) -> float | None:
        """UTC (Unix seconds) of a vehicle time, None until SYSTEM_TIME gave the offset."""
        return None if self.utc_offset_s is None else time_boot_s + self.utc_offset_s

    def snapshot(self) -> VehicleState:
        """A deep copy other threads may keep and read."""
        return copy.deepcopy(self)


class StateTracker:
    """Digests decoded MAVLink messages into a ``VehicleState`` and a ``PoseHistory``."""

    def __init__(
        self,
        poses: PoseHistory | None = None,
        *,
        reboot_tolerance_s: float = 1.0,
        statustext_keep: int = 20,
        rate_window_s: float = 1.0,
    ) -> None:
        self.poses = poses if poses is not None else PoseHistory()
        self.state = VehicleState(statustexts=deque(maxlen=statustext_keep))
        self.reboot_tolerance_s = reboot_tolerance_s
        self.rate_window_s = rate_window_s
        self._rate_start: float | None = None
        self._rate_count = 0
        self._clock: tuple[float, float] | None = None  # (vehicle time, monotonic) of the latest stamp
        self._handlers = {
            "HEARTBEAT": self._heartbeat,
            "GLOBAL_POSITION_INT": self._global_position_int,
            "ATTITUDE": self._attitude,
            "VFR_HUD": self._vfr_hud,
            "SYS_STATUS": self._sys_status,
            "BATTERY_STATUS": self._battery_status,
            "GPS_RAW_INT": self._gps_raw_int,
            "MISSION_CURRENT": self._mission_current,
            "HOME_POSITION": self._home_position,
            "SYSTEM_TIME": self._system_time,
            "STATUSTEXT": self._statustext,
            "AUTOPILOT_VERSION": self._autopilot_version,
            "WIND": self._wind,
        }

    @property
    def target(self) -> tuple[int, int] | None:
        """(system id, component id) of the autopilot we locked onto."""
        s = self.state
        return None if s.system_id is None else (s.system_id, s.component_id or 0)

    def digest(self, msg: Any, now: float) -> Digest:
        """Update the state from one decoded message received at monotonic time ``now``."""
        c = self.state.counters
        c.messages += 1
        mtype = msg.get_type()
        if mtype == "BAD_DATA":
            c.bad_data += 1
            c.bad_bytes += len(msg.data)
            if "CRC" in str(msg.reason):
                c.crc_errors += 1
            return Digest.IGNORED
        if mtype.startswith("UNKNOWN_"):
            c.unknown += 1
            return Digest.IGNORED
        s = self.state
        src = (msg.get_srcSystem(), msg.get_srcComponent())
        locked = Digest.ACCEPTED
        if s.system_id is None:
            if mtype != "HEARTBEAT" or not is_autopilot_heartbeat(msg.type, msg.autopilot, src[1]):
                c.foreign += 1
                return Digest.IGNORED
            s.system_id, s.component_id = src
            locked = Digest.LOCKED
            log.info("event=vehicle_locked system=%d component=%d type=%d", src[0], src[1], msg.type)
        elif src[0] != s.system_id or src[1] != s.component_id:
            c.foreign += 1
            return Digest.IGNORED
        c.accepted += 1
        c.by_type[mtype] = c.by_type.get(mtype, 0) + 1
        s.last_heard = now
        self._count_rate(now)
        handler = self._handlers.get(mtype)
        if handler is None:
            return locked
        try:
            result = handler(msg, now)
        except Exception as e:  # a bad message must never stop the tracker: count it, carry on
            c.malformed += 1
            log.warning("event=malformed_message type=%s system=%d error=%r", mtype, src[0], e)
            return Digest.IGNORED
        if result is not None:
            return result
        if locked is Digest.LOCKED:
            return locked
        return Digest.STREAM if mtype in POSE_MESSAGES else Digest.ACCEPTED

    def vehicle_time_at(self, monotonic: float) -> float | None:
        """Vehicle time (s since boot) at a local monotonic time, from the latest stamped message.

        Assumes the vehicle clock runs at wall speed between stamps; accurate to the link
        latency, which is what a frame grabbed on the companion can know.
        """
        if self._clock is None:
            return None
        t_boot, t_mono = self._clock
        return t_boot + (monotonic - t_mono)

    # -- helpers ---------------------------------------------------------------------------

    def _count_rate(self, now: float) -> None:
        if self._rate_start is None:
            self._rate_start, self._rate_count = now, 0
        self._rate_count += 1
        elapsed = now - self._rate_start
        if elapsed >= self.rate_window_s:
            self.state.message_rate_hz = self._rate_count / elapsed
            self._rate_start, self._rate_count = now, 0

    def _stamp(self, time_boot_ms: int, now: float) -> tuple[float, bool]:
        """Vehicle time of a message in seconds, and whether it shows the vehicle rebooted."""
        t = time_boot_ms / 1000.0
        s = self.state
        rebooted = False
        if s.time_boot_s is not None and t < s.time_boot_s - self.reboot_tolerance_s:
            rebooted = True
            s.counters.reboots += 1
            s.utc_offset_s = None
            s.time_boot_s = t
            self.poses.clear()
            log.warning("event=vehicle_reboot time_boot_s=%.3f", t)
        elif s.time_boot_s is None or t > s.time_boot_s:
            s.time_boot_s = t
        self._clock = (s.time_boot_s, now)
        return t, rebooted

    # -- handlers: return None for "nothing special", or a Digest to report -----------------

    def _heartbeat(self, msg: Any, now: float) -> Digest | None:
        s = self.state
        s.last_heartbeat = now
        s.vehicle_type = msg.type
        s.armed = bool(msg.base_mode & ARMED_FLAG)
        s.system_status = msg.system_status
        if msg.autopilot == AUTOPILOT_ARDUPILOTMEGA:
            s.mode = mode_name(msg.custom_mode)
        else:
            s.mode = f"MODE({msg.custom_mode})"
        return None

    def _global_position_int(self, msg: Any, now: float) -> Digest | None:
        lat, lon = msg.lat / 1e7, msg.lon / 1e7
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            raise ValueError(f"GLOBAL_POSITION_INT lat/lon out of range: {lat}, {lon}")
        t, rebooted = self._stamp(msg.time_boot_ms, now)
        s = self.state
        s.climb_mps = -msg.vz / 100.0
        s.groundspeed_mps = math.hypot(msg.vx, msg.vy) / 100.0
        if msg.hdg != UINT16_UNKNOWN:
            s.heading_deg = msg.hdg / 100.0
        if lat == 0.0 and lon == 0.0:  # ArduPilot sends zeros until it has a position estimate
            return Digest.REBOOTED if rebooted else None
        s.lat, s.lon = lat, lon
        s.alt_msl_m, s.alt_rel_m = msg.alt / 1000.0, msg.relative_alt / 1000.0
        s.position_time_boot_s = t
        self.poses.add_position(t, lat, lon, s.alt_rel_m, s.alt_msl_m)
        return Digest.REBOOTED if rebooted else None

    def _attitude(self, msg: Any, now: float) -> Digest | None:
        roll, pitch, yaw = math.degrees(msg.roll), math.degrees(msg.pitch), math.degrees(msg.yaw)
        if not (math.isfinite(roll) and math.isfinite(pitch) and math.isfinite(yaw)):
            raise ValueError(f"ATTITUDE not finite: roll={roll} pitch={pitch} yaw={yaw}")
        t, rebooted = self._stamp(msg.time_boot_ms, now)
        s = self.state
        s.roll_deg, s.pitch_deg, s.yaw_deg = roll, pitch, yaw
        s.attitude_time_boot_s = t
        self.poses.add_attitude(t, roll, pitch, yaw)
        return Digest.REBOOTED if rebooted else None

    def _vfr_hud(self, msg: Any, now: float) -> Digest | None:
        s = self.state
        s.airspeed_mps = float(msg.airspeed)
        s.groundspeed_mps = float(msg.groundspeed)
        s.heading_deg = float(msg.heading)
        s.climb_mps = float(msg.climb)
        s.throttle_pct = int(msg.throttle)
        return None

    def _sys_status(self, msg: Any, now: float) -> Digest | None:
        s = self.state
        if msg.voltage_battery != UINT16_UNKNOWN:
            s.battery_voltage_v = msg.voltage_battery / 1000.0
        if msg.current_battery != -1:
            s.battery_current_a = msg.current_battery / 100.0
        if msg.battery_remaining != -1:
            s.battery_remaining_pct = msg.battery_remaining
        if msg.onboard_control_sensors_present & PREARM_CHECK:
            s.prearm_ok = bool(msg.onboard_control_sensors_health & PREARM_CHECK)
        return None

    def _battery_status(self, msg: Any, now: float) -> Digest | None:
        if msg.id != 0:
            return None  # only the primary battery feeds the summary
        s = self.state
        cells = [v for v in msg.voltages if v != UINT16_UNKNOWN]
        if cells:
            s.battery_voltage_v = sum(cells) / 1000.0
        if msg.current_battery != -1:
            s.battery_current_a = msg.current_battery / 100.0
        if msg.battery_remaining != -1:
            s.battery_remaining_pct = msg.battery_remaining
        return None

    def _gps_raw_int(self, msg: Any, now: float) -> Digest | None:
        s = self.state
        s.gps_fix_type = msg.fix_type
        s.gps_satellites = None if msg.satellites_visible == 255 else msg.satellites_visible
        s.gps_hdop = None if msg.eph == UINT16_UNKNOWN else msg.eph / 100.0
        return None

    def _mission_current(self, msg: Any, now: float) -> Digest | None:
        s = self.state
        s.mission_seq = msg.seq
        total = getattr(msg, "total", UINT16_UNKNOWN)
        s.mission_total = None if total == UINT16_UNKNOWN else total
        return None

    def _home_position(self, msg: Any, now: float) -> Digest | None:
        lat, lon = msg.latitude / 1e7, msg.longitude / 1e7
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            raise ValueError(f"HOME_POSITION lat/lon out of range: {lat}, {lon}")
        s = self.state
        s.home_lat, s.home_lon, s.home_alt_msl_m = lat, lon, msg.altitude / 1000.0
        return None

    def _system_time(self, msg: Any, now: float) -> Digest | None:
        t, rebooted = self._stamp(msg.time_boot_ms, now)
        if msg.time_unix_usec:
            self.state.utc_offset_s = msg.time_unix_usec / 1e6 - t
        return Digest.REBOOTED if rebooted else None

    def _wind(self, msg: Any, now: float) -> Digest | None:
        speed, direction = float(msg.speed), float(msg.direction)
        if not (math.isfinite(speed) and math.isfinite(direction)) or not 0 <= speed <= 100:
            raise ValueError(f"WIND speed {speed} / direction {direction} out of range")
        self.state.wind_mps, self.state.wind_from_deg = speed, direction % 360.0
        return None

    def _autopilot_version(self, msg: Any, now: float) -> Digest | None:
        self.state.board_id = board_id(msg) or self.state.board_id
        return None

    def _statustext(self, msg: Any, now: float) -> Digest | None:
        text = statustext(msg)
        self.state.statustexts.append(StatusText(msg.severity, text, now))
        log.info("event=statustext severity=%d text=%r", msg.severity, text)
        return None
