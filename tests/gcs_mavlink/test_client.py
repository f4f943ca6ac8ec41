"""VehicleClient against a fake ArduPilot over real loopback TCP/UDP with real pymavlink."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mav

import contract.mavlink  # noqa: F401
from ground_station.mavlink import (
    CommandRejected,
    LinkClosed,
    MavlinkTimeout,
    MissionItem,
    NoHeartbeat,
    VehicleClient,
    waypoint,
)

ITEMS = [
    MissionItem(1, mav.MAV_CMD_NAV_TAKEOFF, alt=20.0),
    waypoint(2, 22.5210001, 114.0640002, 25.0, hold_s=1.0),
    waypoint(3, 22.5220003, 114.0650004, 30.0),
    MissionItem(4, mav.MAV_CMD_NAV_RETURN_TO_LAUNCH, frame=mav.MAV_FRAME_MISSION),
]


@pytest.fixture
def clients() -> Iterator[list[VehicleClient]]:
    opened: list[VehicleClient] = []
    yield opened
    for c in opened:
        c.close()


def connect(clients: list[VehicleClient], url: str, **kw: float) -> VehicleClient:
    client = VehicleClient.connect(url, heartbeat_timeout=5.0, **{"timeout": 0.5, **kw})
    clients.append(client)
    return client


def test_no_heartbeat_is_a_clear_error() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        url = f"tcp:127.0.0.1:{server.getsockname()[1]}"
        with pytest.raises(NoHeartbeat, match="no autopilot heartbeat"):
            VehicleClient.connect(url, heartbeat_timeout=0.5)


def test_upload_download_round_trip_with_a_mission_request_vehicle(make_peer, clients) -> None:
    peer = make_peer(transport="tcp", request_int=False, answer_int=False)
    client = connect(clients, peer.url)
    assert client.target == (1, 1)  # the GCS and gimbal heartbeats came first
    progress: list[tuple[int, int]] = []
    client.upload_mission(ITEMS, progress=lambda done, total: progress.append((done, total)))
    assert progress == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]
    assert [i.command for i in peer.mission] == [mav.MAV_CMD_NAV_WAYPOINT] + [i.command for i in ITEMS]
    assert peer.received("MISSION_REQUEST") == 0 and peer.received("MISSION_ITEM_INT") == 5
    got = client.download_mission()
    # the vehicle answered MISSION_REQUEST_INT with a float MISSION_ITEM: the client switched
    assert peer.received("MISSION_REQUEST_INT") == 1 and peer.received("MISSION_REQUEST") == 4
    assert len(got) == len(ITEMS)
    for sent, back in zip(ITEMS, got, strict=True):
        assert (back.seq, back.command, back.frame, back.param1) == (
            sent.seq,
            sent.command,
            sent.frame,
            sent.param1,
        )
        assert back.lat == pytest.approx(sent.lat, abs=1e-5) and back.lon == pytest.approx(sent.lon, abs=1e-5)
        assert back.alt == pytest.approx(sent.alt)
    assert client.download_mission(include_home=True)[0].seq == 0
    assert mav.MAV_MISSION_ACCEPTED in peer.log.mission_acks


def test_exact_round_trip_over_udp_with_int_items_and_lost_messages(make_peer, clients) -> None:
    peer = make_peer(
        transport="udp", request_int=True, answer_int=True, drop_once=("MISSION_COUNT", "MISSION_ITEM_INT")
    )
    client = connect(clients, peer.url, timeout=0.3)
    client.upload_mission(ITEMS)  # the first MISSION_COUNT and first item are lost and re-sent
    assert peer.received("MISSION_COUNT") == 2
    assert client.download_mission() == ITEMS
    client.clear_mission()
    assert peer.mission == [] and client.download_mission(include_home=True) == []


def test_arm_refusal_surfaces_result_and_prearm_reason(make_peer, clients) -> None:
    peer = make_peer(transport="tcp", armable_after_s=60.0)
    client = connect(clients, peer.url)
    result = client.arm()
    assert not result.accepted
    assert result.result == mav.MAV_RESULT_FAILED and result.result_name == "MAV_RESULT_FAILED"
    assert result.reason == "PreArm: Need Position Estimate"
    with pytest.raises(MavlinkTimeout, match="PreArm: Need Position Estimate"):
        client.wait_armable(0.5)
    assert not client.armed


def test_fly_a_mission(make_peer, clients) -> None:
    peer = make_peer(transport="tcp", armable_after_s=0.6)
    client = connect(clients, peer.url)
    client.wait_armable(5.0)
    assert client.arm().accepted
    deadline = time.monotonic() + 3
    while not client.armed and time.monotonic() < deadline:
        time.sleep(0.02)
    assert client.armed
    with pytest.raises(CommandRejected, match=r"takeoff to 10\.0 m refused with MAV_RESULT_FAILED"):
        client.takeoff(10.0)  # not in GUIDED yet
    client.set_mode("guided")
    assert client.mode == "GUIDED"
    client.takeoff(10.0)
    client.upload_mission(ITEMS)
    client.start_mission()
    assert client.mode == "AUTO" or peer.custom_mode == 3
    client.set_current(2)
    assert peer.mission_current == 2
    client.rtl()
    assert client.mode == "RTL"
    client.land()
    assert client.mode == "LAND"
    with pytest.raises(ValueError, match="unknown Copter mode"):
        client.set_mode("HOVER")
    assert client.disarm().accepted


def test_calls_fail_clearly_when_the_vehicle_hangs_up(make_peer, clients) -> None:
    peer = make_peer(transport="tcp")
    client = connect(clients, peer.url)
    peer.disconnect()
    with pytest.raises(LinkClosed, match="connection to the vehicle lost"):
        for _ in range(50):  # the reader notices the hang-up within one read
            client.arm()
            time.sleep(0.05)
