"""The whole vehicle without sockets: a VehicleCore stepped by hand, MAVLink in and out.

These cover the flight logic (arming, modes, missions, RTL, failsafes) quickly and
deterministically; tests/sim/test_wire.py checks the same things over real sockets.
"""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime

import pytest
from pymavlink.dialects.v20 import ardupilotmega as M

from contract import geo
from contract.mavlink import mode_number
from sim.settings import VehicleSettings
from sim.vehicle.core import VehicleCore

DT = 0.02
HOME = (22.5205, 114.0632)
GCS = M.MAVLink(None, srcSystem=255, srcComponent=190)
REL = M.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT


class Bench:
    """A core, a clock and a log of everything it sent."""

    def __init__(self, **settings) -> None:
        base = {"udp_out": [], "ekf_ready_s": 2.0, "params": {"DISARM_DELAY": 0}}
        base.update(settings)
        base["params"] = {"DISARM_DELAY": 0, **settings.get("params", {})}
        boot = None if "start_time" in settings else 1_700_000_000.0
        self.core = VehicleCore(VehicleSettings(**base), boot_unix=boot)
        self.sent: list = []
        self.link_now = 0.0

    def send(self, msg, enc=GCS) -> list:
        decoded = M.MAVLink(None).decode(bytearray(msg.pack(enc)))
        out = self.core.handle(decoded, self.link_now)
        self.sent += out
        return out

    def run(self, seconds: float, until=None) -> None:
        for _ in range(round(seconds / DT)):
            self.link_now += DT
            self.sent += self.core.step(DT, self.link_now)
            if until is not None and until(self.core.snapshot):
                return

    def cmd(self, command: int, *params: float) -> int:
        p = [float(x) for x in params] + [0.0] * (7 - len(params))
        out = self.send(M.MAVLink_command_long_message(1, 1, command, 0, *p))
        acks = [m for m in out if m.get_type() == "COMMAND_ACK" and m.command == command]
        assert len(acks) == 1
        return acks[0].result

    def mode(self, name: str) -> int:
        return self.cmd(M.MAV_CMD_DO_SET_MODE, M.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, mode_number(name))

    def texts(self) -> list[str]:
        return [m.text for m in self.sent if m.get_type() == "STATUSTEXT"]

    def of(self, mtype: str) -> list:
        return [m for m in self.sent if m.get_type() == mtype]

    @property
    def snap(self):
        return self.core.snapshot

    def upload(self, items: list[tuple]) -> None:
        """``(command, p1, p2, p3, p4, north_m, east_m, alt)`` items after home; frame relative."""
        self.send(M.MAVLink_mission_count_message(1, 1, len(items) + 1, 0))
        self.send(M.MAVLink_mission_item_int_message(1, 1, 0, 0, 16, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0))
        for i, (cmd, p1, p2, p3, p4, n, e, alt) in enumerate(items, start=1):
            if n is None:
                lat = lon = 0.0
            else:
                lat, lon = geo.offset(*HOME, n, e)
            out = self.send(
                M.MAVLink_mission_item_int_message(
                    1, 1, i, REL, cmd, 0, 1, p1, p2, p3, p4, round(lat * 1e7), round(lon * 1e7), alt, 0
                )
            )
        acks = [m for m in out if m.get_type() == "MISSION_ACK"]
        assert len(acks) == 1 and acks[0].type == M.MAV_MISSION_ACCEPTED

    def ready(self) -> Bench:
        self.run(2.5)
        assert self.snap.pos_ok
        return self

    def takeoff(self, alt: float = 20.0) -> None:
        assert self.mode("GUIDED") == M.MAV_RESULT_ACCEPTED
        assert self.cmd(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == M.MAV_RESULT_ACCEPTED
        assert self.cmd(M.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, alt) == M.MAV_RESULT_ACCEPTED
        self.run(60, until=lambda s: s.alt_rel > alt - 0.5)


WP, TAKEOFF, LAND, RTL_CMD = (
    M.MAV_CMD_NAV_WAYPOINT,
    M.MAV_CMD_NAV_TAKEOFF,
    M.MAV_CMD_NAV_LAND,
    M.MAV_CMD_NAV_RETURN_TO_LAUNCH,
)


def square(side: float = 60.0, alt: float = 20.0) -> list[tuple]:
    return [
        (TAKEOFF, 0, 0, 0, 0, None, None, alt),
        (WP, 0, 0, 0, 0, side, 0.0, alt),
        (WP, 0, 0, 0, 0, side, side, alt),
        (WP, 0, 0, 0, 0, 0.0, side, alt),
        (RTL_CMD, 0, 0, 0, 0, None, None, 0),
    ]


# --- arming --------------------------------------------------------------------------------


def test_arming_is_refused_until_the_position_estimate_is_good() -> None:
    b = Bench(ekf_ready_s=30.0)
    b.run(5.0)
    assert b.mode("GUIDED") == M.MAV_RESULT_ACCEPTED  # disarmed: any mode may be selected
    assert b.cmd(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == M.MAV_RESULT_FAILED
    assert "PreArm: Need Position Estimate" in b.texts()
    assert not b.snap.armed
    b.run(26.0)
    assert b.snap.pos_ok and "EKF3 IMU0 is using GPS" in b.texts()
    assert b.cmd(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == M.MAV_RESULT_ACCEPTED
    assert b.snap.armed


def test_arming_check_zero_and_force_skip_the_checks() -> None:
    b = Bench(ekf_ready_s=30.0, params={"ARMING_CHECK": 0})
    b.run(1.0)
    assert b.cmd(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == M.MAV_RESULT_ACCEPTED
    c = Bench(ekf_ready_s=30.0)
    c.run(1.0)
    assert c.cmd(M.MAV_CMD_COMPONENT_ARM_DISARM, 1, 21196) == M.MAV_RESULT_ACCEPTED


def test_no_gps_fix_means_no_arming() -> None:
    b = Bench(gps_glitches=["5:60"])
    b.run(10.0)
    assert b.mode("GUIDED") == M.MAV_RESULT_ACCEPTED
    assert b.cmd(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == M.MAV_RESULT_FAILED
    assert b.texts()[-1] == "PreArm: Need Position Estimate"
    gps = b.core.snapshot
    assert gps.gps_fix_type == 1 and gps.satellites == 0


def test_modes_that_are_not_armable_and_auto_without_takeoff() -> None:
    b = Bench().ready()
    assert b.mode("RTL") == M.MAV_RESULT_ACCEPTED
    assert b.cmd(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == M.MAV_RESULT_FAILED
    assert "not armable" in b.texts()[-1]
    b.upload([(WP, 0, 0, 0, 0, 50.0, 0.0, 20.0)])
    assert b.mode("GUIDED") == M.MAV_RESULT_ACCEPTED
    assert b.cmd(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == M.MAV_RESULT_ACCEPTED
    assert b.mode("AUTO") == M.MAV_RESULT_FAILED
    assert "Auto: Missing Takeoff Cmd" in b.texts()
    assert b.snap.mode_name == "GUIDED"


def test_disarm_delay_disarms_an_idle_vehicle_on_the_ground() -> None:
    b = Bench(params={"DISARM_DELAY": 10}).ready()
    b.mode("GUIDED")
    assert b.cmd(M.MAV_CMD_COMPONENT_ARM_DISARM, 1) == M.MAV_RESULT_ACCEPTED
    b.run(9.0)
    assert b.snap.armed
    b.run(1.5)
    assert not b.snap.armed


def test_disarm_in_flight_needs_force_and_then_it_falls() -> None:
    b = Bench().ready()
    b.takeoff(15.0)
    assert b.cmd(M.MAV_CMD_COMPONENT_ARM_DISARM, 0) == M.MAV_RESULT_FAILED
    assert b.cmd(M.MAV_CMD_COMPONENT_ARM_DISARM, 0, 21196) == M.MAV_RESULT_ACCEPTED
    b.run(5.0)
    assert b.snap.landed and b.snap.crashed


# --- flying --------------------------------------------------------------------------------


def test_guided_takeoff_climbs_at_the_climb_limit_and_holds() -> None:
    b = Bench(params={"WPNAV_SPEED_UP": 200}).ready()
    b.mode("GUIDED")
    b.cmd(M.MAV_CMD_COMPONENT_ARM_DISARM, 1)
    assert b.cmd(M.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 25) == M.MAV_RESULT_ACCEPTED
    climb = []
    for _ in range(30 * 50):
        b.run(DT)
        climb.append(b.snap.vu)
    assert max(climb) <= 2.0 + 1e-6
    assert b.snap.alt_rel == pytest.approx(25.0, abs=0.3)
    assert b.cmd(M.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 25) == M.MAV_RESULT_FAILED  # already flying


def test_takeoff_is_refused_unless_guided_and_armed() -> None:
    b = Bench().ready()
    b.mode("GUIDED")
    assert b.cmd(M.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 10) == M.MAV_RESULT_FAILED


def test_auto_mission_is_flown_and_ends_landed_and_disarmed() -> None:
    b = Bench().ready()
    b.upload(square())
    b.mode("GUIDED")
    b.cmd(M.MAV_CMD_COMPONENT_ARM_DISARM, 1)
    assert b.cmd(M.MAV_CMD_MISSION_START, 0, 0) == M.MAV_RESULT_ACCEPTED
    assert b.snap.mode_name == "AUTO"
    corners = {2: (60.0, 0.0), 3: (60.0, 60.0), 4: (0.0, 60.0)}
    closest = dict.fromkeys(corners, math.inf)
    max_alt = 0.0
    for _ in range(240 * 50):
        b.run(DT)
        s = b.snap
        max_alt = max(max_alt, s.alt_rel)
        for seq, (n, e) in corners.items():
            closest[seq] = min(closest[seq], math.hypot(s.north - n, s.east - e))
        if not s.armed and s.t > 10:
            break
    s = b.snap
    assert not s.armed and s.landed and not s.crashed
    assert [m.seq for m in b.of("MISSION_ITEM_REACHED")] == [1, 2, 3, 4, 5]
    assert all(d <= 2.0 for d in closest.values()), closest  # WPNAV_RADIUS 200 cm
    assert max_alt == pytest.approx(20.0, abs=1.0)
    assert math.hypot(s.north, s.east) < 1.0  # back home
    assert "Mission: 1 Takeoff" in b.texts() and "Reached command #4" in b.texts()
    assert s.mission_state == M.MISSION_STATE_COMPLETE
    seqs = [m.seq for m in b.of("MISSION_CURRENT")]
    assert seqs == sorted(seqs) and seqs[-1] == 5


def test_auto_flies_the_line_between_waypoints_back_onto_it_after_a_corner() -> None:
    """WPNav flies the leg's line: the overshoot of a turn taken at speed is steered back onto
    it, in a cross-wind too, not carried diagonally to the next waypoint (the camera's strip
    along the river is where the plan put it)."""
    side = 200.0
    b = Bench(params={"SIM_WIND_SPD": 8, "SIM_WIND_DIR": 90}).ready()
    corners = ((side, 0.0), (side, side), (0.0, side), (0.0, 0.0))
    legs_out = [(WP, 0, 0, 0, 0, n, e, 20.0) for n, e in corners]
    b.upload([(TAKEOFF, 0, 0, 0, 0, None, None, 20.0), *legs_out, (RTL_CMD, 0, 0, 0, 0, None, None, 0)])
    b.mode("GUIDED")
    b.cmd(M.MAV_CMD_COMPONENT_ARM_DISARM, 1)
    b.cmd(M.MAV_CMD_MISSION_START, 0, 0)
    legs = {3: ((side, 0.0), (side, side)), 4: ((side, side), (0.0, side)), 5: ((0.0, side), (0.0, 0.0))}
    worst = dict.fromkeys(legs, 0.0)
    while b.snap.mission_seq <= 5 and b.snap.t < 300:
        b.run(DT)
        s = b.snap
        if s.mission_seq in legs:
            (on, oe), (tn, te) = legs[s.mission_seq]
            along = ((s.north - on) * (tn - on) + (s.east - oe) * (te - oe)) / side
            if 15.0 < along < side - 5.0:  # past the turn, before the next corner
                off = abs((s.north - on) * (te - oe) - (s.east - oe) * (tn - on)) / side
                worst[s.mission_seq] = max(worst[s.mission_seq], off)
    assert b.snap.mission_seq > 5, b.snap.mission_seq
    assert all(0.0 < w < 2.5 for w in worst.values()), worst  # steering at the waypoint: 4.6-4.9 m


def test_wpnav_speed_caps_ground_speed_and_do_change_speed_overrides_it() -> None:
    b = Bench(params={"WPNAV_SPEED": 400}).ready()
    b.upload(
        [
            (TAKEOFF, 0, 0, 0, 0, None, None, 10.0),
            (WP, 0, 0, 0, 0, 150.0, 0.0, 10.0),
            (M.MAV_CMD_DO_CHANGE_SPEED, 1, 7.0, -1, 0, None, None, 0),
            (WP, 0, 0, 0, 0, 300.0, 0.0, 10.0),
        ]
    )
    b.mode("GUIDED")
    b.cmd(M.MAV_CMD_COMPONENT_ARM_DISARM, 1)
    b.cmd(M.MAV_CMD_MISSION_START)
    speeds: dict[int, float] = {}
    for _ in range(200 * 50):
        b.run(DT)
        s = b.snap
        speeds[s.mission_seq] = max(speeds.get(s.mission_seq, 0.0), s.groundspeed)
        if s.mission_state == M.MISSION_STATE_COMPLETE:
            break
    # DO_CHANGE_SPEED after WP2 runs when WP2 starts (ArduPilot's order): 7 m/s to WP2 and WP4
    assert speeds[2] == pytest.approx(7.0, abs=0.1)
    assert speeds[4] == pytest.approx(7.0, abs=0.1)
    c = Bench(params={"WPNAV_SPEED": 400}).ready()
    c.upload([(TAKEOFF, 0, 0, 0, 0, None, None, 10.0), (WP, 0, 0, 0, 0, 150.0, 0.0, 10.0)])
    c.mode("GUIDED")
    c.cmd(M.MAV_CMD_COMPONENT_ARM_DISARM, 1)
    c.cmd(M.MAV_CMD_MISSION_START)
    top = 0.0
    for _ in range(80 * 50):
        c.run(DT)
        top = max(top, c.snap.groundspeed)
    assert top == pytest.approx(4.0, abs=0.05)


def test_rtl_climbs_to_rtl_alt_returns_and_lands() -> None:
    b = Bench(params={"RTL_ALT": 3000, "RTL_LOIT_TIME": 2000}).ready()
    b.takeoff(10.0)
    assert b.send(M.MAVLink_set_position_target_global_int_message(
        0, 1, 1, REL, 0b110111111000, *(round(x * 1e7) for x in geo.offset(*HOME, 80.0, 0.0)), 10.0,
        0, 0, 0, 0, 0, 0, 0, 0,
    )) == []  # fmt: skip
    b.run(60, until=lambda s: s.north > 79.0)
    assert b.mode("RTL") == M.MAV_RESULT_ACCEPTED
    trace = []
    for _ in range(200 * 50):
        b.run(DT)
        trace.append((b.snap.north, b.snap.alt_rel))
        if not b.snap.armed:
            break
    # climbs to 30 m before leaving, then returns at 30 m, then lands and disarms
    climb_done = next(i for i, (_, a) in enumerate(trace) if a > 29.5)
    assert trace[climb_done][0] > 78.0
    assert max(a for _, a in trace) == pytest.approx(30.0, abs=0.7)
    assert not b.snap.armed and b.snap.landed and abs(b.snap.north) < 1.0


def test_low_battery_triggers_rtl_and_critical_triggers_land() -> None:
    b = Bench(params={"BATT_CAPACITY": 10000}).ready()
    b.takeoff(10.0)
    b.core.params.set("BATT_LOW_MAH", 9990)  # almost all of it left is "low"
    b.run(1.0)
    assert b.snap.mode_name == "RTL" and b.snap.fs_battery == 1
    assert any(t.startswith("Battery 1 is low") for t in b.texts())
    assert b.snap.system_status == M.MAV_STATE_CRITICAL
    b.core.params.set("BATT_CRT_MAH", 9990)
    b.run(1.0)
    assert b.snap.mode_name == "LAND" and b.snap.fs_battery == 2
    b.run(60.0, until=lambda s: not s.armed)
    assert not b.snap.armed and b.snap.landed


def test_battery_voltage_failsafe_needs_the_low_voltage_to_last() -> None:
    b = Bench(battery_sags=["20:3.0"]).ready()
    b.takeoff(10.0)
    b.run(20.0 - b.snap.t + 5.0)  # 5 s of low voltage: not yet (BATT_LOW_TIMER 10 s)
    assert b.snap.fs_battery == 0 and b.snap.battery_voltage < 14.2
    b.run(6.0)
    assert b.snap.fs_battery >= 1 and b.snap.mode_name in ("RTL", "LAND")


def test_gcs_failsafe_rtl_after_heartbeat_silence_on_the_link_clock() -> None:
    b = Bench(params={"FS_GCS_TIMEOUT": 5}).ready()
    b.takeoff(10.0)
    b.core.params.set("FS_GCS_ENABLE", 1)
    for _ in range(10):  # a GCS that keeps talking keeps it flying
        b.send(M.MAVLink_heartbeat_message(6, 8, 0, 0, 0, 3))
        b.run(1.0)
    assert b.snap.mode_name == "GUIDED"
    b.run(5.5)
    assert b.snap.mode_name == "RTL" and b.snap.fs_gcs
    assert "GCS Failsafe" in b.texts()
    b.send(M.MAVLink_heartbeat_message(6, 8, 0, 0, 0, 3))
    b.run(0.1)
    assert not b.snap.fs_gcs and "GCS Failsafe Cleared" in b.texts()


def test_heartbeats_from_other_systems_do_not_count_as_the_gcs() -> None:
    b = Bench().ready()
    b.takeoff(10.0)
    b.core.params.set("FS_GCS_ENABLE", 1)
    b.send(M.MAVLink_heartbeat_message(6, 8, 0, 0, 0, 3))
    companion = M.MAVLink(None, srcSystem=1, srcComponent=191)
    for _ in range(8):
        b.send(M.MAVLink_heartbeat_message(18, 8, 0, 0, 0, 3), companion)
        b.run(1.0)
    assert b.snap.mode_name == "RTL"


def test_losing_the_gps_fix_in_flight_lands_drifting_with_the_wind() -> None:
    b = Bench(gps_glitches=["30:200"], wind_speed=4.0, wind_dir=180.0).ready()
    b.takeoff(20.0)
    assert b.snap.t < 30
    b.run(30.0 - b.snap.t + 2.0)
    assert b.snap.mode_name == "LAND" and b.snap.fs_ekf
    assert "EKF Failsafe: changed to LAND Mode" in b.texts()
    start = b.snap.north
    b.run(10.0)
    assert b.snap.north - start > 20.0  # wind from the south blows it north
    b.run(60.0, until=lambda s: not s.armed)
    assert b.snap.landed and not b.snap.armed


def test_a_fence_is_not_judged_without_a_position_and_is_again_once_it_returns() -> None:
    """ArduCopter cannot tell a breach without knowing where it is: with the fix lost the EKF
    failsafe's LAND drifts out of the circle fence and no breach is said (nor RTL tried, which
    needs a position); with the fix back the breach is seen, and the landing is left to land."""
    b = Bench(
        gps_glitches=["30:42"],
        wind_speed=6.0,
        wind_dir=180.0,
        params={"FENCE_ENABLE": 1, "FENCE_TYPE": 2, "FENCE_RADIUS": 20, "FENCE_ACTION": 1},
    ).ready()
    b.takeoff(20.0)
    b.run(30.0 - b.snap.t + 2.0)
    assert b.snap.mode_name == "LAND" and b.snap.fs_ekf
    b.run(9.0)  # still no fix, and the wind has carried it out of the fence
    s = b.snap
    assert math.hypot(s.north, s.east) > 25.0 and not s.pos_ok, (s.north, s.east)
    assert not any("Fence Breached" in t for t in b.texts()) and s.mode_name == "LAND"
    b.run(5.0)  # the fix is back (at 42 s), outside the fence: the breach is seen
    assert b.snap.pos_ok and "Fence Breached: Circle" in b.texts()
    assert b.snap.mode_name == "LAND"  # FENCE_ACTION RTL does not take a landing back up


def test_gps_jump_moves_the_estimate_and_the_vehicle_follows_it() -> None:
    b = Bench(gps_glitches=["20:60:30,0"]).ready()
    b.takeoff(10.0)
    b.run(20.0 - b.snap.t + 25.0)
    s = b.snap
    assert s.est_north - s.north == pytest.approx(30.0, abs=3.0)  # it believes it is 30 m north
    assert s.north == pytest.approx(-30.0, abs=3.0)  # so holding "position" puts it 30 m south
    assert "GPS Glitch or Compass error" in b.texts()


def test_steady_wind_shows_as_tilt_in_attitude() -> None:
    b = Bench(wind_speed=8.0, wind_dir=90.0, home_heading=0.0).ready()  # from the east
    b.takeoff(10.0)
    b.run(20.0)
    s = b.snap
    assert s.roll > 3.0  # facing north, leaning right (east) into the wind
    assert s.groundspeed < 0.3 and s.airspeed == pytest.approx(8.0, abs=0.5)
    b.core.streams.set_interval(M.MAVLINK_MSG_ID_ATTITUDE, 100_000)
    b.run(0.5)
    att = b.of("ATTITUDE")[-1]
    assert math.degrees(att.roll) == pytest.approx(s.roll, abs=1.0)


def test_do_jump_repeats_a_leg() -> None:
    b = Bench().ready()
    b.upload(
        [
            (TAKEOFF, 0, 0, 0, 0, None, None, 10.0),
            (WP, 0, 0, 0, 0, 30.0, 0.0, 10.0),
            (WP, 0, 0, 0, 0, 0.0, 0.0, 10.0),
            (M.MAV_CMD_DO_JUMP, 2, 2, 0, 0, None, None, 0),
            (LAND, 0, 0, 0, 0, None, None, 0),
        ]
    )
    b.mode("GUIDED")
    b.cmd(M.MAV_CMD_COMPONENT_ARM_DISARM, 1)
    b.cmd(M.MAV_CMD_MISSION_START)
    b.run(300.0, until=lambda s: not s.armed)
    assert [m.seq for m in b.of("MISSION_ITEM_REACHED")] == [1, 2, 3, 2, 3, 2, 3, 5]


# --- telemetry and commands ----------------------------------------------------------------


def test_telemetry_timestamps_are_simulated() -> None:
    start = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    b = Bench(start_time=start)
    b.core.streams.request_data_stream(M.MAV_DATA_STREAM_ALL, 1, True)
    b.run(10.0)
    st = b.of("SYSTEM_TIME")[-1]
    assert st.time_unix_usec == pytest.approx(start.timestamp() * 1e6 + st.time_boot_ms * 1000, abs=1000)
    assert b.of("ATTITUDE")[-1].time_boot_ms == pytest.approx(10000, abs=1000)
    gpi = b.of("GLOBAL_POSITION_INT")
    early = [m for m in gpi if m.time_boot_ms < 1900]
    late = [m for m in gpi if m.time_boot_ms > 2100]
    assert all(m.lat == 0 and m.lon == 0 for m in early)  # no EKF origin yet, as ArduPilot
    assert late[-1].lat == 225205000 and late[-1].lon == 1140632000 and late[-1].alt == 5000
    hb = b.of("HEARTBEAT")[-1]
    assert (hb.type, hb.autopilot) == (M.MAV_TYPE_QUADROTOR, M.MAV_AUTOPILOT_ARDUPILOTMEGA)
    assert (
        hb.base_mode & M.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED and not hb.base_mode & M.MAV_MODE_FLAG_SAFETY_ARMED
    )
    assert hb.system_status == M.MAV_STATE_STANDBY


def test_commands_acks_and_one_off_messages() -> None:
    b = Bench()
    b.run(0.5)
    assert b.cmd(31000) == M.MAV_RESULT_UNSUPPORTED
    out = b.send(M.MAVLink_command_long_message(1, 1, M.MAV_CMD_REQUEST_MESSAGE, 0, 148, 0, 0, 0, 0, 0, 0))
    assert [m.get_type() for m in out] == ["COMMAND_ACK", "AUTOPILOT_VERSION"]
    av = out[1]
    assert av.capabilities & M.MAV_PROTOCOL_CAPABILITY_MISSION_INT
    assert av.capabilities & M.MAV_PROTOCOL_CAPABILITY_MAVLINK2
    assert av.capabilities & M.MAV_PROTOCOL_CAPABILITY_PARAM_FLOAT
    assert av.capabilities & M.MAV_PROTOCOL_CAPABILITY_SET_ATTITUDE_TARGET
    assert av.flight_sw_version >> 16 == 0x0405  # ArduCopter 4.5
    # home is not known before the EKF has an origin
    assert b.cmd(M.MAV_CMD_REQUEST_MESSAGE, M.MAVLINK_MSG_ID_HOME_POSITION) == M.MAV_RESULT_FAILED
    b.run(2.5)
    out = b.send(M.MAVLink_command_long_message(1, 1, M.MAV_CMD_REQUEST_MESSAGE, 0, 242, 0, 0, 0, 0, 0, 0))
    assert out[0].result == M.MAV_RESULT_ACCEPTED and out[1].latitude == 225205000
    out = b.send(
        M.MAVLink_command_long_message(1, 1, M.MAV_CMD_SET_MESSAGE_INTERVAL, 0, 246, 1e5, 0, 0, 0, 0, 0)
    )
    assert out[0].result == M.MAV_RESULT_DENIED and "No ap_message" in out[1].text
    out = b.send(
        M.MAVLink_command_long_message(1, 1, M.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES, 0, 1, 0, 0, 0, 0, 0, 0)
    )
    assert [m.get_type() for m in out] == ["COMMAND_ACK", "AUTOPILOT_VERSION"]
    sync = b.send(M.MAVLink_timesync_message(0, 123456))
    assert sync[0].tc1 == pytest.approx(b.snap.t * 1e9, rel=1e-6) and sync[0].ts1 == 123456
    assert b.send(M.MAVLink_timesync_message(5, 1)) == []  # a reply, not a request
    # messages for another system are not ours
    assert (
        b.send(M.MAVLink_command_long_message(7, 1, M.MAV_CMD_REQUEST_MESSAGE, 0, 148, 0, 0, 0, 0, 0, 0))
        == []
    )


def test_set_mode_message_is_acked_with_its_message_id() -> None:
    b = Bench().ready()
    out = b.send(M.MAVLink_set_mode_message(1, M.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, mode_number("LOITER")))
    assert out[0].get_type() == "COMMAND_ACK" and out[0].command == M.MAVLINK_MSG_ID_SET_MODE
    assert out[0].result == M.MAV_RESULT_ACCEPTED and b.snap.mode_name == "LOITER"
    bad = b.send(M.MAVLink_set_mode_message(1, M.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, 99))
    assert bad[0].result == M.MAV_RESULT_FAILED and "No such mode" in b.texts()[-1]


def test_param_protocol() -> None:
    b = Bench()
    b.send(M.MAVLink_param_request_list_message(1, 1))
    b.run(1.0)
    values = b.of("PARAM_VALUE")
    n = len(b.core.params)
    assert len(values) == n and {v.param_index for v in values} == set(range(n))
    assert all(v.param_count == n for v in values)
    assert any(t.startswith("ArduCopter V4.5") for t in b.texts())
    by_name = b.send(M.MAVLink_param_request_read_message(1, 1, b"RTL_ALT", -1))
    assert by_name[0].param_id == "RTL_ALT" and by_name[0].param_value == 1500
    assert by_name[0].param_type == M.MAV_PARAM_TYPE_INT32
    idx = b.core.params.index("WPNAV_SPEED")
    by_index = b.send(M.MAVLink_param_request_read_message(1, 1, b"", idx))
    assert by_index[0].param_id == "WPNAV_SPEED" and by_index[0].param_index == idx
    echo = b.send(M.MAVLink_param_set_message(1, 1, b"DISARM_DELAY", 7.4, M.MAV_PARAM_TYPE_REAL32))
    assert echo[0].param_value == 7.0 and echo[0].param_type == M.MAV_PARAM_TYPE_INT8
    assert echo[0].param_index == 65535  # as ArduPilot's PARAM_SET reply
    assert b.send(M.MAVLink_param_set_message(1, 1, b"NO_SUCH", 1, 9)) == []
    denied = b.send(M.MAVLink_param_set_message(1, 1, b"FORMAT_VERSION", 1, 4))
    assert "Param write denied" in denied[0].text and denied[1].param_value == 120


def test_gps_noise_is_in_the_raw_fix_and_smoothed_in_the_estimate() -> None:
    b = Bench(gps_noise_m=2.0, seed=11).ready()
    raw, est = [], []
    for _ in range(200 * 50):
        b.run(DT)
        s = b.snap
        n, e = geo.to_local(*HOME, s.gps_lat, s.gps_lon)
        raw.append(math.hypot(n - s.north, e - s.east))
        est.append(math.hypot(s.est_north - s.north, s.est_east - s.east))
    rms = math.sqrt(sum(x * x for x in raw) / len(raw))
    assert 1.5 < rms / math.sqrt(2) < 3.0  # per-axis 1-sigma near 2 m
    assert max(est) < max(raw)
    again = Bench(gps_noise_m=2.0, seed=11).ready()
    again.run(200.0)
    assert again.snap.gps_lat == b.snap.gps_lat  # seeded: the same noise again


def test_mission_start_again_after_the_end_restarts_it() -> None:
    b = Bench().ready()
    b.upload([(TAKEOFF, 0, 0, 0, 0, None, None, 10.0), (WP, 0, 0, 0, 0, 20.0, 0.0, 10.0)])
    b.mode("GUIDED")
    b.cmd(M.MAV_CMD_COMPONENT_ARM_DISARM, 1)
    b.cmd(M.MAV_CMD_MISSION_START)
    b.run(60.0, until=lambda s: s.mission_state == M.MISSION_STATE_COMPLETE)
    assert b.snap.armed and b.snap.mode_name == "AUTO" and b.snap.north > 18.0  # holds at the end
    assert b.cmd(M.MAV_CMD_MISSION_START) == M.MAV_RESULT_ACCEPTED
    assert b.snap.mission_state == M.MISSION_STATE_ACTIVE and b.snap.mission_seq == 1
    b.run(60.0, until=lambda s: s.mission_state == M.MISSION_STATE_COMPLETE)
    assert [m.seq for m in b.of("MISSION_ITEM_REACHED")] == [1, 2, 1, 2]


def _guided_to(b: Bench, north: float, east: float, alt: float) -> list[tuple[float, float]]:
    """Fly there in GUIDED; the track flown (north, east)."""
    lat, lon = geo.offset(*HOME, north, east)
    b.send(M.MAVLink_set_position_target_global_int_message(
        0, 1, 1, REL, 0b110111111000, round(lat * 1e7), round(lon * 1e7), alt, 0, 0, 0, 0, 0, 0, 0, 0,
    ))  # fmt: skip
    track: list[tuple[float, float]] = []
    b.run(
        120,
        until=lambda s: track.append((s.north, s.east)) or math.hypot(s.north - north, s.east - east) < 1.0,
    )
    return track


def _off_polyline(p: tuple[float, float], line: list[tuple[float, float]]) -> float:
    best = math.inf
    for (an, ae), (bn, be) in itertools.pairwise(line):
        dn, de = bn - an, be - ae
        t = max(0.0, min(1.0, ((p[0] - an) * dn + (p[1] - ae) * de) / (dn * dn + de * de)))
        best = min(best, math.hypot(p[0] - an - t * dn, p[1] - ae - t * de))
    return best


def test_smart_rtl_flies_home_along_the_path_flown_and_lands() -> None:
    b = Bench(params={"WPNAV_SPEED": 800}).ready()
    b.takeoff(20.0)
    flown = [(0.0, 0.0), *_guided_to(b, 120.0, 0.0, 20.0)]
    flown += _guided_to(b, 120.0, 120.0, 20.0)  # an L: RTL would cut the corner by 85 m
    assert b.snap.srtl_points > 3  # the tester sees the way home being kept
    assert b.mode("SMART_RTL") == M.MAV_RESULT_ACCEPTED
    track = []
    for _ in range(200 * 50):
        b.run(DT)
        track.append((b.snap.north, b.snap.east, b.snap.alt_rel))
        if not b.snap.armed:
            break
    # within a few m of the track flown (the corners are cut a little, at 8 m/s), never the diagonal
    assert max(_off_polyline((n, e), flown) for n, e, _ in track) < 5.0
    assert min(math.hypot(n - 120.0, e) for n, e, _ in track) < 4.0  # through the corner
    assert min(a for n, e, a in track if math.hypot(n, e) > 10) > 17.0  # at the altitude flown
    assert not b.snap.armed and b.snap.landed and math.hypot(b.snap.north, b.snap.east) < 1.5


def test_smart_rtl_without_a_path_is_refused_and_its_failsafe_falls_back_to_rtl() -> None:
    b = Bench(params={"SRTL_POINTS": 0, "FS_GCS_TIMEOUT": 3}).ready()
    b.takeoff(10.0)
    assert b.mode("SMART_RTL") != M.MAV_RESULT_ACCEPTED and b.snap.mode_name == "GUIDED"
    assert "Mode change to SMART_RTL failed: init failed" in b.texts() and b.snap.srtl_points == 0
    b.core.params.set("FS_GCS_ENABLE", 3)
    b.send(M.MAVLink_heartbeat_message(6, 8, 0, 0, 0, 3))
    b.run(4.0)  # the GCS falls silent: SmartRTL or RTL
    assert b.snap.mode_name == "RTL"
    assert "SmartRTL Unavailable, Trying RTL Mode" in b.texts()


def test_a_failsafe_with_a_path_returns_by_smart_rtl_and_leaving_it_keeps_the_way_home() -> None:
    b = Bench(params={"FS_GCS_TIMEOUT": 3}).ready()
    b.takeoff(10.0)
    flown = [(0.0, 0.0), *_guided_to(b, 60.0, 0.0, 10.0), *_guided_to(b, 60.0, 60.0, 10.0)]
    b.core.params.set("FS_GCS_ENABLE", 4)
    b.send(M.MAVLink_heartbeat_message(6, 8, 0, 0, 0, 3))
    b.run(4.0)
    assert b.snap.mode_name == "SMART_RTL" and b.snap.fs_gcs
    b.run(60, until=lambda s: s.east < 30.0)
    assert b.mode("LOITER") == M.MAV_RESULT_ACCEPTED  # the operator takes over half way ...
    b.run(2.0)
    assert b.mode("SMART_RTL") == M.MAV_RESULT_ACCEPTED  # ... and hands back: the rest of the path
    track = []
    b.run(120, until=lambda s: track.append((s.north, s.east)) or not s.armed)
    assert max(_off_polyline(p, flown) for p in track) < 5.0
    assert b.snap.landed and math.hypot(b.snap.north, b.snap.east) < 1.5
