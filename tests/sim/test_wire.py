"""The simulator over real sockets with a plain pymavlink client, as MAVProxy or a script sees it."""

from __future__ import annotations

import itertools
import math
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from pymavlink.dialects.v20 import ardupilotmega as M
from sim_testkit import Client, free_udp_port, upload

from contract import geo
from contract.mavlink import mode_number

HOME = (22.5205, 114.0632)
RIVERPATROL = [sys.executable, "-c", "from riverpatrol.cli import main; main()"]
REL = M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT
STREAM_TYPES = {
    "SYS_STATUS", "GPS_RAW_INT", "GLOBAL_POSITION_INT", "ATTITUDE", "VFR_HUD", "BATTERY_STATUS",
    "SYSTEM_TIME", "MISSION_CURRENT", "LOCAL_POSITION_NED", "RC_CHANNELS", "EKF_STATUS_REPORT",
}  # fmt: skip


def rate(msgs: list) -> float:
    """Messages per simulated second, from their ``time_boot_ms``."""
    ts = [m.time_boot_ms for m in msgs]
    return (len(ts) - 1) / ((ts[-1] - ts[0]) / 1000.0)


def square_items(side: float = 40.0, alt: float = 15.0) -> list[tuple]:
    def at(n: float, e: float) -> tuple[float, float]:
        return geo.offset(*HOME, n, e)

    return [
        (M.MAV_FRAME_GLOBAL, M.MAV_CMD_NAV_WAYPOINT, 0, 0, 0, 0, *HOME, 5.0),  # home, AMSL
        (REL, M.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, alt),
        (REL, M.MAV_CMD_NAV_WAYPOINT, 0, 0, 0, 0, *at(side, 0), alt),
        (REL, M.MAV_CMD_NAV_WAYPOINT, 0, 0, 0, 0, *at(side, side), alt),
        (REL, M.MAV_CMD_NAV_LOITER_TIME, 3, 0, 0, 0, *at(0, side), alt),
        (REL, M.MAV_CMD_NAV_RETURN_TO_LAUNCH, 0, 0, 0, 0, 0, 0, 0),
    ]


def takeoff(c: Client, alt: float = 10.0) -> None:
    assert c.set_mode("GUIDED").result == M.MAV_RESULT_ACCEPTED
    assert c.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1).result == M.MAV_RESULT_ACCEPTED
    assert c.command(M.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, alt).result == M.MAV_RESULT_ACCEPTED


def test_only_heartbeat_until_streams_are_requested(make_vehicle, connect) -> None:
    v = make_vehicle()
    c = connect(v)
    quiet = c.collect(1.0)  # 20 simulated seconds
    kinds = {m.get_type() for m in quiet}
    assert "HEARTBEAT" in kinds
    assert not kinds & STREAM_TYPES, kinds  # only HEARTBEAT and events (STATUSTEXT, home set)
    assert len([m for m in quiet if m.get_type() == "HEARTBEAT"]) >= 10
    c.mav.request_data_stream_send(1, 1, M.MAV_DATA_STREAM_ALL, 4, 1)
    kinds = {m.get_type() for m in c.collect(0.5)}
    assert kinds >= STREAM_TYPES


def test_message_interval_and_data_stream_rates_in_simulated_time(make_vehicle, connect) -> None:
    v = make_vehicle()
    c = connect(v)
    ack = c.command(M.MAV_CMD_SET_MESSAGE_INTERVAL, M.MAVLINK_MSG_ID_ATTITUDE, 100_000)  # 10 Hz
    assert ack.result == M.MAV_RESULT_ACCEPTED
    c.mav.request_data_stream_send(1, 1, M.MAV_DATA_STREAM_POSITION, 2, 1)
    got = c.collect(1.5)  # ~30 simulated seconds
    att = [m for m in got if m.get_type() == "ATTITUDE"]
    pos = [m for m in got if m.get_type() == "GLOBAL_POSITION_INT"]
    assert rate(att) == pytest.approx(10.0, rel=0.05)
    assert rate(pos) == pytest.approx(2.0, rel=0.05)
    assert len(att) > 150  # 10 Hz of simulated time at 20x: ~200 per wall second
    assert (
        c.command(M.MAV_CMD_SET_MESSAGE_INTERVAL, M.MAVLINK_MSG_ID_ATTITUDE, -1).result
        == M.MAV_RESULT_ACCEPTED
    )
    c.collect(0.2)
    assert not [m for m in c.collect(0.5) if m.get_type() == "ATTITUDE"]
    c.mav.request_data_stream_send(1, 1, M.MAV_DATA_STREAM_POSITION, 0, 0)
    c.collect(0.2)
    assert not [m for m in c.collect(0.5) if m.get_type() == "GLOBAL_POSITION_INT"]


def test_arming_refused_before_the_position_estimate(make_vehicle, connect) -> None:
    v = make_vehicle(ekf_ready_s=600.0)
    c = connect(v)
    assert c.set_mode("GUIDED").result == M.MAV_RESULT_ACCEPTED
    c.drain()
    ack = c.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1)
    assert ack.result == M.MAV_RESULT_FAILED
    assert (ack.target_system, ack.target_component) == (255, 190)
    text = c.recv("STATUSTEXT", cond=lambda m: m.text.startswith("PreArm"))
    assert text is not None and text.text == "PreArm: Need Position Estimate"
    assert text.severity == M.MAV_SEVERITY_CRITICAL


def test_params_list_read_set_and_wpnav_speed_caps_ground_speed(make_vehicle, connect) -> None:
    v = make_vehicle()
    c = connect(v)
    c.mav.param_request_list_send(1, 1)
    params = {}
    while (m := c.recv("PARAM_VALUE", timeout=2.0)) is not None:
        params[m.param_index] = m
        if len(params) == m.param_count:
            break
    count = next(iter(params.values())).param_count
    assert sorted(params) == list(range(count))
    names = {m.param_id for m in params.values()}
    assert {"WPNAV_SPEED", "RTL_ALT", "BATT_CAPACITY", "SYSID_THISMAV"} <= names
    c.mav.param_request_read_send(1, 1, b"WPNAV_SPEED", -1)
    assert c.recv("PARAM_VALUE", cond=lambda m: m.param_id == "WPNAV_SPEED").param_value == 1000
    echo = c.set_param("WPNAV_SPEED", 300)
    assert echo.param_value == 300 and echo.param_type == M.MAV_PARAM_TYPE_REAL32

    v.wait_for(lambda s: s.pos_ok)
    takeoff(c, 10.0)
    v.wait_for(lambda s: s.alt_rel > 9.5)
    c.mav.request_data_stream_send(1, 1, M.MAV_DATA_STREAM_EXTRA2, 10, 1)
    lat, lon = geo.offset(*HOME, 150.0, 0.0)
    c.mav.set_position_target_global_int_send(
        0, 1, 1, REL, 0b110111111000, round(lat * 1e7), round(lon * 1e7), 10, 0, 0, 0, 0, 0, 0, 0, 0
    )
    hud = [m for m in c.collect(2.0, "VFR_HUD")]  # 40 simulated seconds
    top = max(m.groundspeed for m in hud)
    assert top == pytest.approx(3.0, abs=0.05)
    assert v.snapshot().north > 60.0


def test_mission_upload_download_round_trip_over_tcp(make_vehicle, connect) -> None:
    v = make_vehicle()
    c = connect(v)
    items = square_items()
    assert upload(c, items) == M.MAV_MISSION_ACCEPTED
    c.mav.mission_request_list_send(1, 1, 0)
    count = c.recv("MISSION_COUNT")
    assert count.count == len(items)
    for seq, sent in enumerate(items):
        c.mav.mission_request_int_send(1, 1, seq, 0)
        got = c.recv("MISSION_ITEM_INT", cond=lambda m, s=seq: m.seq == s)
        frame, cmd, p1, p2, p3, p4, lat, lon, alt = sent
        expected_frame = {REL: M.MAV_FRAME_GLOBAL_RELATIVE_ALT}.get(frame, frame)
        assert (got.frame, got.command, got.param1, got.param2, got.param3, got.param4) == (
            expected_frame, cmd, p1, p2, p3, p4
        )  # fmt: skip
        assert (got.x, got.y, got.z) == (round(lat * 1e7), round(lon * 1e7), alt)
    c.mav.mission_ack_send(1, 1, M.MAV_MISSION_ACCEPTED, 0)
    c.mav.mission_request_send(1, 1, 2, 0)  # deprecated float request: float answer
    legacy = c.recv("MISSION_ITEM")
    assert legacy.x == pytest.approx(items[2][6], abs=1e-5)


def test_short_mission_flown_in_auto_reaches_the_end_and_lands(make_vehicle, connect) -> None:
    v = make_vehicle(speedup=50.0)
    c = connect(v)
    assert upload(c, square_items()) == M.MAV_MISSION_ACCEPTED
    v.wait_for(lambda s: s.pos_ok)
    assert c.set_mode("GUIDED").result == M.MAV_RESULT_ACCEPTED
    assert c.command(M.MAV_CMD_COMPONENT_ARM_DISARM, 1).result == M.MAV_RESULT_ACCEPTED
    assert c.command(M.MAV_CMD_MISSION_START, 0, 0).result == M.MAV_RESULT_ACCEPTED
    reached = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < 20.0:
        m = c.recv(["MISSION_ITEM_REACHED", "HEARTBEAT"], timeout=1.0)
        if m is None:
            continue
        if m.get_type() == "MISSION_ITEM_REACHED":
            reached.append(m.seq)
        elif reached and not m.base_mode & M.MAV_MODE_FLAG_SAFETY_ARMED:
            assert m.custom_mode == mode_number("AUTO")
            break
    assert reached == [1, 2, 3, 4, 5]
    s = v.snapshot()
    assert s.landed and not s.armed and not s.crashed
    assert math.hypot(s.north, s.east) < 1.5


def test_low_battery_triggers_rtl(make_vehicle, connect) -> None:
    v = make_vehicle()
    c = connect(v)
    v.wait_for(lambda s: s.pos_ok)
    takeoff(c, 10.0)
    v.wait_for(lambda s: s.alt_rel > 9.0)
    c.set_param("BATT_LOW_MAH", 9990)  # of a 10 Ah pack: low from now on
    text = c.recv("STATUSTEXT", cond=lambda m: m.text.startswith("Battery 1 is low"))
    assert text is not None
    hb = c.recv("HEARTBEAT", cond=lambda m: m.custom_mode == mode_number("RTL"))
    assert hb is not None and hb.system_status == M.MAV_STATE_CRITICAL
    v.wait_for(lambda s: not s.armed, timeout=15.0)
    assert v.snapshot().landed


def test_blackout_is_silence_both_ways_then_recovery(make_vehicle, connect) -> None:
    v = make_vehicle(speedup=10.0, blackouts=["6:12"])
    c = connect(v)
    c.mav.request_data_stream_send(1, 1, M.MAV_DATA_STREAM_EXTRA1, 10, 1)
    got = []
    sent_during = False
    t0 = time.monotonic()
    while time.monotonic() - t0 < 2.5:
        m = c.recv(timeout=0.1)
        if m is not None:
            got.append((time.monotonic(), m))
        if not sent_during and v.snapshot().t > 8.0:
            c.mav.param_set_send(1, 1, b"RTL_ALT", 4000, M.MAV_PARAM_TYPE_INT32)  # lost in the blackout
            sent_during = True
    att = [m.time_boot_ms for _, m in got if m.get_type() == "ATTITUDE"]
    assert att and min(att) < 6000 and max(att) > 13000
    assert not [t for t in att if 6000 <= t < 12000]
    gap = max(b - a for a, b in itertools.pairwise(att))
    assert 5900 <= gap <= 6200  # the blackout, in simulated milliseconds
    assert v.call(lambda core: core.params["RTL_ALT"]) == 1500
    assert c.set_param("RTL_ALT", 4000).param_value == 4000  # after it: heard again


def test_garbage_does_not_crash_it(make_vehicle, connect) -> None:
    v = make_vehicle()
    with socket.create_connection(("127.0.0.1", v.tcp_port)) as raw:
        rnd = os.urandom(20000)
        raw.sendall(rnd)
        raw.sendall(b"\xfd" * 300 + b"\xfe\x09\x00\x00" + b"\x00" * 50)  # truncated, bad CRC frames
        enc = M.MAVLink(None, srcSystem=255, srcComponent=190)
        parser = M.MAVLink(None)
        parser.robust_parsing = True
        raw.settimeout(0.2)
        deadline = time.monotonic() + 5
        answer = None
        while answer is None and time.monotonic() < deadline:
            # a garbage frame header may claim a long payload and swallow the next bytes, so
            # keep asking, as a GCS keeps talking (ArduPilot's parser does the same)
            raw.sendall(M.MAVLink_param_request_read_message(1, 1, b"RTL_ALT", -1).pack(enc))
            try:
                data = raw.recv(65536)
            except TimeoutError:
                continue
            for m in parser.parse_buffer(data) or []:
                if m.get_type() == "PARAM_VALUE":
                    answer = m
        assert answer is not None and answer.param_id == "RTL_ALT"
    c = connect(v)
    c.mav.request_data_stream_send(1, 1, M.MAV_DATA_STREAM_EXTENDED_STATUS, 5, 1)
    status = c.recv("SYS_STATUS")
    assert status.errors_comm > 0
    assert v.error is None and v.running


def test_two_tcp_clients_at_once(make_vehicle, connect) -> None:
    v = make_vehicle()
    a, b = connect(v), connect(v, sysid=254)
    assert a.recv("HEARTBEAT") is not None and b.recv("HEARTBEAT") is not None
    v.wait_for(lambda s: s.pos_ok)
    assert v.clients() == 2
    a.command(M.MAV_CMD_REQUEST_MESSAGE, M.MAVLINK_MSG_ID_AUTOPILOT_VERSION)
    # replies go to every link, as ArduPilot routes them
    assert b.recv("AUTOPILOT_VERSION") is not None
    assert b.set_mode("LOITER").result == M.MAV_RESULT_ACCEPTED
    assert a.recv("HEARTBEAT", cond=lambda m: m.custom_mode == mode_number("LOITER")) is not None
    a.close()
    assert b.recv("HEARTBEAT") is not None
    v.wait_for(lambda s: v.clients() == 1, timeout=5)


def test_udp_out_sends_to_the_gcs_and_hears_its_replies(make_vehicle) -> None:
    port = free_udp_port()
    v = make_vehicle(tcp=False, udp_out=[f"127.0.0.1:{port}"])
    c = Client(f"udpin:127.0.0.1:{port}")
    try:
        hb = c.recv("HEARTBEAT")
        assert hb is not None and hb.autopilot == M.MAV_AUTOPILOT_ARDUPILOTMEGA
        c.mav.param_request_read_send(1, 1, b"SYSID_THISMAV", -1)  # mavutil answers to the sender
        assert c.recv("PARAM_VALUE").param_value == 1
        assert v.tcp_port is None
    finally:
        c.close()


def test_outgoing_packet_loss_is_about_what_was_asked(make_vehicle, connect) -> None:
    v = make_vehicle(loss_out_pct=30.0, seed=3)
    c = connect(v)
    c.command(M.MAV_CMD_SET_MESSAGE_INTERVAL, M.MAVLINK_MSG_ID_ATTITUDE, 20_000)
    c.mav.command_long_send(
        1, 1, M.MAV_CMD_SET_MESSAGE_INTERVAL, 0, M.MAVLINK_MSG_ID_ATTITUDE, 20_000, 0, 0, 0, 0, 0
    )
    att = c.collect(1.5, "ATTITUDE")
    ts = [m.time_boot_ms for m in att]
    expected = (ts[-1] - ts[0]) / 20 + 1
    assert len(att) / expected == pytest.approx(0.7, abs=0.07)


def test_incoming_loss_drops_requests(make_vehicle, connect) -> None:
    v = make_vehicle(loss_in_pct=100.0)
    c = connect(v)
    assert c.recv("HEARTBEAT") is not None  # outgoing is fine
    c.mav.param_request_read_send(1, 1, b"RTL_ALT", -1)
    assert c.recv("PARAM_VALUE", timeout=1.0) is None


def test_metrics_endpoint(make_vehicle, connect) -> None:
    v = make_vehicle(metrics_port=0)
    c = connect(v)
    assert c.recv("HEARTBEAT") is not None
    body = urllib.request.urlopen(f"http://127.0.0.1:{v.metrics_port}/metrics", timeout=5).read().decode()
    assert "riverpatrol_sim_vehicle_sim_time_seconds" in body
    assert 'riverpatrol_sim_vehicle_messages_sent_total{type="HEARTBEAT"}' in body
    assert "riverpatrol_sim_vehicle_tcp_clients 1.0" in body
    assert "riverpatrol_sim_vehicle_smartrtl_points 0.0" in body  # not armed: no way home kept


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing accepted on {port}")


def test_cli_runs_as_a_subprocess() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [*RIVERPATROL, "sim", "vehicle", "--tcp-port", str(port), "--no-udp",
         "--speedup", "20", "--duration", "40", "--ekf-ready", "2", "--log-format", "json", "--no-status",
         "--param", "DISARM_DELAY=0", "--blackout", "30:35"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_port(port)
        c = Client(f"tcp:127.0.0.1:{port}")
        hb = c.recv("HEARTBEAT", timeout=10)
        assert hb is not None
        c.mav.param_request_read_send(1, 1, b"DISARM_DELAY", -1)
        assert c.recv("PARAM_VALUE").param_value == 0
        c.close()
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert '"msg": "vehicle listening"' in err and '"msg": "blackout start"' in err


def test_cli_help_shows_defaults() -> None:
    out = subprocess.run(
        [*RIVERPATROL, "sim", "vehicle", "--help"],
        capture_output=True, text=True, check=True, env={**os.environ, "COLUMNS": "200"},
    ).stdout  # fmt: skip
    for text in (
        "--speedup",
        "--blackout",
        "--gps-glitch",
        "--metrics-port",
        "5760",
        "127.0.0.1:14550",
        "20.0",
    ):
        assert text in out, text
