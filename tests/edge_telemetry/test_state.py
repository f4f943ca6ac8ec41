"""StateTracker from real encoded-then-decoded MAVLink bytes, with chosen receive times."""

from __future__ import annotations

import math

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mav

import contract.mavlink  # noqa: F401
from edge.telemetry.pose import PoseUnavailable
from edge.telemetry.state import Digest, StateTracker, StatusText, latest_warning

AP = mav.MAVLink(None, srcSystem=1, srcComponent=1)
GCS = mav.MAVLink(None, srcSystem=255, srcComponent=190)
GIMBAL = mav.MAVLink(None, srcSystem=1, srcComponent=154)


def decode(data: bytes) -> list[mav.MAVLink_message]:
    parser = mav.MAVLink(None)
    parser.robust_parsing = True
    return parser.parse_buffer(data) or []


def wire(enc: mav.MAVLink, *msgs: mav.MAVLink_message) -> bytes:
    return b"".join(m.pack(enc) for m in msgs)


def heartbeat(
    enc: mav.MAVLink, mav_type: int = mav.MAV_TYPE_QUADROTOR, autopilot: int = 3, **kw: int
) -> bytes:
    msg = enc.heartbeat_encode(
        mav_type, autopilot, kw.get("base", 0), kw.get("mode", 0), mav.MAV_STATE_STANDBY
    )
    return msg.pack(enc)


def feed(tracker: StateTracker, data: bytes, now: float = 0.0) -> list[Digest]:
    return [tracker.digest(m, now) for m in decode(data)]


def gpi(ms: int, lat: float = 22.5205, lon: float = 114.0632, rel: float = 30.0) -> mav.MAVLink_message:
    return AP.global_position_int_encode(
        ms,
        round(lat * 1e7),
        round(lon * 1e7),
        round((rel + 5) * 1000),
        round(rel * 1000),
        300,
        400,
        -120,
        9050,
    )


def test_locks_onto_the_autopilot_not_the_gcs_or_gimbal() -> None:
    t = StateTracker()
    results = feed(
        t,
        heartbeat(GCS, mav.MAV_TYPE_GCS, mav.MAV_AUTOPILOT_INVALID)
        + heartbeat(GIMBAL, mav.MAV_TYPE_GIMBAL, mav.MAV_AUTOPILOT_GENERIC)
        + heartbeat(AP, base=mav.MAV_MODE_FLAG_SAFETY_ARMED, mode=4)
        + wire(GIMBAL, GIMBAL.attitude_encode(100, 1.0, 1.0, 1.0, 0, 0, 0)),
    )
    assert results == [Digest.IGNORED, Digest.IGNORED, Digest.LOCKED, Digest.IGNORED]
    assert t.target == (1, 1)
    assert t.state.mode == "GUIDED" and t.state.armed
    assert t.state.counters.foreign == 3
    assert t.state.roll_deg is None  # the gimbal's attitude is not the vehicle's


def test_full_state_from_a_realistic_burst() -> None:
    t = StateTracker()
    feed(t, heartbeat(AP, mode=3))
    data = wire(
        AP,
        gpi(12_345),
        AP.attitude_encode(12_350, math.radians(5), math.radians(-3), math.radians(-170), 0, 0, 0),
        AP.vfr_hud_encode(9.5, 5.0, 90, 42, 35.0, 1.2),
        AP.sys_status_encode(0, 0, 0, 500, 15_800, 1230, 87, 0, 0, 0, 0, 0, 0),
        AP.battery_status_encode(0, 0, 0, 2500, [15_900] + [65535] * 9, 1250, -1, -1, 86),
        AP.gps_raw_int_encode(0, 3, 0, 0, 0, 80, 120, 1000, 9000, 14),
        AP.mission_current_encode(3, 7),
        AP.home_position_encode(225_205_000, 1_140_632_000, 5000, 0, 0, 0, [1, 0, 0, 0], 0, 0, 0),
        AP.system_time_encode(1_700_000_000_000_000, 12_000),
        AP.statustext_encode(mav.MAV_SEVERITY_CRITICAL, b"PreArm: Need Position Estimate"),
    )
    assert Digest.STREAM in feed(t, data, now=50.0)
    s = t.state
    assert (s.lat, s.lon) == (pytest.approx(22.5205), pytest.approx(114.0632))
    assert (s.alt_rel_m, s.alt_msl_m) == (pytest.approx(30.0), pytest.approx(35.0))
    assert (s.roll_deg, s.pitch_deg, s.yaw_deg) == (pytest.approx(5), pytest.approx(-3), pytest.approx(-170))
    assert (
        s.groundspeed_mps == pytest.approx(5.0) and s.heading_deg == 90 and s.climb_mps == pytest.approx(1.2)
    )
    assert s.battery_voltage_v == pytest.approx(15.9) and s.battery_remaining_pct == 86
    assert s.battery_current_a == pytest.approx(12.5)
    assert (s.gps_fix_type, s.gps_satellites, s.gps_hdop) == (3, 14, pytest.approx(0.8))
    assert (s.mission_seq, s.mission_total) == (3, 7)
    assert (s.home_lat, s.home_lon, s.home_alt_msl_m) == (
        pytest.approx(22.5205),
        pytest.approx(114.0632),
        5.0,
    )
    assert s.time_boot_s == pytest.approx(12.35)
    assert s.utc_at(12.0) == pytest.approx(1_700_000_000.0)
    assert s.statustexts[-1].text == "PreArm: Need Position Estimate"
    assert s.last_heard == 50.0
    assert t.poses.pose_at(12.345).lat == pytest.approx(22.5205)


def test_reboot_when_vehicle_time_goes_backwards_clears_poses() -> None:
    t = StateTracker(reboot_tolerance_s=1.0)
    feed(t, heartbeat(AP))
    feed(t, wire(AP, gpi(60_000), gpi(60_100)))
    assert feed(t, wire(AP, gpi(59_500))) == [Digest.STREAM]  # reordering within tolerance
    assert feed(t, wire(AP, gpi(2_000))) == [Digest.REBOOTED]
    assert t.state.counters.reboots == 1
    assert t.state.time_boot_s == pytest.approx(2.0)
    with pytest.raises(PoseUnavailable):
        t.poses.pose_at(60.05)
    assert t.poses.span() == (2.0, 2.0)


def test_garbage_crc_errors_unknown_and_malformed_are_counted_not_fatal() -> None:
    t = StateTracker()
    good = heartbeat(AP)
    corrupt = bytearray(wire(AP, gpi(1000)))
    corrupt[15] ^= 0xFF  # payload byte: CRC no longer matches
    unknown = bytearray(wire(AP, AP.heartbeat_encode(2, 3, 0, 0, 0)))
    unknown[7:10] = (10_000).to_bytes(3, "little")  # id 10000 is in no dialect: UNKNOWN_10000
    bad_pos = wire(AP, gpi(2000, lat=95.0))
    data = b"\x00\x11garbage\x22" + good + bytes(corrupt) + bytes(unknown) + bad_pos + good
    results = feed(t, data)
    c = t.state.counters
    assert c.bad_data >= 2 and c.crc_errors >= 1
    assert c.bad_bytes >= 10
    assert c.unknown == 1
    assert c.malformed == 1 and t.state.lat is None
    assert results.count(Digest.LOCKED) == 1 and results[-1] == Digest.ACCEPTED


def test_zero_position_before_gps_is_not_a_position() -> None:
    t = StateTracker()
    feed(t, heartbeat(AP))
    feed(t, wire(AP, gpi(1000, lat=0.0, lon=0.0)))
    assert t.state.lat is None and len(t.poses) == 0


def test_message_rate_and_vehicle_time_mapping() -> None:
    t = StateTracker(rate_window_s=1.0)
    feed(t, heartbeat(AP))
    for i in range(1, 41):
        feed(t, wire(AP, gpi(1000 + i * 50)), now=100.0 + i * 0.05)
    assert t.state.message_rate_hz == pytest.approx(20.0, rel=0.1)
    assert t.vehicle_time_at(102.5) == pytest.approx(3.0 + 0.5)


def test_the_latest_recent_warning_rides_along_and_information_does_not() -> None:
    texts = [
        StatusText(6, "Mission: 3 WP", 100.0),  # information: never shown
        StatusText(2, "Fence Breached: Polygon", 110.0),
        StatusText(4, "SmartRTL Unavailable, Trying RTL Mode", 111.0),
        StatusText(6, "Reached command #4", 112.0),
    ]
    assert latest_warning(texts, 120.0, 60.0) == "SmartRTL Unavailable, Trying RTL Mode"
    assert latest_warning(texts[:2], 120.0, 60.0) == "Fence Breached: Polygon"
    assert latest_warning(texts, 172.0, 60.0) is None  # a minute on: gone from the fleet view
    assert latest_warning([StatusText(4, "x" * 300, 1.0)], 1.0, 60.0) == "x" * 200  # the wire's cap


def test_the_autopilots_wind_and_board_are_kept_and_a_garbled_wind_is_counted() -> None:
    t = StateTracker()
    feed(t, heartbeat(AP) + wire(AP, AP.wind_encode(-135.0, 7.5, 0.0)))  # ArduPilot's -180..180
    assert (t.state.wind_mps, t.state.wind_from_deg) == (7.5, 225.0)
    feed(t, wire(AP, AP.wind_encode(float("nan"), 9.0, 0.0)) + wire(AP, AP.wind_encode(10.0, 250.0, 0.0)))
    assert t.state.counters.malformed == 2 and t.state.wind_mps == 7.5  # the last good one stands
    version = AP.autopilot_version_encode(0, 0, 0, 0, 0, [0] * 8, [0] * 8, [0] * 8, 0, 0, 0xAB, [0] * 18)
    feed(t, wire(AP, version))
    assert t.state.board_id == "00000000000000ab"
    feed(
        t, wire(AP, AP.autopilot_version_encode(0, 0, 0, 0, 0, [0] * 8, [0] * 8, [0] * 8, 0, 0, 0, [0] * 18))
    )
    assert t.state.board_id == "00000000000000ab"  # a version without an id does not unsay it
