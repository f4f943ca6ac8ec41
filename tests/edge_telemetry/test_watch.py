"""Link-loss and stream-request state machines with injected times; stream plans; heartbeat rules."""

from __future__ import annotations

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mav

import contract.mavlink  # noqa: F401
from contract.heartbeat import NON_VEHICLE_MAV_TYPES, PERIPHERAL_COMPONENT_IDS, is_autopilot_heartbeat
from edge.telemetry.streams import data_stream_rates, interval_us, message_rates
from edge.telemetry.watch import LinkEvent, LinkWatch, StreamWatch


def test_link_up_lost_once_recovered() -> None:
    w = LinkWatch(timeout_s=3.0)
    assert w.check(0.0) is None and not w.up
    assert w.heard(1.0) is LinkEvent.UP
    assert w.heard(2.0) is None
    assert w.check(4.9) is None  # 2.9 s of silence: still up
    assert w.check(5.1) is LinkEvent.LOST
    assert w.check(9.0) is None  # reported once
    assert w.losses == 1 and not w.up
    assert w.silent_for(9.0) == pytest.approx(7.0)
    assert w.heard(9.5) is LinkEvent.RECOVERED
    assert w.up and w.losses == 1


def test_streams_requested_until_they_flow_and_again_when_they_stop() -> None:
    s = StreamWatch(check_s=3.0)
    assert s.due(0.0)
    s.requested(0.0)
    assert not s.due(2.9)
    assert s.due(3.0)  # nothing came: ask again
    s.requested(3.0)
    s.seen(3.5)
    assert not s.due(6.4)
    s.seen(6.0)
    assert not s.due(8.9)
    assert s.due(9.1)  # flowing stopped for check_s
    s.reset()
    assert s.due(9.2) and s.requests == 2


def test_stream_plans() -> None:
    rates = message_rates(10.0, 2.0)
    assert rates["GLOBAL_POSITION_INT"] == 10.0 and rates["ATTITUDE"] == 10.0 and rates["SYS_STATUS"] == 2.0
    assert interval_us(10.0) == 100_000
    with pytest.raises(ValueError, match="> 0 Hz"):
        interval_us(0)
    assert data_stream_rates(0.4, 2.0)[6] == 1  # at least 1 Hz on the legacy interface
    for name in rates:
        assert hasattr(mav, f"MAVLINK_MSG_ID_{name}")


def test_heartbeat_constants_match_pymavlink() -> None:
    assert {
        mav.MAV_TYPE_GCS,
        mav.MAV_TYPE_GIMBAL,
        mav.MAV_TYPE_CAMERA,
        mav.MAV_TYPE_ONBOARD_CONTROLLER,
        mav.MAV_TYPE_ADSB,
    } <= NON_VEHICLE_MAV_TYPES
    assert (
        mav.MAV_COMP_ID_GIMBAL in PERIPHERAL_COMPONENT_IDS
        and mav.MAV_COMP_ID_CAMERA in PERIPHERAL_COMPONENT_IDS
    )
    assert is_autopilot_heartbeat(mav.MAV_TYPE_QUADROTOR, mav.MAV_AUTOPILOT_ARDUPILOTMEGA, 1)
    assert not is_autopilot_heartbeat(mav.MAV_TYPE_QUADROTOR, mav.MAV_AUTOPILOT_INVALID, 1)
    assert not is_autopilot_heartbeat(mav.MAV_TYPE_GCS, mav.MAV_AUTOPILOT_ARDUPILOTMEGA, 1)
    assert not is_autopilot_heartbeat(mav.MAV_TYPE_QUADROTOR, mav.MAV_AUTOPILOT_ARDUPILOTMEGA, 154)
