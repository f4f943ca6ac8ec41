"""The parameter table: ArduPilot Copter names, types, units and defaults, and a typed store.

Only parameters the simulator reads (or that ground stations expect to find on an ArduCopter)
are listed; every listed one is served by the MAVLink parameter protocol in table order, so
``param_index``/``param_count`` are stable for a run. Values travel as floats (ArduPilot's
``PARAM_FLOAT`` capability: the value is cast, not byte-copied), integer types are rounded and
clamped to their range when set, as ArduPilot does.

Defaults follow ArduCopter 4.5 except where noted ``(sim)``: a 4S pack with enabled battery
failsafes and no RC input, which is what a patrol test bench wants.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum


class ParamType(IntEnum):
    """``MAV_PARAM_TYPE`` values ArduPilot uses."""

    INT8 = 2
    INT16 = 4
    INT32 = 6
    REAL32 = 9


_INT_RANGE = {
    ParamType.INT8: (-128, 127),
    ParamType.INT16: (-32768, 32767),
    ParamType.INT32: (-(2**31), 2**31 - 1),
}


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: ParamType
    default: float
    units: str = ""
    doc: str = ""
    readonly: bool = False


I8, I16, I32, F = ParamType.INT8, ParamType.INT16, ParamType.INT32, ParamType.REAL32

_STREAMS = {
    "RAW_SENS": "RAW_IMU, SCALED_PRESSURE",
    "EXT_STAT": "SYS_STATUS, POWER_STATUS, MISSION_CURRENT, GPS_RAW_INT, NAV_CONTROLLER_OUTPUT, ...",
    "RC_CHAN": "SERVO_OUTPUT_RAW, RC_CHANNELS",
    "RAW_CTRL": "(nothing on a multicopter)",
    "POSITION": "GLOBAL_POSITION_INT, LOCAL_POSITION_NED",
    "EXTRA1": "ATTITUDE",
    "EXTRA2": "VFR_HUD",
    "EXTRA3": "SYSTEM_TIME, BATTERY_STATUS, EKF_STATUS_REPORT, WIND, ...",
    "PARAMS": "(parameters are streamed as fast as the link allows)",
    "ADSB": "(no ADS-B receiver)",
}

PARAM_TABLE: tuple[ParamSpec, ...] = (
    ParamSpec("FORMAT_VERSION", I16, 120, doc="Parameter storage format.", readonly=True),
    ParamSpec("SYSID_THISMAV", I16, 1, doc="MAVLink system id of this vehicle."),
    ParamSpec("SYSID_MYGCS", I16, 255, doc="System id whose HEARTBEATs count for the GCS failsafe."),
    ParamSpec("FRAME_CLASS", I8, 1, doc="1: Quad."),
    ParamSpec("FRAME_TYPE", I8, 1, doc="1: X."),
    ParamSpec("ARMING_CHECK", I32, 1, doc="Pre-arm checks bitmask; 0 skips them all."),
    ParamSpec("DISARM_DELAY", I8, 10, "s", "Disarm after this long landed and armed; 0 never."),
    ParamSpec("AUTO_OPTIONS", I32, 0, doc="Bit 0: allow arming in AUTO."),
    ParamSpec("MIS_RESTART", I8, 0, doc="0: AUTO resumes the mission, 1: restarts it."),
    ParamSpec("WPNAV_SPEED", F, 1000, "cm/s", "Horizontal speed in AUTO/GUIDED."),
    ParamSpec("WPNAV_SPEED_UP", F, 250, "cm/s", "Climb rate in AUTO/GUIDED."),
    ParamSpec("WPNAV_SPEED_DN", F, 150, "cm/s", "Descent rate in AUTO/GUIDED."),
    ParamSpec("WPNAV_ACCEL", F, 250, "cm/s/s", "Horizontal acceleration in AUTO/GUIDED/RTL."),
    ParamSpec("WPNAV_ACCEL_Z", F, 100, "cm/s/s", "Vertical acceleration in AUTO/GUIDED/RTL."),
    ParamSpec("WPNAV_RADIUS", F, 200, "cm", "A waypoint is reached within this distance."),
    ParamSpec("PILOT_SPEED_UP", I16, 250, "cm/s", "Climb rate of takeoff and pilot modes."),
    ParamSpec("PILOT_SPEED_DN", I16, 0, "cm/s", "Pilot descent rate; 0 uses PILOT_SPEED_UP."),
    ParamSpec("PILOT_ACCEL_Z", I16, 250, "cm/s/s", "Vertical acceleration in pilot modes."),
    ParamSpec("LOIT_SPEED", F, 1250, "cm/s", "Horizontal speed limit in LOITER."),
    ParamSpec("ANGLE_MAX", I16, 3000, "cdeg", "Maximum lean angle."),
    ParamSpec("ATC_SLEW_YAW", F, 6000, "cdeg/s", "Maximum yaw rate of autonomous modes."),
    ParamSpec(
        "WP_YAW_BEHAVIOR", I8, 2, doc="0 keep, 1 face next wp, 2 face next wp except RTL, 3 along track."
    ),
    ParamSpec("RTL_ALT", I32, 1500, "cm", "RTL climbs to at least this altitude before returning."),
    ParamSpec("RTL_ALT_FINAL", I16, 0, "cm", "RTL final altitude above home; 0 lands."),
    ParamSpec("RTL_CLIMB_MIN", I16, 0, "cm", "RTL climbs at least this much."),
    ParamSpec("RTL_SPEED", I16, 0, "cm/s", "RTL return speed; 0 uses WPNAV_SPEED."),
    ParamSpec("RTL_LOIT_TIME", I32, 5000, "ms", "RTL hovers this long above home before landing."),
    ParamSpec(
        "SRTL_ACCURACY", F, 2, "m", "SmartRTL saves a point each time it moves this far; cleanup tolerance."
    ),
    ParamSpec("SRTL_POINTS", I16, 300, doc="SmartRTL path buffer, points (read at arming)."),
    ParamSpec("LAND_SPEED", I16, 50, "cm/s", "Final descent rate below LAND_ALT_LOW."),
    ParamSpec("LAND_SPEED_HIGH", I16, 0, "cm/s", "Descent rate above LAND_ALT_LOW; 0 uses WPNAV_SPEED_DN."),
    ParamSpec("LAND_ALT_LOW", I16, 1000, "cm", "Altitude where landing slows to LAND_SPEED."),
    ParamSpec("MOT_THST_HOVER", F, 0.35, doc="Throttle to hover (VFR_HUD throttle)."),
    ParamSpec("BATT_MONITOR", I8, 4, doc="4: analog voltage and current."),
    ParamSpec("BATT_CAPACITY", I32, 10000, "mAh", "Pack capacity (sim: 4S 10 Ah)."),
    ParamSpec("BATT_LOW_VOLT", F, 14.2, "V", "Low-battery failsafe voltage (sim: 4S); 0 disables."),
    ParamSpec("BATT_LOW_MAH", F, 0, "mAh", "Low-battery failsafe remaining capacity; 0 disables."),
    ParamSpec("BATT_LOW_TIMER", I8, 10, "s", "Voltage must stay low this long to trigger."),
    ParamSpec("BATT_CRT_VOLT", F, 13.4, "V", "Critical-battery failsafe voltage (sim: 4S); 0 disables."),
    ParamSpec("BATT_CRT_MAH", F, 0, "mAh", "Critical-battery failsafe remaining capacity; 0 disables."),
    ParamSpec(
        "BATT_FS_LOW_ACT",
        I8,
        2,
        doc="Low-battery action: 0 none, 1 LAND, 2 RTL, 3 SmartRTL or RTL, 4 SmartRTL or LAND.",
    ),
    ParamSpec(
        "BATT_FS_CRT_ACT", I8, 1, doc="Critical-battery action, as BATT_FS_LOW_ACT (sim default 1: LAND)."
    ),
    ParamSpec("BATT_ARM_VOLT", F, 0, "V", "Refuse to arm below this voltage; 0 disables."),
    ParamSpec(
        "FS_GCS_ENABLE",
        I8,
        0,
        doc="GCS failsafe: 0 off, 1 RTL, 3 SmartRTL or RTL, 4 SmartRTL or LAND, 5 LAND.",
    ),
    ParamSpec("FS_GCS_TIMEOUT", F, 5, "s", "GCS heartbeat silence that triggers the GCS failsafe."),
    ParamSpec("FS_EKF_ACTION", I8, 1, doc="EKF failsafe: 1 LAND, 3 LAND even in pilot modes."),
    ParamSpec("FS_THR_ENABLE", I8, 0, doc="Radio failsafe (sim: off, there is no RC)."),
    ParamSpec("FLTMODE_CH", I8, 5, doc="RC channel of the mode switch."),
    *(
        ParamSpec(f"FLTMODE{i}", I8, m, doc=f"Mode of switch position {i}.")
        for i, m in enumerate((0, 2, 5, 3, 6, 9), start=1)
    ),
    ParamSpec("FENCE_ENABLE", I8, 0, doc="Geofence: 1 enforce the fences of FENCE_TYPE (sim.vehicle.fence)."),
    ParamSpec("FENCE_TYPE", I8, 7, doc="Fences (bits): 1 max altitude, 2 circle around home, 4 polygons."),
    ParamSpec(
        "FENCE_ACTION",
        I8,
        1,
        doc="On a breach: 0 report, 1 RTL (else LAND), 2/4 LAND, 3 SmartRTL or RTL, 5 SmartRTL or LAND.",
    ),
    ParamSpec("FENCE_ALT_MAX", F, 100, "m", "Maximum altitude above home."),
    ParamSpec("FENCE_RADIUS", F, 300, "m", "Circle fence radius around home."),
    ParamSpec("GPS_TYPE", I8, 1, doc="1: auto."),
    ParamSpec("AHRS_EKF_TYPE", I8, 3, doc="3: EKF3."),
    ParamSpec("EK3_ENABLE", I8, 1),
    ParamSpec("COMPASS_USE", I8, 1),
    ParamSpec("SERIAL0_PROTOCOL", I8, 2, doc="2: MAVLink2."),
    ParamSpec("SERIAL0_BAUD", I32, 115, doc="kbaud (ignored on TCP)."),
    ParamSpec("SYSID_ENFORCE", I8, 0, doc="(not simulated)"),
    *(ParamSpec(f"SR0_{s}", I16, 0, "Hz", f"Stream rate of {what}.") for s, what in _STREAMS.items()),
    ParamSpec("SIM_WIND_SPD", F, 0, "m/s", "(sim) Mean wind speed."),
    ParamSpec("SIM_WIND_DIR", F, 0, "deg", "(sim) Direction the wind comes from."),
    ParamSpec("SIM_WIND_TURB", F, 0, "m/s", "(sim) Gust (turbulence) standard deviation."),
)

SPECS: dict[str, ParamSpec] = {p.name: p for p in PARAM_TABLE}


def coerce(spec: ParamSpec, value: float) -> float:
    """``value`` as the parameter's type stores it: integers rounded and clamped to range."""
    if not math.isfinite(value):
        raise ValueError(f"{spec.name}: {value} is not a finite number")
    if spec.type == ParamType.REAL32:
        return float(value)
    lo, hi = _INT_RANGE[spec.type]
    return float(min(hi, max(lo, round(value))))


class ParamStore:
    """Current values, in table order. Pure: no I/O; ``on_change`` callbacks see every change."""

    def __init__(self, overrides: dict[str, float] | None = None, specs: Iterable[ParamSpec] = PARAM_TABLE):
        self.specs: tuple[ParamSpec, ...] = tuple(specs)
        self._index = {p.name: i for i, p in enumerate(self.specs)}
        self._values = [coerce(p, p.default) for p in self.specs]
        self._listeners: list[Callable[[str, float], None]] = []
        for name, value in (overrides or {}).items():
            if name.upper() not in self._index:
                raise KeyError(f"unknown parameter {name!r} in the boot values")
            self.set(name, value, force=True)

    def __len__(self) -> int:
        return len(self.specs)

    def __contains__(self, name: str) -> bool:
        return name.upper() in self._index

    def __getitem__(self, name: str) -> float:
        return self._values[self._index[name.upper()]]

    def get(self, name: str, default: float = 0.0) -> float:
        i = self._index.get(name.upper())
        return default if i is None else self._values[i]

    def index(self, name: str) -> int:
        return self._index[name.upper()]

    def at(self, index: int) -> tuple[ParamSpec, float]:
        return self.specs[index], self._values[index]

    def spec(self, name: str) -> ParamSpec:
        return self.specs[self._index[name.upper()]]

    def on_change(self, fn: Callable[[str, float], None]) -> None:
        self._listeners.append(fn)

    def set(self, name: str, value: float, *, force: bool = False) -> float:
        """Store ``value`` coerced to the type; ``KeyError`` if unknown, ``PermissionError`` if read-only."""
        i = self._index[name.upper()]
        spec = self.specs[i]
        if spec.readonly and not force:
            raise PermissionError(f"{spec.name} is read-only")
        v = coerce(spec, value)
        if v != self._values[i]:
            self._values[i] = v
            for fn in self._listeners:
                fn(spec.name, v)
        return v

    def items(self) -> list[tuple[str, float]]:
        return [(p.name, v) for p, v in zip(self.specs, self._values, strict=True)]
