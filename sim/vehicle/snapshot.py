"""One immutable view of the simulated vehicle at one physics step: truth, estimate and status.

The telemetry encoder reads it to build messages, and :meth:`SimVehicle.snapshot` hands the
latest one to tests and demos on other threads (it is frozen, so sharing it is safe). "Truth"
fields are where the vehicle really is; ``est_*`` fields are what the autopilot believes and
reports (they differ under GPS noise, glitches and before the estimate is good).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Snapshot:
    # clock
    t: float  #: simulated seconds since boot
    time_boot_ms: int
    unix_time: float  #: simulated UTC, seconds since the epoch
    sysid: int
    board_uid: int  #: AUTOPILOT_VERSION's uid: the flight controller's hardware id
    # status
    mode: int  #: Copter custom mode number
    mode_name: str
    armed: bool
    landed: bool
    crashed: bool
    system_status: int  #: MAV_STATE
    prearm_ok: bool
    fs_battery: int  #: 0 none, 1 low, 2 critical
    fs_gcs: bool
    fs_ekf: bool
    srtl_points: int  #: points on SmartRTL's way home; 0 when it has none (sim.vehicle.smartrtl)
    # truth
    lat: float
    lon: float
    alt_amsl: float
    alt_rel: float  #: metres above home
    north: float  #: metres from the EKF origin (boot location)
    east: float
    up: float
    vn: float
    ve: float
    vu: float
    groundspeed: float
    airspeed: float
    course: float
    roll: float  #: degrees
    pitch: float
    yaw: float  #: heading, degrees 0-360
    roll_rate: float  #: degrees per second
    pitch_rate: float
    yaw_rate: float
    accel_n: float
    accel_e: float
    accel_u: float
    throttle_pct: float
    # estimate (what the autopilot reports)
    pos_ok: bool
    origin_set: bool
    est_lat: float
    est_lon: float
    est_alt_amsl: float
    est_alt_rel: float
    est_north: float
    est_east: float
    est_up: float
    origin_lat: float  #: EKF origin (the boot location)
    origin_lon: float
    origin_alt_amsl: float
    # GPS receiver
    gps_fix_type: int
    gps_lat: float
    gps_lon: float
    gps_alt_amsl: float
    satellites: int
    hdop: float
    # battery
    battery_voltage: float
    battery_current: float
    battery_remaining_pct: float
    battery_consumed_mah: float
    battery_energy_wh: float
    battery_capacity_mah: float
    # air
    wind_n: float
    wind_e: float
    wind_speed: float
    wind_from: float
    # mission and navigation
    mission_seq: int
    mission_count: int
    mission_state: int
    wp_dist: float
    target_bearing: float
    alt_error: float
    xtrack_error: float
    # home
    home_set: bool
    home_lat: float
    home_lon: float
    home_alt_amsl: float
    home_north: float
    home_east: float
    home_up: float
    # links
    comm_errors: int
