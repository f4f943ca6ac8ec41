"""TelemetryLink against a fake ArduPilot over real loopback TCP and UDP sockets."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from prometheus_client import generate_latest
from pymavlink.dialects.v20 import ardupilotmega as mav

import contract.mavlink  # noqa: F401
from edge.settings import EdgeSettings
from edge.telemetry.link import TelemetryLink
from edge.telemetry.metrics import registry_for
from edge.telemetry.view import render_state, state_to_dict


def eventually(pred: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"{what} not reached within {timeout}s")


def settings(url: str, **kw: Any) -> EdgeSettings:
    base = dict(link_timeout=0.6, stream_check_s=0.5, reconnect_delay=0.1, stream_rate_hz=20.0)
    return EdgeSettings(mavlink=url, **{**base, **kw})


@pytest.fixture
def links() -> Iterator[list[TelemetryLink]]:
    started: list[TelemetryLink] = []
    yield started
    for link in started:
        link.stop()


def start(links: list[TelemetryLink], s: EdgeSettings) -> TelemetryLink:
    link = TelemetryLink(s).start()
    links.append(link)
    return link


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_locks_onto_autopilot_requests_streams_and_follows_state(make_peer, links, transport: str) -> None:
    peer = make_peer(transport=transport)
    link = start(links, settings(peer.url))
    assert link.wait_for_vehicle(5.0)
    eventually(lambda: link.snapshot().home_lat is not None, what="home position")
    first = eventually(lambda: link.snapshot().position_time_boot_s, what="first position")
    s = eventually(
        lambda: (st := link.snapshot()).position_time_boot_s > first + 0.3 and st, what="positions"
    )
    assert (s.system_id, s.component_id) == (1, 1)  # not the GCS (255) nor the gimbal (154)
    assert s.counters.foreign >= 2
    # the peer saw both kinds of stream request and our companion heartbeat
    assert peer.log.message_intervals[mav.MAVLINK_MSG_ID_GLOBAL_POSITION_INT] == 50_000
    assert peer.log.message_intervals[mav.MAVLINK_MSG_ID_ATTITUDE] == 50_000
    assert peer.log.data_streams[6] == 20
    eventually(lambda: peer.received("HEARTBEAT") >= 1, timeout=2.5, what="our heartbeat at the peer")
    # state follows the peer's ground truth
    lat, lon, alt_rel, _ = peer.pose_at(s.position_time_boot_s)
    assert s.lat == pytest.approx(lat) and s.alt_rel_m == pytest.approx(alt_rel)
    assert s.lon == pytest.approx(lon, abs=1e-7)
    assert s.mode == "STABILIZE" and not s.armed and s.gps_fix_type == 3 and s.utc_offset_s is not None
    # pose lookup at a time between samples matches the truth, yaw wrap included
    t = s.position_time_boot_s - 0.013
    pose = link.pose_at(t)
    _, true_lon, _, true_yaw = peer.pose_at(t)
    assert pose.lon == pytest.approx(true_lon, abs=2e-7)
    assert abs((pose.yaw_deg - true_yaw + 180) % 360 - 180) < 0.5
    assert link.health()["ok"]
    assert "riverpatrol_edge_mavlink_link_up 1.0" in generate_latest(registry_for(link)).decode()
    assert state_to_dict(link.snapshot())["last_heard_s"] < 1.0
    assert render_state(link.snapshot(), peer.url).row_count > 10


def test_link_loss_recovery_and_reboot(make_peer, links) -> None:
    peer = make_peer(transport="tcp")
    link = start(links, settings(peer.url))
    eventually(lambda: link.snapshot().lat is not None, what="first position")
    requests = link.snapshot().stream_requests
    peer.silent = True
    eventually(lambda: not link.snapshot().link_up, timeout=3.0, what="link lost")
    assert link.snapshot().link_losses == 1
    assert link.health()["status"] == "link_lost"
    peer.silent = False
    eventually(lambda: link.snapshot().link_up, timeout=3.0, what="link recovered")
    eventually(lambda: link.snapshot().stream_requests > requests, timeout=3.0, what="streams re-requested")
    # reboot: the vehicle clock restarts and it stops streaming until asked again
    before = link.snapshot().time_boot_s
    peer.reboot()
    eventually(lambda: link.snapshot().counters.reboots == 1, timeout=4.0, what="reboot seen")
    after = eventually(lambda: (st := link.snapshot()).time_boot_s < before and st.lat is not None and st)
    assert after.link_losses == 1
    eventually(lambda: link.health()["ok"], timeout=3.0, what="healthy after reboot")


def test_reconnects_when_the_tcp_peer_hangs_up(make_peer, links) -> None:
    peer = make_peer(transport="tcp")
    link = start(links, settings(peer.url))
    eventually(lambda: link.snapshot().lat is not None, what="first position")
    peer.disconnect()
    eventually(lambda: link.connects >= 2, timeout=3.0, what="reconnect")
    seen = link.snapshot().counters.accepted
    eventually(lambda: link.snapshot().counters.accepted > seen + 20, what="messages after reconnect")


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_garbage_bytes_are_counted_and_do_not_wedge_the_link(make_peer, links, transport: str) -> None:
    peer = make_peer(transport=transport)
    link = start(links, settings(peer.url))
    eventually(lambda: link.snapshot().lat is not None, what="first position")
    rng = random.Random(7)
    enc = mav.MAVLink(None, srcSystem=1, srcComponent=1)
    for i in range(30):
        junk = bytes(b for b in rng.randbytes(rng.randrange(1, 80)) if b not in (0xFD, 0xFE))  # no magic
        if i % 3 == 0:  # a real frame with a broken CRC
            frame = bytearray(enc.attitude_encode(1, 9.0, 9.0, 9.0, 0, 0, 0).pack(enc))
            frame[12] ^= 0x5A
            junk += bytes(frame)
        if i in (10, 20):  # a stray MAVLink 2 magic claiming a long frame: swallows what follows
            junk += b"\xfd\xff"
        peer.inject(junk)
        time.sleep(0.02)
    c = eventually(
        lambda: (st := link.snapshot()).counters.crc_errors >= 5 and st.counters, what="crc errors"
    )
    assert c.bad_data >= 10 and c.bad_bytes > 100
    t0 = link.snapshot().time_boot_s
    eventually(lambda: link.snapshot().time_boot_s > t0 + 0.3, what="state still following after garbage")
    assert link.snapshot().roll_deg < 10  # the corrupt ATTITUDE (9 rad roll) was never digested
    eventually(lambda: link.health()["ok"], timeout=3.0, what="healthy after garbage")
