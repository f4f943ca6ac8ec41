"""Which messages we ask the autopilot for, and how often.

ArduPilot sends only HEARTBEAT to a new GCS until streams are requested. We ask per message
with MAV_CMD_SET_MESSAGE_INTERVAL (precise, MAVLink 2) and also with the legacy
REQUEST_DATA_STREAM groups, which older firmware and some simulators only understand.
"""

from __future__ import annotations

#: MAV_DATA_STREAM ids (common.xml) and what ArduPilot puts in each group.
DATA_STREAM_EXTENDED_STATUS = 2  # SYS_STATUS, GPS_RAW_INT, MISSION_CURRENT
DATA_STREAM_POSITION = 6  # GLOBAL_POSITION_INT
DATA_STREAM_EXTRA1 = 10  # ATTITUDE
DATA_STREAM_EXTRA2 = 11  # VFR_HUD
DATA_STREAM_EXTRA3 = 12  # BATTERY_STATUS, SYSTEM_TIME, WIND

#: Messages whose arrival proves the streams are flowing.
POSE_MESSAGES = frozenset({"GLOBAL_POSITION_INT", "ATTITUDE"})


def message_rates(pose_hz: float, status_hz: float) -> dict[str, float]:
    """Message name -> requested rate in Hz."""
    return {
        "GLOBAL_POSITION_INT": pose_hz,
        "ATTITUDE": pose_hz,
        "VFR_HUD": status_hz,
        "SYS_STATUS": status_hz,
        "GPS_RAW_INT": status_hz,
        "BATTERY_STATUS": status_hz,
        "MISSION_CURRENT": status_hz,
        "SYSTEM_TIME": 1.0,
        "HOME_POSITION": 0.5,
        "WIND": 1.0,
    }


def interval_us(hz: float) -> int:
    """SET_MESSAGE_INTERVAL's param2: microseconds between messages."""
    if hz <= 0:
        raise ValueError(f"stream rate must be > 0 Hz, got {hz}")
    return round(1e6 / hz)


def data_stream_rates(pose_hz: float, status_hz: float) -> dict[int, int]:
    """MAV_DATA_STREAM id -> rate for REQUEST_DATA_STREAM (whole Hz, at least 1)."""
    pose, status = max(1, round(pose_hz)), max(1, round(status_hz))
    return {
        DATA_STREAM_EXTENDED_STATUS: status,
        DATA_STREAM_POSITION: pose,
        DATA_STREAM_EXTRA1: pose,
        DATA_STREAM_EXTRA2: status,
        DATA_STREAM_EXTRA3: status,
    }
