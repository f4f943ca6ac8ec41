"""The flight record both keepers share: fed one MAVLink message at a time, and the rule that
makes two records of one flight one."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from pymavlink.dialects.v20 import ardupilotmega as mav

import contract.mavlink  # noqa: F401  (MAVLink 2 before pymavlink's dialect)
from contract.flightlog import (
    FlightRecorder,
    VehicleClock,
    flight_from_feature,
    flight_id,
    record,
    same_flight,
)
from contract.geo import offset
from contract.mavlink import COPTER_MODES

HOME = (22.5431, 114.0579)
ARMED = 128


def heartbeat(mode: str, armed: bool, autopilot: int = mav.MAV_AUTOPILOT_ARDUPILOTMEGA):
    return mav.MAVLink_heartbeat_message(
        mav.MAV_TYPE_QUADROTOR, autopilot, ARMED if armed else 0, COPTER_MODES[mode], 4, 3
    )


def position(north_m: float, alt_m: float):
    lat, lon = offset(*HOME, north_m, 0.0)
    return mav.MAVLink_global_position_int_message(
        0, round(lat * 1e7), round(lon * 1e7), 0, round(alt_m * 1e3), 0, 0, 0, 0
    )


def battery(pct: int):
    return mav.MAVLink_sys_status_message(0, 0, 0, 0, 0, 0, pct, 0, 0, 0, 0, 0, 0)


def test_a_flight_is_recorded_from_the_autopilots_messages_alone() -> None:
    rec, t = FlightRecorder("d1"), 1_796_000_000.0
    feed = [
        battery(98), heartbeat("GUIDED", False), position(0, 0), heartbeat("GUIDED", True),
        mav.MAVLink_mission_current_message(1, total=3), *(position(n, 20) for n in range(0, 101, 10)),
        heartbeat("AUTO", True), mav.MAVLink_mission_item_reached_message(1),
        mav.MAVLink_statustext_message(mav.MAV_SEVERITY_WARNING, b"Fence Breached: Polygon"),
        mav.MAVLink_statustext_message(mav.MAV_SEVERITY_INFO, b"Reached command #2"),  # not a warning
        heartbeat("SMART_RTL", True), position(0, 0), battery(71), heartbeat("LAND", False),
    ]  # fmt: skip
    for k, msg in enumerate(feed):
        record(rec, msg, t + k)
    assert rec.armed_at == t + 3 and rec.disarmed_at == t + len(feed) - 1
    assert rec.mission_count == 3 and rec.reached == [1]
    assert [m for _, m in rec.modes] == ["GUIDED", "AUTO", "SMART_RTL", "LAND"]
    assert [w for _, w in rec.warnings] == ["Fence Breached: Polygon"]
    assert 195 < rec.distance_m < 205 and rec.max_alt_m == 20.0
    assert (rec.battery_start_pct, rec.battery_end_pct) == (98.0, 71.0)
    flight = flight_from_feature(rec.feature(), flight_id("d1", rec.armed_at))
    assert flight.flight_id == "d1-20261130T005323Z" and flight.battery_used_pct == 27.0
    assert [m.mode for m in flight.modes] == ["GUIDED", "AUTO", "SMART_RTL", "LAND"]
    assert flight.track[0] == flight.track[-1]  # home and back


def test_the_vehicle_s_gps_clock_times_a_keeper_whose_own_clock_is_wrong() -> None:
    """A field laptop an hour slow: SYSTEM_TIME ties the vehicle's boot clock to UTC, its stamped
    messages date the keeper's clock, and a reboot is not read as going back in time."""
    gps_utc, boot_s, laptop = 1_796_000_000.0, 100.0, 1_796_000_000.0 - 3600.0
    clock = VehicleClock()
    assert clock.utc(laptop) == laptop  # nothing from the vehicle yet: its own time
    clock.see(heartbeat("GUIDED", True), laptop)  # unstamped
    clock.see(position(0, 0), laptop)  # stamped, but no GPS time yet (time_boot_ms 0 here)
    assert clock.utc(laptop) == laptop
    clock.see(mav.MAVLink_system_time_message(0, round(boot_s * 1000)), laptop)  # no GPS time: 0
    assert clock.utc(laptop) == laptop
    clock.see(mav.MAVLink_system_time_message(round(gps_utc * 1e6), round(boot_s * 1000)), laptop)
    assert clock.utc(laptop) == gps_utc and clock.utc(laptop + 2.0) == gps_utc + 2.0
    # the simulator flies 4x: 10 s of the vehicle's time in 2.5 s of the laptop's
    pos = position(10, 20)
    pos.time_boot_ms = round((boot_s + 10.0) * 1000)
    clock.see(pos, laptop + 2.5)
    assert clock.utc(laptop + 2.5) == gps_utc + 10.0
    rebooted = position(0, 0)
    rebooted.time_boot_ms = 1500  # its boot clock starts again: the old tie would date it 1 min back
    clock.see(rebooted, laptop + 30.0)
    assert clock.utc(laptop + 30.0) == gps_utc + 37.5  # the skew of the last good stamp holds
    clock.see(mav.MAVLink_system_time_message(round((gps_utc + 31.0) * 1e6), 2000), laptop + 30.5)
    assert clock.utc(laptop + 30.5) == gps_utc + 31.0


def test_a_heartbeat_not_of_an_ardupilot_names_no_mode_but_still_arms() -> None:
    rec = FlightRecorder("d1")
    record(rec, heartbeat("AUTO", True, autopilot=mav.MAV_AUTOPILOT_PX4), 1.0)
    assert rec.flying and rec.modes == []


@given(st.floats(0, 1e4), st.floats(0.1, 1e4), st.floats(0, 1e4), st.floats(0.1, 1e4), st.booleans())
def test_two_records_are_one_flight_when_one_vehicle_is_in_the_air_in_both(
    a0: float, da: float, b0: float, db: float, same_vehicle: bool
) -> None:
    a, b = ("d1", a0, a0 + da), ("d1" if same_vehicle else "d2", b0, b0 + db)
    assert same_flight(a, b) == same_flight(b, a)  # whichever came first
    overlap = max(a0, b0) < min(a0 + da, b0 + db)
    assert same_flight(a, b) == (same_vehicle and overlap)
    here, there = (114.0, 22.5, 114.01, 22.51), (114.1, 22.5, 114.11, 22.51)  # two rivers
    assert same_flight(a, b, here, here) == same_flight(a, b) and not same_flight(a, b, here, there)
