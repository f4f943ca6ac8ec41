"""Stream scheduling: heartbeat only by default, ArduPilot stream groups, per-message intervals."""

from __future__ import annotations

from pymavlink.dialects.v20 import ardupilotmega as M

from sim.vehicle.params import ParamStore
from sim.vehicle.streams import DISABLED, StreamScheduler

DT = 0.02


def count(s: StreamScheduler, seconds: float, t0: float = 0.0) -> dict[int, int]:
    n: dict[int, int] = {}
    t = t0
    for _ in range(round(seconds / DT)):
        t += DT
        for mid in s.due(t):
            n[mid] = n.get(mid, 0) + 1
    return n


def test_only_heartbeat_until_asked() -> None:
    n = count(StreamScheduler(ParamStore()), 10.0)
    assert n == {M.MAVLINK_MSG_ID_HEARTBEAT: 10}


def test_request_data_stream_sets_group_rates_and_sr0_params() -> None:
    p = ParamStore()
    s = StreamScheduler(p)
    s.request_data_stream(M.MAV_DATA_STREAM_POSITION, 4, True)
    s.request_data_stream(M.MAV_DATA_STREAM_EXTRA1, 10, True)
    assert p["SR0_POSITION"] == 4 and p["SR0_EXTRA1"] == 10
    n = count(s, 10.0)
    assert n[M.MAVLINK_MSG_ID_GLOBAL_POSITION_INT] == 40
    assert n[M.MAVLINK_MSG_ID_LOCAL_POSITION_NED] == 40
    assert n[M.MAVLINK_MSG_ID_ATTITUDE] == 100
    assert M.MAVLINK_MSG_ID_VFR_HUD not in n
    s.request_data_stream(M.MAV_DATA_STREAM_POSITION, 4, False)
    s.request_data_stream(M.MAV_DATA_STREAM_EXTRA1, 0, True)  # start with rate 0: ignored, as ArduPilot
    n = count(s, 5.0, 10.0)
    assert M.MAVLINK_MSG_ID_GLOBAL_POSITION_INT not in n
    assert n[M.MAVLINK_MSG_ID_ATTITUDE] == 50


def test_all_streams_and_param_driven_rates() -> None:
    p = ParamStore()
    s = StreamScheduler(p)
    s.request_data_stream(M.MAV_DATA_STREAM_ALL, 2, True)
    n = count(s, 10.0)
    for mid in (
        M.MAVLINK_MSG_ID_SYS_STATUS, M.MAVLINK_MSG_ID_GPS_RAW_INT, M.MAVLINK_MSG_ID_MISSION_CURRENT,
        M.MAVLINK_MSG_ID_GLOBAL_POSITION_INT, M.MAVLINK_MSG_ID_ATTITUDE, M.MAVLINK_MSG_ID_VFR_HUD,
        M.MAVLINK_MSG_ID_BATTERY_STATUS, M.MAVLINK_MSG_ID_SYSTEM_TIME,
    ):  # fmt: skip
        assert n[mid] == 20, mid
    p.set("SR0_EXTRA2", 5)  # PARAM_SET of a stream rate works like REQUEST_DATA_STREAM
    assert count(s, 10.0, 10.0)[M.MAVLINK_MSG_ID_VFR_HUD] == 50


def test_message_interval_overrides_disables_and_resets() -> None:
    p = ParamStore()
    s = StreamScheduler(p)
    s.request_data_stream(M.MAV_DATA_STREAM_EXTRA1, 4, True)
    assert s.set_interval(M.MAVLINK_MSG_ID_ATTITUDE, 50_000)  # 20 Hz
    assert s.set_interval(M.MAVLINK_MSG_ID_HOME_POSITION, 1_000_000)  # not in any group
    assert count(s, 5.0)[M.MAVLINK_MSG_ID_ATTITUDE] == 100
    assert s.set_interval(M.MAVLINK_MSG_ID_ATTITUDE, -1)
    assert s.interval(M.MAVLINK_MSG_ID_ATTITUDE) == DISABLED
    n = count(s, 5.0, 5.0)
    assert M.MAVLINK_MSG_ID_ATTITUDE not in n and n[M.MAVLINK_MSG_ID_HOME_POSITION] == 5
    assert s.set_interval(M.MAVLINK_MSG_ID_ATTITUDE, 0)  # back to the group's 4 Hz
    assert count(s, 5.0, 10.0)[M.MAVLINK_MSG_ID_ATTITUDE] == 20
    assert s.set_interval(M.MAVLINK_MSG_ID_HEARTBEAT, -1)
    assert M.MAVLINK_MSG_ID_HEARTBEAT not in count(s, 3.0, 15.0)
    assert not s.set_interval(M.MAVLINK_MSG_ID_ADSB_VEHICLE, 100_000)  # nothing to stream
