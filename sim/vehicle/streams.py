"""Which telemetry message is due when, in simulated time: ArduPilot's stream groups and overrides.

ArduPilot sends nothing but HEARTBEAT until asked. A GCS asks in two ways, both honoured here:

* ``REQUEST_DATA_STREAM`` sets the rate (Hz) of a stream *group*; ArduPilot stores that rate in
  the ``SR0_*`` parameter of the group, so ``PARAM_SET SR0_EXTRA1 4`` does the same thing;
* ``MAV_CMD_SET_MESSAGE_INTERVAL`` sets one message's interval (µs); ``-1`` stops it and ``0``
  returns it to its default (its group's rate, or 1 Hz for HEARTBEAT).

Rates are in simulated time: at ``--speedup 20`` a 4 Hz stream arrives 80 times a wall second.
A message is sent at most once per physics step, so the fastest stream is the physics rate.
"""

from __future__ import annotations

from pymavlink.dialects.v20 import ardupilotmega as mavlink2

from sim.vehicle.params import ParamStore

M = mavlink2

#: MAV_DATA_STREAM id -> (SR0_ suffix, message ids), as ArduCopter's ``STREAM_*_msgs``
#: (restricted to the messages this simulator produces).
STREAM_GROUPS: dict[int, tuple[str, tuple[int, ...]]] = {
    M.MAV_DATA_STREAM_RAW_SENSORS: ("RAW_SENS", (M.MAVLINK_MSG_ID_RAW_IMU, M.MAVLINK_MSG_ID_SCALED_PRESSURE)),
    M.MAV_DATA_STREAM_EXTENDED_STATUS: (
        "EXT_STAT",
        (
            M.MAVLINK_MSG_ID_SYS_STATUS,
            M.MAVLINK_MSG_ID_POWER_STATUS,
            M.MAVLINK_MSG_ID_MISSION_CURRENT,
            M.MAVLINK_MSG_ID_GPS_RAW_INT,
            M.MAVLINK_MSG_ID_NAV_CONTROLLER_OUTPUT,
            M.MAVLINK_MSG_ID_EXTENDED_SYS_STATE,
        ),
    ),
    M.MAV_DATA_STREAM_RC_CHANNELS: (
        "RC_CHAN",
        (M.MAVLINK_MSG_ID_SERVO_OUTPUT_RAW, M.MAVLINK_MSG_ID_RC_CHANNELS),
    ),
    M.MAV_DATA_STREAM_RAW_CONTROLLER: ("RAW_CTRL", ()),
    M.MAV_DATA_STREAM_POSITION: (
        "POSITION",
        (M.MAVLINK_MSG_ID_GLOBAL_POSITION_INT, M.MAVLINK_MSG_ID_LOCAL_POSITION_NED),
    ),
    M.MAV_DATA_STREAM_EXTRA1: ("EXTRA1", (M.MAVLINK_MSG_ID_ATTITUDE,)),
    M.MAV_DATA_STREAM_EXTRA2: ("EXTRA2", (M.MAVLINK_MSG_ID_VFR_HUD,)),
    M.MAV_DATA_STREAM_EXTRA3: (
        "EXTRA3",
        (
            M.MAVLINK_MSG_ID_SYSTEM_TIME,
            M.MAVLINK_MSG_ID_BATTERY_STATUS,
            M.MAVLINK_MSG_ID_EKF_STATUS_REPORT,
            M.MAVLINK_MSG_ID_WIND,
            M.MAVLINK_MSG_ID_VIBRATION,
        ),
    ),
}

#: Messages that are not in any group but may be given an interval or requested once.
EXTRA_MESSAGES: tuple[int, ...] = (
    M.MAVLINK_MSG_ID_HEARTBEAT,
    M.MAVLINK_MSG_ID_HOME_POSITION,
    M.MAVLINK_MSG_ID_GPS_GLOBAL_ORIGIN,
    M.MAVLINK_MSG_ID_AUTOPILOT_VERSION,
)

GROUP_OF: dict[int, str] = {mid: suffix for suffix, mids in STREAM_GROUPS.values() for mid in mids}
STREAMABLE: frozenset[int] = frozenset(GROUP_OF) | frozenset(EXTRA_MESSAGES)
DEFAULT_INTERVAL_S: dict[int, float] = {M.MAVLINK_MSG_ID_HEARTBEAT: 1.0}

DISABLED = -1.0


class StreamScheduler:
    """Per-message intervals and next-due times; ``due(t)`` lists what to send at ``t``."""

    def __init__(self, params: ParamStore) -> None:
        self.params = params
        self._override: dict[int, float] = {}  # msg id -> interval s, or DISABLED
        self._next: dict[int, float] = {}
        self._active: dict[int, float] = {}
        self._dirty = True
        params.on_change(self._param_changed)

    def _param_changed(self, name: str, _value: float) -> None:
        if name.startswith("SR0_"):
            self._dirty = True

    # --- configuration ------------------------------------------------------------------------

    def request_data_stream(self, stream_id: int, rate_hz: int, start: bool) -> None:
        """``REQUEST_DATA_STREAM``, as ArduPilot: stop means rate 0, start with rate 0 is ignored."""
        if not start:
            rate = 0
        elif rate_hz > 0:
            rate = rate_hz
        else:
            return
        if stream_id == M.MAV_DATA_STREAM_ALL:
            targets = [suffix for suffix, _ in STREAM_GROUPS.values()]
        elif stream_id in STREAM_GROUPS:
            targets = [STREAM_GROUPS[stream_id][0]]
        else:
            return
        for suffix in targets:
            self.params.set(f"SR0_{suffix}", rate)
        self._dirty = True

    def set_interval(self, msg_id: int, interval_us: float) -> bool:
        """``SET_MESSAGE_INTERVAL``; ``False`` for a message this vehicle cannot stream."""
        if msg_id not in STREAMABLE:
            return False
        if interval_us < 0:
            self._override[msg_id] = DISABLED
        elif interval_us == 0:
            self._override.pop(msg_id, None)
        else:
            self._override[msg_id] = interval_us / 1e6
        self._dirty = True
        return True

    def interval(self, msg_id: int) -> float:
        """Current interval in seconds; ``DISABLED`` (-1) when not streamed."""
        if msg_id in self._override:
            return self._override[msg_id]
        suffix = GROUP_OF.get(msg_id)
        if suffix is not None:
            rate = self.params.get(f"SR0_{suffix}")
            return 1.0 / rate if rate > 0 else DISABLED
        return DEFAULT_INTERVAL_S.get(msg_id, DISABLED)

    def _rebuild(self, t: float) -> None:
        ids = STREAMABLE
        new = {mid: iv for mid in ids if (iv := self.interval(mid)) > 0}
        for mid, iv in new.items():
            if self._active.get(mid) != iv:
                self._next[mid] = t  # (re)started: send now, then every interval
        for mid in list(self._next):
            if mid not in new:
                del self._next[mid]
        self._active = new
        self._dirty = False

    # --- scheduling ---------------------------------------------------------------------------

    def due(self, t: float) -> list[int]:
        """Message ids due at simulated time ``t``; advances their next-due times."""
        if self._dirty:
            self._rebuild(t)
        out: list[int] = []
        nxt = self._next
        for mid, iv in self._active.items():
            when = nxt[mid]
            if t + 1e-9 >= when:
                out.append(mid)
                when += iv
                nxt[mid] = when if when > t else t + iv
        return out

    @property
    def active(self) -> dict[int, float]:
        """Message id -> interval (s) of everything being streamed."""
        return {mid: iv for mid in STREAMABLE if (iv := self.interval(mid)) > 0}
