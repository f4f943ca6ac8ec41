"""MissionItem wire conversions (pure)."""

from __future__ import annotations

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mav

from ground_station.mavlink.mission import (
    CommandResult,
    MissionItem,
    from_wire,
    home_placeholder,
    numbered,
    to_wire,
    waypoint,
    xy_scale,
)


def test_global_items_round_trip_through_mission_item_int() -> None:
    item = waypoint(3, 22.5205123, 114.0632456, 30.0, hold_s=2.0)
    enc = mav.MAVLink(None, srcSystem=1, srcComponent=1)
    msg = enc.mission_item_int_encode(1, 1, **to_wire(item), mission_type=0)
    decoded = mav.MAVLink(None).parse_buffer(msg.pack(enc))[0]
    assert from_wire(decoded) == item


def test_scaling_by_frame() -> None:
    assert xy_scale(mav.MAV_FRAME_GLOBAL_RELATIVE_ALT) == 1e7
    assert xy_scale(mav.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT) == 1e7
    assert xy_scale(mav.MAV_FRAME_MISSION) == 1
    assert xy_scale(mav.MAV_FRAME_LOCAL_NED) == 1e4
    local = MissionItem(1, mav.MAV_CMD_NAV_WAYPOINT, frame=mav.MAV_FRAME_LOCAL_NED, lat=12.5, lon=-3.25)
    assert to_wire(local)["x"] == 125_000 and to_wire(local)["y"] == -32_500


def test_home_placeholder_and_numbering() -> None:
    home = home_placeholder((1.0, 2.0, 3.0))
    assert (home.seq, home.frame, home.lat, home.alt) == (0, mav.MAV_FRAME_GLOBAL, 1.0, 3.0)
    items = numbered([waypoint(9, 0, 0, 10), waypoint(9, 0, 0, 20)])
    assert [i.seq for i in items] == [1, 2]
    with pytest.raises(ValueError, match="seq must be >= 0"):
        to_wire(waypoint(-1, 0, 0, 0))


def test_command_result() -> None:
    assert CommandResult(400, 0, "MAV_RESULT_ACCEPTED").accepted
    assert not CommandResult(400, 4, "MAV_RESULT_FAILED", "PreArm: x").accepted
