"""The mission protocol state machines, driven directly (no sockets): what ArduPilot answers."""

from __future__ import annotations

import pytest
from pymavlink.dialects.v20 import ardupilotmega as M

from sim.vehicle.mission import REQUEST_RETRY_S, UPLOAD_TIMEOUT_S, MissionItem, MissionProtocol, MissionStore

HOME = (22.5205, 114.0632, 5.0)
GCS = M.MAVLink(None, srcSystem=255, srcComponent=190)
OTHER = M.MAVLink(None, srcSystem=42, srcComponent=1)
REL = M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT


def wire(msg, enc=GCS):
    """``msg`` as a receiver sees it: packed by ``enc`` and decoded (so it has a source)."""
    return M.MAVLink(None).decode(bytearray(msg.pack(enc)))


def item(
    seq: int, cmd: int = M.MAV_CMD_NAV_WAYPOINT, frame: int = REL, lat=22.521, lon=114.064, alt=20.0, **kw
):
    p = {"param1": 0.0, "param2": 0.0, "param3": 0.0, "param4": 0.0} | kw
    return M.MAVLink_mission_item_int_message(
        1, 1, seq, frame, cmd, 0, 1, p["param1"], p["param2"], p["param3"], p["param4"],
        round(lat * 1e7), round(lon * 1e7), alt, 0,
    )  # fmt: skip


def types(out) -> list[str]:
    return [m.get_type() for m in out]


def proto(**kw) -> MissionProtocol:
    return MissionProtocol(MissionStore(HOME), **kw)


def upload(p: MissionProtocol, items: list, t: float = 0.0, enc=GCS) -> list:
    out = p.handle(wire(M.MAVLink_mission_count_message(1, 1, len(items), 0), enc), t)
    log = list(out)
    for it in items:
        out = p.handle(wire(it, enc), t)
        log += out
    return log


def test_upload_requests_with_mission_request_like_arduPilot() -> None:
    p = proto()
    items = [
        item(0),
        item(1, M.MAV_CMD_NAV_TAKEOFF, alt=10),
        item(2),
        item(3, M.MAV_CMD_NAV_RETURN_TO_LAUNCH),
    ]
    log = upload(p, items)
    assert types(log) == ["MISSION_REQUEST"] * 4 + ["MISSION_ACK"]
    assert [m.seq for m in log[:4]] == [0, 1, 2, 3]
    assert all((m.target_system, m.target_component) == (255, 190) for m in log)
    assert log[-1].type == M.MAV_MISSION_ACCEPTED
    assert p.store.count() == 4


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("request_int", ["MISSION_REQUEST_INT"] * 3),
        ("alternate", ["MISSION_REQUEST_INT", "MISSION_REQUEST", "MISSION_REQUEST_INT"]),
    ],
)
def test_request_mode_is_configurable(mode: str, expected: list[str]) -> None:
    p = proto(request_mode=mode)
    log = upload(p, [item(0), item(1), item(2)])
    assert types(log) == [*expected, "MISSION_ACK"]


def test_download_round_trip_is_identical_and_item_zero_is_home() -> None:
    p = proto()
    uploaded = [
        item(0, lat=1.0, lon=2.0, alt=3.0),  # a client's idea of home: read back as the real home
        item(1, M.MAV_CMD_NAV_TAKEOFF, alt=15),
        item(
            2,
            M.MAV_CMD_DO_CHANGE_SPEED,
            frame=M.MAV_FRAME_MISSION,
            lat=0,
            lon=0,
            alt=0,
            param1=1,
            param2=5.5,
            param3=-1,
        ),
        item(3, param1=2.0, param2=1.5, lat=22.5215, lon=114.0641, alt=25.0),
        item(4, M.MAV_CMD_NAV_LOITER_TIME, frame=M.MAV_FRAME_GLOBAL_INT, param1=10, alt=30.0),
        item(5, M.MAV_CMD_NAV_LAND, lat=0, lon=0, alt=0),
    ]
    upload(p, uploaded)
    count = p.handle(wire(M.MAVLink_mission_request_list_message(1, 1, 0)), 0.0)
    assert types(count) == ["MISSION_COUNT"] and count[0].count == 6
    got = [p.handle(wire(M.MAVLink_mission_request_int_message(1, 1, i, 0)), 0.0)[0] for i in range(6)]
    assert types(got) == ["MISSION_ITEM_INT"] * 6
    home = got[0]
    assert (home.frame, home.command, home.x, home.y, home.z) == (
        M.MAV_FRAME_GLOBAL, M.MAV_CMD_NAV_WAYPOINT, 225205000, 1140632000, 5.0,
    )  # fmt: skip
    plain = {REL: M.MAV_FRAME_GLOBAL_RELATIVE_ALT, M.MAV_FRAME_GLOBAL_INT: M.MAV_FRAME_GLOBAL}
    for sent, back in zip(uploaded[1:], got[1:], strict=True):
        assert back.seq == sent.seq
        assert back.frame == plain.get(sent.frame, sent.frame)  # stored as ArduPilot stores frames
        for f in ("command", "param1", "param2", "param3", "param4", "x", "y", "z", "autocontinue"):
            assert getattr(back, f) == getattr(sent, f), f
    # MISSION_REQUEST (deprecated) is answered with MISSION_ITEM, in degrees
    legacy = p.handle(wire(M.MAVLink_mission_request_message(1, 1, 3, 0)), 0.0)
    assert types(legacy) == ["MISSION_ITEM"]
    assert legacy[0].x == pytest.approx(22.5215) and legacy[0].y == pytest.approx(114.0641)


def test_float_items_are_accepted() -> None:
    p = proto()
    p.handle(wire(M.MAVLink_mission_count_message(1, 1, 2, 0)), 0.0)
    p.handle(wire(item(0)), 0.0)
    msg = M.MAVLink_mission_item_message(1, 1, 1, 3, 16, 0, 1, 0, 0, 0, 0, 22.5211, 114.0633, 12.0, 0)
    out = p.handle(wire(msg), 0.0)
    assert types(out) == ["MISSION_ACK"] and out[0].type == M.MAV_MISSION_ACCEPTED
    stored = p.store.get(1)
    assert stored is not None and (stored.frame, stored.command, stored.z) == (3, 16, 12.0)
    # MISSION_ITEM carries float32 degrees: ~0.2 m resolution, why it is deprecated
    assert stored.x == pytest.approx(225211000, abs=30) and stored.y == pytest.approx(1140633000, abs=80)


def test_request_is_resent_after_a_second_and_the_upload_cancelled_after_eight() -> None:
    p = proto()
    p.handle(wire(M.MAVLink_mission_count_message(1, 1, 3, 0)), 0.0)
    assert p.tick(0.5) == []
    again = p.tick(REQUEST_RETRY_S + 0.01)
    assert types(again) == ["MISSION_REQUEST"] and again[0].seq == 0
    p.handle(wire(item(0)), 2.0)
    t = 2.0
    resent = []
    while t < 2.0 + UPLOAD_TIMEOUT_S + 0.5:
        t += 0.1
        resent += p.tick(t)
    assert types(resent)[-1] == "MISSION_ACK" and resent[-1].type == M.MAV_MISSION_OPERATION_CANCELLED
    assert all(m.seq == 1 for m in resent[:-1]) and len(resent) >= 6
    assert not p.receiving and p.store.count() == 1  # nothing stored


def test_out_of_sequence_duplicate_and_foreign_items() -> None:
    p = proto()
    p.handle(wire(M.MAVLink_mission_count_message(1, 1, 3, 0)), 0.0)
    p.handle(wire(item(0)), 0.0)
    bad = p.handle(wire(item(2)), 0.0)
    assert bad[0].type == M.MAV_MISSION_INVALID_SEQUENCE and p.receiving
    dup = p.handle(wire(item(0)), 0.0)
    assert dup[0].type == M.MAV_MISSION_INVALID_SEQUENCE
    other = p.handle(wire(M.MAVLink_mission_count_message(1, 1, 2, 0), OTHER), 0.0)
    assert other[0].type == M.MAV_MISSION_DENIED and other[0].target_system == 42
    denied_dl = p.handle(wire(M.MAVLink_mission_request_list_message(1, 1, 0), OTHER), 0.0)
    assert denied_dl[0].type == M.MAV_MISSION_DENIED
    log = p.handle(wire(item(1)), 0.0) + p.handle(wire(item(2)), 0.0)
    assert log[-1].get_type() == "MISSION_ACK" and log[-1].type == M.MAV_MISSION_ACCEPTED
    late = p.handle(wire(item(2)), 0.0)  # the client missed our ACK and re-sends its last item
    assert late[0].type == M.MAV_MISSION_ERROR


def test_same_sender_may_restart_an_upload() -> None:
    p = proto()
    p.handle(wire(M.MAVLink_mission_count_message(1, 1, 5, 0)), 0.0)
    p.handle(wire(item(0)), 0.0)
    log = upload(p, [item(0), item(1)])
    assert log[-1].type == M.MAV_MISSION_ACCEPTED and p.store.count() == 2


def test_unsupported_commands_and_frames_abort_the_upload() -> None:
    p = proto()
    log = upload(p, [item(0), item(1, cmd=31337)])
    assert log[-1].type == M.MAV_MISSION_UNSUPPORTED and not p.receiving
    log = upload(p, [item(0), item(1, frame=M.MAV_FRAME_LOCAL_NED)])
    assert log[-1].type == M.MAV_MISSION_UNSUPPORTED_FRAME
    log = upload(p, [item(0), item(1, lat=95.0)])
    assert log[-1].type == M.MAV_MISSION_INVALID_PARAM5_X
    assert p.store.count() == 1


def test_bad_download_requests_and_empty_mission() -> None:
    p = proto()
    count = p.handle(wire(M.MAVLink_mission_request_list_message(1, 1, 0)), 0.0)
    assert count[0].count == 1  # home only
    bad = p.handle(wire(M.MAVLink_mission_request_int_message(1, 1, 7, 0)), 0.0)
    assert types(bad) == ["MISSION_ACK"] and bad[0].type == M.MAV_MISSION_INVALID_SEQUENCE


def test_clear_all_count_zero_and_refusal_while_flying_the_mission() -> None:
    running = [False]
    changes: list[int] = []
    p = proto(can_clear=lambda: not running[0], on_change=changes.append)
    upload(p, [item(0), item(1), item(2)])
    running[0] = True
    refused = p.handle(wire(M.MAVLink_mission_clear_all_message(1, 1, 0)), 0.0)
    assert refused[0].type == M.MAV_MISSION_ERROR and p.store.count() == 3
    running[0] = False
    ok = p.handle(wire(M.MAVLink_mission_clear_all_message(1, 1, 0)), 0.0)
    assert ok[0].type == M.MAV_MISSION_ACCEPTED and p.store.count() == 1
    upload(p, [item(0), item(1)])
    zero = p.handle(wire(M.MAVLink_mission_count_message(1, 1, 0, 0)), 0.0)
    assert zero[0].type == M.MAV_MISSION_ACCEPTED and p.store.count() == 1
    assert changes == [0, 0, 0, 0]


def test_fence_and_rally_lists_are_separate() -> None:
    p = proto()
    fence = M.MAVLink_mission_item_int_message(
        1,
        1,
        0,
        M.MAV_FRAME_GLOBAL,
        M.MAV_CMD_NAV_FENCE_CIRCLE_INCLUSION,
        0,
        1,
        100,
        0,
        0,
        0,
        225205000,
        1140632000,
        0,
        1,
    )
    p.handle(wire(M.MAVLink_mission_count_message(1, 1, 1, 1)), 0.0)
    assert p.handle(wire(fence), 0.0)[0].type == M.MAV_MISSION_ACCEPTED
    assert p.store.count(1) == 1 and p.store.count(0) == 1 and p.store.count(2) == 0
    rally = p.handle(wire(M.MAVLink_mission_request_list_message(1, 1, 2)), 0.0)
    assert rally[0].count == 0 and rally[0].mission_type == 2


def test_guided_fly_to_item_outside_an_upload() -> None:
    got: list[MissionItem] = []
    p = proto(on_guided_item=lambda it: got.append(it) or True)
    msg = item(0)
    msg.current = 2
    out = p.handle(wire(msg), 0.0)
    assert out[0].type == M.MAV_MISSION_ACCEPTED and len(got) == 1
