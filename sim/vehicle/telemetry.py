"""MAVLink messages built from a :class:`~sim.vehicle.snapshot.Snapshot`, filled as ArduCopter fills them.

Pure: every builder takes a snapshot and returns a pymavlink message object (not yet packed).
Timestamps are simulated: ``time_boot_ms`` counts simulated milliseconds since boot, ``time_usec``
of GPS and SYSTEM_TIME is simulated UTC. Before the position estimate is good,
GLOBAL_POSITION_INT carries zeros, as ArduPilot's does before its EKF has an origin.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from pymavlink.dialects.v20 import ardupilotmega as mavlink2

from sim.vehicle.snapshot import Snapshot

M = mavlink2

#: ArduCopter 4.5.7, official release: (major << 24) | (minor << 16) | (patch << 8) | type.
FLIGHT_SW_VERSION = (4 << 24) | (5 << 16) | (7 << 8) | M.FIRMWARE_VERSION_TYPE_OFFICIAL
FW_STRING = "ArduCopter V4.5.7 (5a8e8c8d)"
FRAME_STRING = "Frame: QUAD/X"
GIT_HASH = b"5a8e8c8d"

CAPABILITIES = (
    M.MAV_PROTOCOL_CAPABILITY_MISSION_FLOAT
    | M.MAV_PROTOCOL_CAPABILITY_PARAM_FLOAT
    | M.MAV_PROTOCOL_CAPABILITY_MISSION_INT
    | M.MAV_PROTOCOL_CAPABILITY_COMMAND_INT
    | M.MAV_PROTOCOL_CAPABILITY_SET_POSITION_TARGET_LOCAL_NED
    | M.MAV_PROTOCOL_CAPABILITY_SET_POSITION_TARGET_GLOBAL_INT
    | M.MAV_PROTOCOL_CAPABILITY_SET_ATTITUDE_TARGET
    | M.MAV_PROTOCOL_CAPABILITY_FLIGHT_TERMINATION
    | M.MAV_PROTOCOL_CAPABILITY_COMPASS_CALIBRATION
    | M.MAV_PROTOCOL_CAPABILITY_MAVLINK2
    | M.MAV_PROTOCOL_CAPABILITY_MISSION_FENCE
    | M.MAV_PROTOCOL_CAPABILITY_MISSION_RALLY
)

S = M  # sensor bits live in the same namespace
SENSORS_PRESENT = (
    S.MAV_SYS_STATUS_SENSOR_3D_GYRO
    | S.MAV_SYS_STATUS_SENSOR_3D_ACCEL
    | S.MAV_SYS_STATUS_SENSOR_3D_MAG
    | S.MAV_SYS_STATUS_SENSOR_ABSOLUTE_PRESSURE
    | S.MAV_SYS_STATUS_SENSOR_GPS
    | S.MAV_SYS_STATUS_SENSOR_ANGULAR_RATE_CONTROL
    | S.MAV_SYS_STATUS_SENSOR_ATTITUDE_STABILIZATION
    | S.MAV_SYS_STATUS_SENSOR_YAW_POSITION
    | S.MAV_SYS_STATUS_SENSOR_Z_ALTITUDE_CONTROL
    | S.MAV_SYS_STATUS_SENSOR_XY_POSITION_CONTROL
    | S.MAV_SYS_STATUS_SENSOR_MOTOR_OUTPUTS
    | S.MAV_SYS_STATUS_AHRS
    | S.MAV_SYS_STATUS_LOGGING
    | S.MAV_SYS_STATUS_SENSOR_BATTERY
    | S.MAV_SYS_STATUS_PREARM_CHECK
)

EKF_GOOD = (
    M.EKF_ATTITUDE
    | M.EKF_VELOCITY_HORIZ
    | M.EKF_VELOCITY_VERT
    | M.EKF_POS_HORIZ_REL
    | M.EKF_POS_HORIZ_ABS
    | M.EKF_POS_VERT_ABS
    | M.EKF_PRED_POS_HORIZ_REL
    | M.EKF_PRED_POS_HORIZ_ABS
)
EKF_NO_POSITION = M.EKF_ATTITUDE | M.EKF_VELOCITY_VERT | M.EKF_POS_VERT_ABS | M.EKF_CONST_POS_MODE

UINT16_MAX = 65535


def _e7(deg: float) -> int:
    return round(deg * 1e7)


def _usec(s: Snapshot) -> int:
    return int(s.unix_time * 1e6)


def _hdg_cdeg(deg: float) -> int:
    return round(deg * 100.0) % 36000


def heartbeat(s: Snapshot) -> object:
    base = M.MAV_MODE_FLAG_STABILIZE_ENABLED | M.MAV_MODE_FLAG_MANUAL_INPUT_ENABLED
    base |= M.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
    if s.mode in (3, 4, 5, 6, 17):  # AUTO GUIDED LOITER RTL BRAKE
        base |= M.MAV_MODE_FLAG_GUIDED_ENABLED
    if s.armed:
        base |= M.MAV_MODE_FLAG_SAFETY_ARMED
    return M.MAVLink_heartbeat_message(
        M.MAV_TYPE_QUADROTOR, M.MAV_AUTOPILOT_ARDUPILOTMEGA, base, s.mode, s.system_status, 3
    )


def sys_status(s: Snapshot) -> object:
    # ArduPilot sets a health bit for everything that is not failing, present or not (the
    # geofence bit included: MAVProxy says "fence breach" when it is missing)
    health = SENSORS_PRESENT | S.MAV_SYS_STATUS_GEOFENCE
    if s.gps_fix_type < 3:
        health &= ~S.MAV_SYS_STATUS_SENSOR_GPS
    if not s.pos_ok:
        health &= ~(S.MAV_SYS_STATUS_AHRS | S.MAV_SYS_STATUS_SENSOR_XY_POSITION_CONTROL)
    if not s.prearm_ok:
        health &= ~S.MAV_SYS_STATUS_PREARM_CHECK
    if s.fs_battery:
        health &= ~S.MAV_SYS_STATUS_SENSOR_BATTERY
    enabled = SENSORS_PRESENT if s.armed else SENSORS_PRESENT & ~S.MAV_SYS_STATUS_SENSOR_MOTOR_OUTPUTS
    return M.MAVLink_sys_status_message(
        SENSORS_PRESENT,
        enabled,
        health,
        200,
        int(s.battery_voltage * 1000),
        int(s.battery_current * 100),
        round(s.battery_remaining_pct),
        0,
        min(s.comm_errors, UINT16_MAX),
        0,
        0,
        0,
        0,
    )


def gps_raw_int(s: Snapshot) -> object:
    fix = s.gps_fix_type >= 3
    speed = math.hypot(s.vn, s.ve)
    return M.MAVLink_gps_raw_int_message(
        _usec(s) if fix else 0,
        s.gps_fix_type,
        _e7(s.gps_lat),
        _e7(s.gps_lon),
        int(s.gps_alt_amsl * 1000),
        int(s.hdop * 100) if fix else UINT16_MAX,
        int(s.hdop * 150) if fix else UINT16_MAX,
        int(speed * 100),
        _hdg_cdeg(s.course) if speed > 0.5 else 0,
        s.satellites,
        int(s.gps_alt_amsl * 1000),
        int(s.hdop * 300) if fix else 0,
        int(s.hdop * 500) if fix else 0,
        40 if fix else 0,
        0,
        0,
    )


def global_position_int(s: Snapshot) -> object:
    if not s.origin_set:
        return M.MAVLink_global_position_int_message(s.time_boot_ms, 0, 0, 0, 0, 0, 0, 0, _hdg_cdeg(s.yaw))
    return M.MAVLink_global_position_int_message(
        s.time_boot_ms,
        _e7(s.est_lat),
        _e7(s.est_lon),
        int(s.est_alt_amsl * 1000),
        int(s.est_alt_rel * 1000),
        int(s.vn * 100),
        int(s.ve * 100),
        int(-s.vu * 100),
        _hdg_cdeg(s.yaw),
    )


def local_position_ned(s: Snapshot) -> object | None:
    if not s.origin_set:
        return None
    return M.MAVLink_local_position_ned_message(
        s.time_boot_ms, s.est_north, s.est_east, -s.est_up, s.vn, s.ve, -s.vu
    )


def attitude(s: Snapshot) -> object:
    yaw = math.radians((s.yaw + 180.0) % 360.0 - 180.0)
    r = math.radians
    return M.MAVLink_attitude_message(
        s.time_boot_ms, r(s.roll), r(s.pitch), yaw, r(s.roll_rate), r(s.pitch_rate), r(s.yaw_rate)
    )


def vfr_hud(s: Snapshot) -> object:
    return M.MAVLink_vfr_hud_message(
        s.airspeed,
        s.groundspeed,
        round(s.yaw) % 360,
        round(s.throttle_pct),
        s.est_alt_amsl if s.origin_set else s.alt_amsl,
        s.vu,
    )


def battery_status(s: Snapshot) -> object:
    volts = [UINT16_MAX] * 10
    volts[0] = min(int(s.battery_voltage * 1000), UINT16_MAX - 1)
    state = (
        M.MAV_BATTERY_CHARGE_STATE_CRITICAL
        if s.fs_battery == 2
        else M.MAV_BATTERY_CHARGE_STATE_LOW
        if s.fs_battery == 1
        else M.MAV_BATTERY_CHARGE_STATE_OK
    )
    current = max(s.battery_current, 0.01)
    remaining_s = int(3.6 * (s.battery_capacity_mah - s.battery_consumed_mah) / current)
    return M.MAVLink_battery_status_message(
        0,
        M.MAV_BATTERY_FUNCTION_UNKNOWN,
        M.MAV_BATTERY_TYPE_LIPO,
        32767,
        volts,
        int(s.battery_current * 100),
        int(s.battery_consumed_mah),
        int(s.battery_energy_wh * 36),
        round(s.battery_remaining_pct),
        max(0, remaining_s),
        state,
        [0, 0, 0, 0],
        0,
        0,
    )


def system_time(s: Snapshot) -> object:
    return M.MAVLink_system_time_message(_usec(s), s.time_boot_ms)


def home_position(s: Snapshot) -> object | None:
    if not s.home_set:
        return None
    return M.MAVLink_home_position_message(
        _e7(s.home_lat),
        _e7(s.home_lon),
        int(s.home_alt_amsl * 1000),
        s.home_north,
        s.home_east,
        -s.home_up,
        [1.0, 0.0, 0.0, 0.0],
        0.0,
        0.0,
        0.0,
        int(s.t * 1e6),
    )


def gps_global_origin(s: Snapshot) -> object | None:
    if not s.origin_set:
        return None
    return M.MAVLink_gps_global_origin_message(
        _e7(s.origin_lat), _e7(s.origin_lon), int(s.origin_alt_amsl * 1000), _usec(s)
    )


def mission_current(s: Snapshot) -> object:
    return M.MAVLink_mission_current_message(
        s.mission_seq, max(0, s.mission_count - 1), s.mission_state, 1 if s.mode == 3 else 0
    )


def nav_controller_output(s: Snapshot) -> object:
    return M.MAVLink_nav_controller_output_message(
        s.roll,
        s.pitch,
        round(s.yaw) % 360,
        round(s.target_bearing) % 360,
        min(int(s.wp_dist), UINT16_MAX),
        s.alt_error,
        0.0,
        s.xtrack_error,
    )


def ekf_status_report(s: Snapshot) -> object:
    flags = EKF_GOOD if s.pos_ok else EKF_NO_POSITION
    var = 0.05 + min(1.0, s.hdop / 10.0) if s.pos_ok else 1.2
    return M.MAVLink_ekf_status_report_message(flags, 0.02, var, 0.04, 0.03, 0.0, 0.0)


def power_status(s: Snapshot) -> object:
    return M.MAVLink_power_status_message(5000, 0, M.MAV_POWER_STATUS_BRICK_VALID)


def rc_channels(s: Snapshot) -> object:
    ch = [1500] * 18
    ch[2] = 1000  # no pilot: throttle stick low
    return M.MAVLink_rc_channels_message(s.time_boot_ms, 16, *ch, 255)


def servo_output_raw(s: Snapshot) -> object:
    pwm = 1000 + int(10 * s.throttle_pct) if s.armed else 1000
    return M.MAVLink_servo_output_raw_message(int(s.t * 1e6) & 0xFFFFFFFF, 0, pwm, pwm, pwm, pwm, 0, 0, 0, 0)


def extended_sys_state(s: Snapshot) -> object:
    if s.landed:
        landed = M.MAV_LANDED_STATE_ON_GROUND
    elif s.vu > 0.3 and s.alt_rel < 5.0:
        landed = M.MAV_LANDED_STATE_TAKEOFF
    elif s.mode == 9 or (s.vu < -0.3 and s.alt_rel < 5.0):
        landed = M.MAV_LANDED_STATE_LANDING
    else:
        landed = M.MAV_LANDED_STATE_IN_AIR
    return M.MAVLink_extended_sys_state_message(M.MAV_VTOL_STATE_UNDEFINED, landed)


def wind(s: Snapshot) -> object:
    return M.MAVLink_wind_message(s.wind_from, s.wind_speed, 0.0)


def raw_imu(s: Snapshot) -> object:
    g = 9.80665
    c, sn = math.cos(math.radians(s.yaw)), math.sin(math.radians(s.yaw))
    ax = s.accel_n * c + s.accel_e * sn
    ay = -s.accel_n * sn + s.accel_e * c
    milli_g = 1000.0 / g
    return M.MAVLink_raw_imu_message(
        int(s.t * 1e6),
        int(ax * milli_g),
        int(ay * milli_g),
        int(-(g + s.accel_u) * milli_g) if not s.landed else -1000,
        int(math.radians(s.roll_rate) * 1000),
        int(math.radians(s.pitch_rate) * 1000),
        int(math.radians(s.yaw_rate) * 1000),
        int(300 * c),
        int(-300 * sn),
        -400,
        0,
        0,
    )


def scaled_pressure(s: Snapshot) -> object:
    hpa = 1013.25 * (1.0 - 2.25577e-5 * s.alt_amsl) ** 5.25588
    return M.MAVLink_scaled_pressure_message(s.time_boot_ms, hpa, 0.0, 2500, 0)


def vibration(s: Snapshot) -> object:
    v = 0.02 if s.landed else 3.0 + 2.0 * min(1.0, abs(s.roll) / 20.0)
    return M.MAVLink_vibration_message(int(s.t * 1e6), v, v, v * 1.2, 0, 0, 0)


def autopilot_version(s: Snapshot) -> object:
    return M.MAVLink_autopilot_version_message(
        CAPABILITIES,
        FLIGHT_SW_VERSION,
        0,
        0,
        0,
        list(GIT_HASH),
        [0] * 8,
        [0] * 8,
        0,
        0,
        s.board_uid,
        [0] * 18,
    )


def mission_item_reached(seq: int) -> object:
    return M.MAVLink_mission_item_reached_message(seq)


def statustext(severity: int, text: str, chunk_id: int = 0) -> list:
    """STATUSTEXT, split into 50-byte chunks sharing ``chunk_id`` when longer (MAVLink 2)."""
    raw = text.encode("utf-8", "replace")
    if len(raw) <= 50:
        return [M.MAVLink_statustext_message(severity, raw, 0, 0)]
    parts = [raw[i : i + 50] for i in range(0, len(raw), 50)]
    return [M.MAVLink_statustext_message(severity, p, chunk_id, n) for n, p in enumerate(parts)]


BUILDERS: dict[int, Callable[[Snapshot], object | None]] = {
    M.MAVLINK_MSG_ID_HEARTBEAT: heartbeat,
    M.MAVLINK_MSG_ID_SYS_STATUS: sys_status,
    M.MAVLINK_MSG_ID_GPS_RAW_INT: gps_raw_int,
    M.MAVLINK_MSG_ID_GLOBAL_POSITION_INT: global_position_int,
    M.MAVLINK_MSG_ID_LOCAL_POSITION_NED: local_position_ned,
    M.MAVLINK_MSG_ID_ATTITUDE: attitude,
    M.MAVLINK_MSG_ID_VFR_HUD: vfr_hud,
    M.MAVLINK_MSG_ID_BATTERY_STATUS: battery_status,
    M.MAVLINK_MSG_ID_SYSTEM_TIME: system_time,
    M.MAVLINK_MSG_ID_HOME_POSITION: home_position,
    M.MAVLINK_MSG_ID_GPS_GLOBAL_ORIGIN: gps_global_origin,
    M.MAVLINK_MSG_ID_MISSION_CURRENT: mission_current,
    M.MAVLINK_MSG_ID_NAV_CONTROLLER_OUTPUT: nav_controller_output,
    M.MAVLINK_MSG_ID_EKF_STATUS_REPORT: ekf_status_report,
    M.MAVLINK_MSG_ID_POWER_STATUS: power_status,
    M.MAVLINK_MSG_ID_RC_CHANNELS: rc_channels,
    M.MAVLINK_MSG_ID_SERVO_OUTPUT_RAW: servo_output_raw,
    M.MAVLINK_MSG_ID_EXTENDED_SYS_STATE: extended_sys_state,
    M.MAVLINK_MSG_ID_WIND: wind,
    M.MAVLINK_MSG_ID_RAW_IMU: raw_imu,
    M.MAVLINK_MSG_ID_SCALED_PRESSURE: scaled_pressure,
    M.MAVLINK_MSG_ID_VIBRATION: vibration,
    M.MAVLINK_MSG_ID_AUTOPILOT_VERSION: autopilot_version,
}


def build(msg_id: int, s: Snapshot) -> object | None:
    """The message ``msg_id`` for this snapshot, or ``None`` if it cannot be sent now."""
    fn = BUILDERS.get(msg_id)
    return fn(s) if fn is not None else None
