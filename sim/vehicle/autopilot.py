"""Copter flight logic: modes, navigation, the mission executor, arming checks and failsafes.

Pure: :meth:`Autopilot.update` turns the estimated state into a velocity
:class:`~sim.vehicle.physics.Setpoint` and :class:`~sim.vehicle.physics.Limits` for the next
physics step; commands (arm, mode, takeoff, ...) are plain method calls returning whether they
were accepted. What a ground station would be told (STATUSTEXT, MISSION_ITEM_REACHED, home
changes) is queued in :attr:`Autopilot.events` for the MAVLink layer to drain.

Behaviour follows ArduCopter 4.5 where a client can see it:

* arming needs a good position estimate ("PreArm: Need Position Estimate", some tens of
  simulated seconds after boot, and never while the GPS has no fix) unless ``ARMING_CHECK=0``
  or the force code 21196; AUTO/RTL/LAND/BRAKE are not armable; arming resets home;
* disarmed, any mode may be selected; armed, position modes need a position estimate and AUTO
  needs a mission that starts with a takeoff when on the ground ("Auto: Missing Takeoff Cmd");
* armed on the ground without taking off for ``DISARM_DELAY`` s disarms; LAND disarms on touchdown;
* AUTO flies each leg's line (WPNav): the overshoot of a turn, a gust or a GPS jump is steered
  back onto the line from where the leg began, not carried diagonally to the waypoint;
* AUTO runs do-commands as soon as the nav command before them starts (ArduPilot's order),
  ``DO_JUMP`` repeats, ``DO_CHANGE_SPEED`` changes the speed until the mission is restarted;
  at the end of the mission it holds position (or disarms if it landed);
* RTL climbs to ``RTL_ALT`` (never descends), returns at ``RTL_SPEED``, hovers
  ``RTL_LOIT_TIME`` and lands (or stops at ``RTL_ALT_FINAL``);
* SMART_RTL retraces the path flown since arming (:mod:`sim.vehicle.smartrtl`) at the altitudes
  flown, to 2 m above home, then lands (or stops at ``RTL_ALT_FINAL``); with no path (armed
  without a position, or the path given up) it is refused ("init failed");
* failsafes: battery low/critical (voltage for ``BATT_LOW_TIMER`` s, or remaining mAh) -> the
  ``BATT_FS_*_ACT`` action; GCS heartbeat silence for ``FS_GCS_TIMEOUT`` -> the
  ``FS_GCS_ENABLE`` action; a lost position estimate in flight -> LAND, drifting with the wind.
  A SmartRTL action falls back to RTL (or LAND) when SmartRTL is refused, saying "SmartRTL
  Unavailable, Trying RTL Mode". Each disarms instead when landed, as ArduPilot does; a vehicle
  already returning (RTL, SMART_RTL) is left to return, one landing is left to land;
* the geofence (``FENCE_ENABLE``; :mod:`sim.vehicle.fence`): no arming outside it ("PreArm: Fence:
  vehicle outside the Polygon fence"); a breach in flight says "Fence Breached: Polygon" and runs
  ``FENCE_ACTION`` (RTL by default; 3 SmartRTL).

STABILIZE and ALT_HOLD have no pilot here (no RC): both hold altitude and drift with the wind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pymavlink.dialects.v20 import ardupilotmega as mavlink2

from contract import geo
from contract.mavlink import COPTER_MODES, fence_polygons, mode_name
from sim.vehicle import fence
from sim.vehicle.faults import GpsReading
from sim.vehicle.mission import FENCE, MissionItem, MissionStore
from sim.vehicle.params import ParamStore
from sim.vehicle.physics import Battery, Body, Limits, Setpoint
from sim.vehicle.smartrtl import Point, ReturnPath

M = mavlink2

STABILIZE = COPTER_MODES["STABILIZE"]
ALT_HOLD = COPTER_MODES["ALT_HOLD"]
AUTO = COPTER_MODES["AUTO"]
GUIDED = COPTER_MODES["GUIDED"]
LOITER = COPTER_MODES["LOITER"]
RTL = COPTER_MODES["RTL"]
LAND = COPTER_MODES["LAND"]
BRAKE = COPTER_MODES["BRAKE"]
SMART_RTL = COPTER_MODES["SMART_RTL"]

SIMULATED_MODES = frozenset({STABILIZE, ALT_HOLD, AUTO, GUIDED, LOITER, RTL, LAND, BRAKE, SMART_RTL})
POSITION_MODES = frozenset({AUTO, GUIDED, LOITER, RTL, BRAKE, SMART_RTL})
RETURNING = frozenset({RTL, SMART_RTL})
USER_TAKEOFF_MODES = frozenset({GUIDED, LOITER, ALT_HOLD})
FORCE_MAGIC = 21196

SEV_CRITICAL = M.MAV_SEVERITY_CRITICAL
#: How often the fences are checked, simulated s (ArduCopter's fence_check runs at 25 Hz).
FENCE_CHECK_S = 0.04
SEV_WARNING = M.MAV_SEVERITY_WARNING
SEV_INFO = M.MAV_SEVERITY_INFO

KP_POS = 1.0  # 1/s, position error -> velocity near a target
BRAKE_MARGIN = 0.6  # fraction of the acceleration limit planned for braking
PREARM_REPORT_S = 30.0


# --- state estimate -------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """The EKF's view: position/velocity in the local frame and whether it can be trusted."""

    north: float
    east: float
    up: float
    vn: float
    ve: float
    vu: float
    pos_ok: bool
    origin_set: bool


class Estimator:
    """EKF stand-in: good after ``ekf_ready_s``; follows GPS errors with a lag; drifts without fix.

    The autopilot navigates on this estimate, so a GPS jump moves the *true* vehicle the other
    way, as it does on a real copter.
    """

    TAU = 3.0  # s
    LOST_AFTER = 1.0  # s without fix until the position estimate is bad

    def __init__(self, ekf_ready_s: float) -> None:
        self.ekf_ready_s = ekf_ready_s
        self.off_n = self.off_e = self.off_u = 0.0
        self.no_fix_s = 0.0
        self.origin_set = False

    def update(self, dt: float, t: float, body: Body, gps: GpsReading) -> Estimate:
        if gps.fix:
            self.no_fix_s = 0.0
            k = min(1.0, dt / self.TAU)
            self.off_n += (gps.err_n - self.off_n) * k
            self.off_e += (gps.err_e - self.off_e) * k
            self.off_u += (0.3 * gps.err_u - self.off_u) * k
            if t >= self.ekf_ready_s:
                self.origin_set = True
        else:
            self.no_fix_s += dt
            self.off_n += 0.3 * dt  # dead reckoning walks off
            self.off_e += 0.1 * dt
        pos_ok = self.origin_set and t >= self.ekf_ready_s and self.no_fix_s < self.LOST_AFTER
        return Estimate(
            body.north + self.off_n,
            body.east + self.off_e,
            body.up + self.off_u,
            body.vn,
            body.ve,
            body.vu,
            pos_ok,
            self.origin_set,
        )


# --- navigation helpers ---------------------------------------------------------------------


def approach_speed(dist: float, speed: float, accel: float, end_speed: float = 0.0) -> float:
    """Speed towards a point ``dist`` away that can still slow to ``end_speed`` there."""
    if dist <= 0.0:
        return min(speed, end_speed)
    brake = math.sqrt(end_speed * end_speed + 2.0 * accel * BRAKE_MARGIN * dist)
    return max(0.0, min(speed, brake, end_speed + KP_POS * dist))


def vertical_speed(du: float, up: float, dn: float, accel: float) -> float:
    """Climb rate towards an altitude error ``du`` (m, positive = below target)."""
    mag = min(math.sqrt(2.0 * accel * BRAKE_MARGIN * abs(du)), KP_POS * abs(du))
    return min(up, mag) if du > 0 else -min(dn, mag)


def bearing(dn: float, de: float) -> float:
    return math.degrees(math.atan2(de, dn)) % 360.0


def turn_speed(
    speed: float,
    origin: tuple[float, ...],
    target: tuple[float, ...],
    nxt: tuple[float, ...],
    swing: tuple[float, float] | None = None,
) -> float:
    """Speed allowed through ``target`` on the way from ``origin`` to ``nxt`` (north, east
    first): full speed straight on, none for a right angle or sharper. ``swing`` (acceleration
    m/s/s, distance m) also keeps the overshoot sideways of the new leg within that distance."""
    in_n, in_e = target[0] - origin[0], target[1] - origin[1]
    out_n, out_e = nxt[0] - target[0], nxt[1] - target[1]
    li, lo = math.hypot(in_n, in_e), math.hypot(out_n, out_e)
    if li < 0.5 or lo < 0.5:
        return 0.0
    cos_turn = (in_n * out_n + in_e * out_e) / (li * lo)
    out = speed * max(0.0, cos_turn)
    sin_turn = math.sqrt(max(0.0, 1.0 - cos_turn * cos_turn))
    if swing is not None and sin_turn > 1e-3:  # sideways: (v sin)^2 / 2a within the distance
        out = min(out, math.sqrt(2.0 * swing[0] * BRAKE_MARGIN * swing[1]) / sin_turn)
    return out


@dataclass
class NavInfo:
    """What NAV_CONTROLLER_OUTPUT reports."""

    wp_dist: float = 0.0
    target_bearing: float = 0.0
    alt_error: float = 0.0
    xtrack_error: float = 0.0


@dataclass
class _Rtl:
    stage: str = "climb"  # climb, return, loiter, final, land, done
    alt: float = 0.0
    hold_n: float = 0.0
    hold_e: float = 0.0
    loiter_until: float = 0.0


@dataclass
class _SmartRtl:
    stage: str = "path"  # path, preland, then final (hold at RTL_ALT_FINAL) or land
    origin: Point = (0.0, 0.0, 0.0)  # where the leg to the target began
    target: Point | None = None  # the point popped off the path and not reached yet


@dataclass
class _Auto:
    cur: int = 0  # index of the current nav command (0: none yet)
    nav: MissionItem | None = None
    phase: str = "idle"  # idle, takeoff, goto, hold, land_goto, land, rtl, loiter, done
    target: tuple[float, float, float] = (0.0, 0.0, 0.0)
    origin: tuple[float, float] = (0.0, 0.0)
    hold_until: float = 0.0
    state: int = M.MISSION_STATE_NO_MISSION
    jumps: dict[int, int] = field(default_factory=dict)
    speed: float | None = None  # DO_CHANGE_SPEED, m/s
    version: int = -1


class Autopilot:
    """Modes, navigation, arming and failsafes of one simulated ArduCopter."""

    def __init__(
        self,
        params: ParamStore,
        store: MissionStore,
        origin: tuple[float, float, float],
        heading: float = 0.0,
    ) -> None:
        self.params = params
        self.store = store
        self.origin = origin  # lat, lon, alt AMSL of the EKF origin (boot location)
        self.boot_heading = heading
        self.mode = STABILIZE
        self.armed = False
        self.landed = True
        self.t = 0.0
        self.events: list[tuple] = []
        # home (local frame) -- set when the position estimate first becomes good, reset at arming
        self.home_set = False
        self.home_local = (0.0, 0.0, 0.0)
        # failsafes
        self.fs_batt = 0  # 0 none, 1 low, 2 critical
        self.fs_gcs = False
        self.fs_ekf = False
        self.fence_breached: list[str] = []  # the fences it was outside of at the last check
        self._fence_check_at = -math.inf  # sim time of the next fence check (FENCE_CHECK_S apart)
        self._fence: tuple[int, list] = (-1, [])  # (fence list revision, its polygons)
        self._low_v_since: float | None = None
        self._crit_v_since: float | None = None
        self.last_gcs_heartbeat: float | None = None
        self._glitching = False
        # navigation
        self.est: Estimate | None = None
        self.hold: tuple[float, float, float] | None = None  # position (or altitude) to hold
        self.guided_target: tuple[float, float, float] | None = None
        self.guided_yaw: float | None = None
        self.guided_speed: float | None = None
        self.takeoff_alt: float | None = None
        self.rtl = _Rtl()
        self.srtl = _SmartRtl()
        self.return_path = ReturnPath()
        self.auto = _Auto()
        self.nav = NavInfo()
        self._disarm_timer = 0.0
        self._last_prearm_report = -PREARM_REPORT_S
        self.crashed = False
        self._batt_v = 0.0

    # --- events -------------------------------------------------------------------------------

    def text(self, severity: int, text: str) -> None:
        self.events.append(("text", severity, text))

    def drain_events(self) -> list[tuple]:
        ev, self.events = self.events, []
        return ev

    # --- geometry -----------------------------------------------------------------------------

    def local_of(self, lat: float, lon: float) -> tuple[float, float]:
        return geo.to_local(self.origin[0], self.origin[1], lat, lon)

    def latlon_of(self, north: float, east: float) -> tuple[float, float]:
        return geo.offset(self.origin[0], self.origin[1], north, east)

    @property
    def home(self) -> tuple[float, float, float]:
        """Home as lat, lon, alt AMSL."""
        n, e, u = self.home_local
        lat, lon = self.latlon_of(n, e)
        return lat, lon, self.origin[2] + u

    def _set_home_local(self, n: float, e: float, u: float) -> None:
        self.home_local = (n, e, u)
        self.home_set = True
        self.store.home = self.home
        self.events.append(("home",))

    def set_home(self, lat: float, lon: float, alt_amsl: float) -> bool:
        if not self.home_set and self.est is None:
            return False
        n, e = self.local_of(lat, lon)
        self._set_home_local(n, e, alt_amsl - self.origin[2])
        return True

    def set_home_here(self) -> bool:
        if self.est is None or not self.est.pos_ok:
            return False
        self._set_home_local(self.est.north, self.est.east, self.est.up if not self.landed else 0.0)
        return True

    def item_target(self, item: MissionItem, est: Estimate) -> tuple[float, float, float]:
        """Local target of a location item: 0/0 means here, altitude 0 means the current one."""
        if item.x == 0 and item.y == 0:
            n, e = est.north, est.east
        else:
            n, e = self.local_of(item.lat, item.lon)
        if item.z == 0.0 and item.command != M.MAV_CMD_NAV_LAND:
            u = est.up
        elif item.absolute_alt:
            u = item.z - self.origin[2]
        else:
            u = item.z + self.home_local[2]
        return n, e, u

    # --- parameters in SI ---------------------------------------------------------------------

    def _p(self, name: str) -> float:
        return self.params[name]

    def wp_speed(self) -> float:
        if self.mode == AUTO and self.auto.speed is not None:
            return self.auto.speed
        if self.mode == GUIDED and self.guided_speed is not None:
            return self.guided_speed
        return max(0.2, self._p("WPNAV_SPEED") / 100.0)

    def limits(self) -> Limits:
        speed = self.wp_speed()
        if self.mode == LOITER:
            speed = max(0.2, self._p("LOIT_SPEED") / 100.0)
        elif self.mode == RTL and self._p("RTL_SPEED") > 0:
            speed = self._p("RTL_SPEED") / 100.0
        dn = max(self._p("WPNAV_SPEED_DN"), self._p("LAND_SPEED_HIGH"), self._p("LAND_SPEED"), 10.0) / 100.0
        return Limits(
            speed_xy=speed,
            accel_xy=max(0.1, self._p("WPNAV_ACCEL") / 100.0),
            speed_up=max(0.1, self._p("WPNAV_SPEED_UP") / 100.0),
            speed_dn=dn,
            accel_z=max(0.1, max(self._p("WPNAV_ACCEL_Z"), self._p("PILOT_ACCEL_Z")) / 100.0),
            yaw_rate=max(1.0, self._p("ATC_SLEW_YAW") / 100.0),
            angle_max=max(10.0, self._p("ANGLE_MAX") / 100.0),
        )

    # --- arming -------------------------------------------------------------------------------

    def prearm_failures(self) -> list[str]:
        """Failing pre-arm checks, as the STATUSTEXT after ``PreArm: `` would say."""
        if self._p("ARMING_CHECK") == 0:
            return []
        out = []
        if self.est is None or not self.est.pos_ok:
            out.append("Need Position Estimate")
        if self.fs_batt:
            out.append("Battery 1 low voltage failsafe")
        batt_arm = self._p("BATT_ARM_VOLT")
        if batt_arm > 0 and self._batt_v < batt_arm:
            out.append("Battery 1 below minimum arming voltage")
        # as of the last check, at most FENCE_CHECK_S ago; a fence turned off counts at once
        outside = self.fence_breached if self._p("FENCE_ENABLE") else []
        if outside:
            out.append(f"Fence: vehicle outside the {outside[0]} fence")
        return out

    def fence_breaches(self) -> list[str]:
        """The fences the vehicle is outside of now; none with FENCE_ENABLE 0 or no position."""
        if not self._p("FENCE_ENABLE") or self.est is None or not self.est.pos_ok:
            return []
        lat, lon = self.latlon_of(self.est.north, self.est.east)
        rev = self.store.revisions[FENCE]
        if self._fence[0] != rev:  # read the list again only when it changed, not every tick
            self._fence = (rev, fence_polygons(self.store.items(FENCE)))
        polys = self._fence[1]
        return fence.breaches(self._p, polys, self.home[:2], lat, lon, self.est.up - self.home_local[2])

    def arm(self, force: bool = False) -> bool:
        if self.armed:
            return True
        if not force:
            allowed = {STABILIZE, ALT_HOLD, GUIDED, LOITER}
            if int(self._p("AUTO_OPTIONS")) & 1:
                allowed.add(AUTO)
            if self.mode not in allowed:
                self.text(SEV_CRITICAL, f"Arm: Mode {mode_name(self.mode)} not armable")
                return False
            failures = self.prearm_failures()
            if failures:
                self.text(SEV_CRITICAL, f"PreArm: {failures[0]}")
                return False
        self.armed = True
        self._disarm_timer = 0.0
        self.crashed = False
        if self.est is not None and self.est.pos_ok and self.landed:
            self._set_home_local(self.est.north, self.est.east, 0.0)
        self.return_path = ReturnPath(self._p("SRTL_ACCURACY"), int(self._p("SRTL_POINTS")))
        pos_ok = self.est is not None and self.est.pos_ok
        said = self.return_path.start(self.t, self.home_local if self.landed else self._here(), pos_ok)
        if said:
            self.text(SEV_WARNING, said)
        self.events.append(("armed", True))
        if self.mode == AUTO:
            self._auto_start()
        return True

    def disarm(self, force: bool = False, reason: str = "") -> bool:
        if not self.armed:
            return True
        if not force and not self.landed:
            return False
        self.armed = False
        self.takeoff_alt = None
        self.events.append(("armed", False, reason))
        return True

    # --- modes --------------------------------------------------------------------------------

    def set_mode(self, mode: int, *, failsafe: bool = False) -> bool:
        """Change mode as ``Copter::set_mode`` does; texts say why it failed."""
        if mode not in COPTER_MODES.values():
            self.text(SEV_WARNING, f"No such mode {mode}")
            return False
        if mode not in SIMULATED_MODES:
            self.text(SEV_WARNING, f"Mode change to {mode_name(mode)} failed: not simulated")
            return False
        if mode == self.mode:
            return True
        ignore_checks = not self.armed or failsafe
        est = self.est
        if not ignore_checks and mode in POSITION_MODES and (est is None or not est.pos_ok):
            self.text(SEV_WARNING, f"Mode change to {mode_name(mode)} failed: requires position")
            return False
        if mode == AUTO and not ignore_checks:
            if self.store.count() <= 1:
                self.text(SEV_WARNING, "Mode change to AUTO failed: init failed")
                return False
            if self.landed and not self._starts_with_takeoff(self._resume_index()):
                self.text(SEV_CRITICAL, "Auto: Missing Takeoff Cmd")
                self.text(SEV_WARNING, "Mode change to AUTO failed: init failed")
                return False
        if mode == SMART_RTL and not (self.return_path.active and len(self.return_path)):
            self.text(SEV_WARNING, "Mode change to SMART_RTL failed: init failed")
            return False
        old = self.mode
        if old == SMART_RTL and self.srtl.stage == "path" and self.srtl.target is not None:
            self.return_path.put_back(self.srtl.target)  # not reached: still on the way home
        self.mode = mode
        self._enter(mode)
        self.events.append(("mode", old, mode))
        return True

    def _starts_with_takeoff(self, start: int = 1) -> bool:
        for item in self.store.items()[max(1, start) :]:
            if item.is_nav:
                return item.command == M.MAV_CMD_NAV_TAKEOFF
        return False

    def _resume_index(self) -> int:
        """Where AUTO (re)starts: 1 on MIS_RESTART, a finished or unstarted mission; else resume."""
        a = self.auto
        if self._p("MIS_RESTART") != 0 or a.state == M.MISSION_STATE_COMPLETE or a.cur < 1:
            return 1
        return min(a.cur, self.store.count() - 1)

    def _here(self) -> tuple[float, float, float]:
        est = self.est
        return (est.north, est.east, est.up) if est is not None else (0.0, 0.0, 0.0)

    def _enter(self, mode: int) -> None:
        self.guided_target = None
        self.guided_yaw = None
        self.guided_speed = None
        if mode != GUIDED:
            self.takeoff_alt = None
        here = self._here()
        if mode in (LOITER, GUIDED, ALT_HOLD, STABILIZE):
            self.hold = here
        elif mode == BRAKE:
            est = self.est
            a = max(0.5, self._p("WPNAV_ACCEL") / 100.0) * 2.0
            if est is not None:
                sp = math.hypot(est.vn, est.ve)
                k = sp / (2 * a)
                self.hold = (est.north + est.vn * k, est.east + est.ve * k, est.up)
            else:
                self.hold = here
        elif mode == RTL:
            self._rtl_start()
        elif mode == SMART_RTL:
            self.return_path.cleanup()
            self.srtl = _SmartRtl(origin=here, target=self.return_path.pop())
        elif mode == LAND:
            self.hold = here
        elif mode == AUTO:
            self._auto_start()

    # --- commands -----------------------------------------------------------------------------

    def takeoff(self, alt: float) -> bool:
        """``MAV_CMD_NAV_TAKEOFF`` outside AUTO: armed, landed, a takeoff-capable mode."""
        if not self.armed or not self.landed or self.mode not in USER_TAKEOFF_MODES:
            return False
        if self.mode != ALT_HOLD and (self.est is None or not self.est.pos_ok):
            return False
        n, e, _u = self._here()
        self.takeoff_alt = max(alt, 1.0) + self.home_local[2]
        self.hold = (n, e, self.takeoff_alt)
        self.guided_target = None
        self._disarm_timer = 0.0
        return True

    def goto(self, lat: float, lon: float, alt_rel: float | None) -> bool:
        """Fly to a point in GUIDED (``DO_REPOSITION``, ``SET_POSITION_TARGET_GLOBAL_INT``)."""
        if self.mode != GUIDED or not self.armed or self.landed:
            return False
        n, e = self.local_of(lat, lon)
        u = self._here()[2] if alt_rel is None else alt_rel + self.home_local[2]
        self.guided_target = (n, e, u)
        self.takeoff_alt = None
        return True

    def guided_item(self, item: MissionItem) -> bool:
        """A ``MISSION_ITEM(_INT)`` with ``current=2``: GUIDED fly-to, as ArduPilot."""
        if self.est is None or self.mode != GUIDED or not self.armed:
            return False
        n, e, u = self.item_target(item, self.est)
        self.guided_target = (n, e, u)
        return True

    def set_yaw(self, heading: float) -> bool:
        if self.mode != GUIDED or self.landed:
            return False
        self.guided_yaw = heading % 360.0
        return True

    def change_speed(self, speed: float) -> bool:
        if speed <= 0:
            return False
        if self.mode == AUTO:
            self.auto.speed = speed
        elif self.mode == GUIDED:
            self.guided_speed = speed
        else:
            return False
        return True

    def gcs_heartbeat(self, link_now: float) -> None:
        self.last_gcs_heartbeat = link_now

    # --- mission executor ---------------------------------------------------------------------

    def mission_start(self, first: int = 0) -> bool:
        """``MAV_CMD_MISSION_START``: AUTO, and start (or resume) the mission if it is not running."""
        if not self.set_mode(AUTO):
            return False
        if first > 0:
            return self.set_current(first)
        if self.armed and self.auto.state != M.MISSION_STATE_ACTIVE:
            self._auto_start()
        return True

    def set_current(self, seq: int) -> bool:
        items = self.store.items()
        if not 0 <= seq < len(items) or len(items) <= 1:
            return False
        seq = max(1, seq)
        a = self.auto
        a.jumps.clear()
        if self.mode == AUTO and self.armed:
            if not self._advance_from(seq, run_dos=True):
                self._mission_complete()
        else:
            a.cur = seq
            a.nav = None
            a.phase = "idle"
            a.state = M.MISSION_STATE_NOT_STARTED
        self.events.append(("mission_current",))
        return True

    def mission_changed(self) -> None:
        """The stored mission was replaced: keep flying from the same index if it still exists."""
        a = self.auto
        a.version = self.store.version
        n = self.store.count()
        a.jumps.clear()
        if n <= 1:
            a.cur, a.nav, a.phase, a.state = 0, None, "idle", M.MISSION_STATE_NO_MISSION
        elif self.mode == AUTO and self.armed and a.state == M.MISSION_STATE_ACTIVE:
            if not self._advance_from(min(max(1, a.cur), n - 1), run_dos=True):
                self._mission_complete()
        else:
            a.cur, a.nav, a.phase, a.state = 0, None, "idle", M.MISSION_STATE_NOT_STARTED
        self.events.append(("mission_current",))

    @property
    def mission_running(self) -> bool:
        return self.mode == AUTO and self.armed and self.auto.state == M.MISSION_STATE_ACTIVE

    def _auto_start(self) -> None:
        a = self.auto
        n = self.store.count()
        if n <= 1:
            a.state = M.MISSION_STATE_NO_MISSION
            return
        if not self.armed:
            return
        start = self._resume_index()
        if start == 1:
            a.jumps.clear()
            a.speed = None
        if not self._advance_from(start, run_dos=True):
            self._mission_complete()

    def _advance_from(self, idx: int, run_dos: bool) -> bool:
        """Start the first nav command at or after ``idx``; ``False`` when the mission ends."""
        a = self.auto
        items = self.store.items()
        guard = 0
        while idx < len(items):
            guard += 1
            if guard > 10000:
                break
            item = items[idx]
            if item.command == M.MAV_CMD_DO_JUMP:
                target, repeat = int(item.param1), int(item.param2)
                done = a.jumps.get(idx, 0)
                if 1 <= target < len(items) and (repeat < 0 or done < repeat):
                    a.jumps[idx] = done + 1
                    idx = target
                    run_dos = True
                else:
                    idx += 1
                continue
            if item.is_nav:
                self._start_nav(idx, item)
                j = idx + 1
                while j < len(items) and not items[j].is_nav and items[j].command != M.MAV_CMD_DO_JUMP:
                    self._do_command(items[j])
                    j += 1
                return True
            if run_dos:
                self._do_command(item)
            idx += 1
        return False

    def _do_command(self, item: MissionItem) -> None:
        self.text(SEV_INFO, f"Mission: {item.seq} {_cmd_name(item.command)}")
        if item.command == M.MAV_CMD_DO_CHANGE_SPEED:
            if item.param2 > 0:
                self.auto.speed = item.param2
            elif item.param2 == -2:
                self.auto.speed = None
        elif item.command == M.MAV_CMD_DO_SET_HOME:
            if item.param1 == 1:
                self.set_home_here()
            else:
                self.set_home(item.lat, item.lon, item.z if item.absolute_alt else item.z + self.home[2])

    def _start_nav(self, idx: int, item: MissionItem) -> None:
        a = self.auto
        est = self.est
        assert est is not None
        a.cur, a.nav, a.state = idx, item, M.MISSION_STATE_ACTIVE
        a.origin = (est.north, est.east)
        a.hold_until = 0.0
        self.text(SEV_INFO, f"Mission: {idx} {_cmd_name(item.command)}")
        self.events.append(("mission_current",))
        cmd = item.command
        if cmd == M.MAV_CMD_NAV_TAKEOFF:
            alt = item.z if not item.absolute_alt else item.z - self.home[2]
            a.target = (est.north, est.east, max(alt, 1.0) + self.home_local[2])
            a.phase = "takeoff"
        elif cmd == M.MAV_CMD_NAV_LAND:
            if item.x == 0 and item.y == 0:
                a.target = (est.north, est.east, est.up)
                a.phase = "land"
            else:
                n, e = self.local_of(item.lat, item.lon)
                a.target = (n, e, est.up)
                a.phase = "land_goto"
        elif cmd == M.MAV_CMD_NAV_RETURN_TO_LAUNCH:
            self._rtl_start()
            a.phase = "rtl"
        elif cmd in (
            M.MAV_CMD_NAV_WAYPOINT,
            M.MAV_CMD_NAV_SPLINE_WAYPOINT,
            M.MAV_CMD_NAV_LOITER_TIME,
            M.MAV_CMD_NAV_LOITER_UNLIM,
            M.MAV_CMD_NAV_LOITER_TURNS,
            M.MAV_CMD_NAV_LOITER_TO_ALT,
            M.MAV_CMD_NAV_PAYLOAD_PLACE,
        ):
            a.target = self.item_target(item, est)
            a.phase = "goto"
        elif cmd == M.MAV_CMD_NAV_DELAY:
            a.target = (est.north, est.east, est.up)
            a.hold_until = self.t + max(0.0, item.param1)
            a.phase = "hold"
        else:  # nav commands with nothing to fly (e.g. GUIDED_ENABLE): done at once
            a.target = (est.north, est.east, est.up)
            a.phase = "hold"

    def _hold_time(self, item: MissionItem) -> float:
        if item.command in (M.MAV_CMD_NAV_WAYPOINT, M.MAV_CMD_NAV_LOITER_TIME, M.MAV_CMD_NAV_SPLINE_WAYPOINT):
            return max(0.0, item.param1)
        if item.command == M.MAV_CMD_NAV_LOITER_TURNS:
            return max(0.0, item.param1) * 2 * math.pi * max(1.0, abs(item.param3)) / 2.0
        if item.command == M.MAV_CMD_NAV_LOITER_UNLIM:
            return math.inf
        return 0.0

    def _nav_complete(self) -> None:
        a = self.auto
        item = a.nav
        assert item is not None
        self.text(SEV_INFO, f"Reached command #{item.seq}")
        self.events.append(("reached", item.seq))
        if self.landed and not self.armed:
            self._mission_complete()
            return
        if not self._advance_from(a.cur + 1, run_dos=False):
            self._mission_complete()

    def _mission_complete(self) -> None:
        a = self.auto
        a.state = M.MISSION_STATE_COMPLETE
        a.phase = "done"
        a.nav = None
        self.hold = self._here()
        self.events.append(("mission_current",))
        if self.landed and self.armed:
            self.disarm(force=True, reason="mission complete")

    def _corner_speed(self, speed: float) -> float:
        """Speed allowed through the current waypoint, from the turn onto the next leg."""
        a = self.auto
        if a.nav is None or self._hold_time(a.nav) > 0:
            return 0.0
        items = self.store.items()
        nxt = next((it for it in items[a.cur + 1 :] if it.is_nav), None)
        if nxt is None or nxt.command not in (M.MAV_CMD_NAV_WAYPOINT, M.MAV_CMD_NAV_SPLINE_WAYPOINT):
            return 0.0
        if nxt.x == 0 and nxt.y == 0:
            return 0.0
        return turn_speed(speed, a.origin, a.target, self.local_of(nxt.lat, nxt.lon))

    def _run_auto(self, dt: float, est: Estimate) -> tuple[float, float, float, float | None]:
        a = self.auto
        if a.state != M.MISSION_STATE_ACTIVE or a.nav is None:
            return self._hold_position(est, self.hold or self._here())
        if a.version != self.store.version:
            a.version = self.store.version
        phase = a.phase
        if phase == "takeoff":
            tn, te, tu = a.target
            vn, ve, _vu, _ = self._goto(est, tn, te, est.up, self.wp_speed())
            vu = vertical_speed(tu - est.up, self._up(), self._dn(), self._az())
            self._nav_info(est, tn, te, tu)
            if est.up >= tu - 0.3 or abs(tu - est.up) < 0.3:
                self._nav_complete()
            return vn, ve, vu, None
        if phase in ("goto", "land_goto"):
            tn, te, tu = a.target
            speed = self.wp_speed()
            corner = self._corner_speed(speed) if phase == "goto" else 0.0
            vn, ve, vu, yaw = self._along(est, a.origin, a.target, speed, corner)
            d3 = math.sqrt((tn - est.north) ** 2 + (te - est.east) ** 2 + (tu - est.up) ** 2)
            radius = max(0.5, self._p("WPNAV_RADIUS") / 100.0)
            if phase == "land_goto":
                if math.hypot(tn - est.north, te - est.east) < 1.0:
                    a.phase = "land"
                    self.hold = (tn, te, est.up)
                return vn, ve, vu, yaw
            if d3 <= radius:
                hold = self._hold_time(a.nav)
                if hold <= 0:
                    self._nav_complete()
                else:
                    a.phase = "hold"
                    a.hold_until = self.t + hold
            return vn, ve, vu, yaw
        if phase == "hold":
            r = self._hold_position(est, a.target)
            if self.t >= a.hold_until:
                self._nav_complete()
            return r
        if phase == "land":
            tn, te, _ = a.target
            r = self._land_run(est, (tn, te))
            if self.landed:
                self._nav_complete()
            return r
        if phase == "rtl":
            r = self._rtl_run(est)
            if self.rtl.stage == "done" or (self.landed and self.rtl.stage == "land"):
                self._nav_complete()
            return r
        return self._hold_position(est, self.hold or self._here())

    # --- RTL and LAND -------------------------------------------------------------------------

    def _rtl_start(self) -> None:
        est = self.est
        n, e, u = self._here()
        home_alt = self.home_local[2]
        rtl_alt = home_alt + max(self._p("RTL_ALT") / 100.0, 0.0)
        target = max(rtl_alt, u + self._p("RTL_CLIMB_MIN") / 100.0, u)
        far = est is not None and math.hypot(n - self.home_local[0], e - self.home_local[1]) > 2.0
        self.rtl = _Rtl(stage="climb" if far else "loiter", alt=target if far else u, hold_n=n, hold_e=e)
        if not far:
            self.rtl.loiter_until = self.t + self._p("RTL_LOIT_TIME") / 1000.0

    def _rtl_run(self, est: Estimate) -> tuple[float, float, float, float | None]:
        r = self.rtl
        hn, he, hu = self.home_local
        if self.landed and r.stage in ("climb", "loiter") and not self.armed:
            r.stage = "done"
        if r.stage == "climb":
            vn, ve, _, _ = self._goto(est, r.hold_n, r.hold_e, est.up, self.wp_speed())
            vu = vertical_speed(r.alt - est.up, self._up(), self._dn(), self._az())
            self._nav_info(est, hn, he, r.alt)
            if est.up >= r.alt - 0.5:
                r.stage = "return"
            return vn, ve, vu, None
        if r.stage == "return":
            yaw_ok = self._p("WP_YAW_BEHAVIOR") not in (0, 2)
            vn, ve, vu, yaw = self._goto(est, hn, he, r.alt, self.limits().speed_xy)
            if math.hypot(hn - est.north, he - est.east) < max(1.0, self._p("WPNAV_RADIUS") / 100.0):
                r.stage = "loiter"
                r.loiter_until = self.t + self._p("RTL_LOIT_TIME") / 1000.0
            return vn, ve, vu, yaw if yaw_ok else None
        if r.stage == "loiter":
            out = self._hold_position(est, (hn, he, r.alt))
            if self.t >= r.loiter_until:
                final = self._p("RTL_ALT_FINAL") / 100.0
                r.stage = "final" if final > 0 else "land"
            return out
        if r.stage == "final":
            final = hu + self._p("RTL_ALT_FINAL") / 100.0
            out = self._hold_position(est, (hn, he, final))
            if abs(est.up - final) < 0.5:
                r.stage = "done"
            return out
        if r.stage == "land":
            return self._land_run(est, (hn, he))
        return self._hold_position(est, (hn, he, est.up))

    def _smart_rtl_run(self, est: Estimate) -> tuple[float, float, float, float | None]:
        """Fly the path back point by point, through each without stopping where it runs on
        straight; the last point (home) 2 m up, then land or hold at ``RTL_ALT_FINAL``."""
        s = self.srtl
        hn, he, hu = self.home_local
        if s.stage in ("path", "preland") and s.target is not None:
            tn, te, tu = s.target
            nxt = self.return_path.peek() if s.stage == "path" else None
            speed = self.wp_speed()
            corner = 0.0
            if nxt is not None:  # no faster through it than the next leg can stop in
                accel = max(0.1, self._p("WPNAV_ACCEL") / 100.0)
                stop = approach_speed(math.dist(s.target[:2], nxt[:2]), speed, accel)
                swing = (accel, max(0.5, self._p("SRTL_ACCURACY")))
                corner = min(turn_speed(speed, s.origin, s.target, nxt, swing), stop)
            vn, ve, vu, yaw = self._along(est, s.origin, s.target, speed, corner)
            radius = max(1.0, self._p("WPNAV_RADIUS") / 100.0)
            if math.dist((tn, te, tu), (est.north, est.east, est.up)) <= radius:
                if s.stage == "path":
                    s.origin, s.target = s.target, self.return_path.pop()
                    if s.target is None:  # that was home
                        s.stage, s.target = "preland", (tn, te, tu + 2.0)
                    elif not len(self.return_path):
                        s.stage, s.target = "preland", (s.target[0], s.target[1], s.target[2] + 2.0)
                else:
                    final = self._p("RTL_ALT_FINAL") / 100.0
                    s.stage = "final" if final > 0 else "land"
                    s.target = (tn, te, hu + final) if final > 0 else (tn, te, tu)
            yaw_ok = self._p("WP_YAW_BEHAVIOR") not in (0, 2)
            return vn, ve, vu, yaw if yaw_ok else None
        if s.stage == "final" and s.target is not None:
            return self._hold_position(est, s.target)
        if s.stage == "land":
            xy = (s.target[0], s.target[1]) if s.target is not None else (hn, he)
            return self._land_run(est, xy)
        return self._hold_position(est, self._here())

    def _land_run(
        self, est: Estimate, xy: tuple[float, float] | None
    ) -> tuple[float, float, float, float | None]:
        alt_low = self._p("LAND_ALT_LOW") / 100.0
        above = est.up - self.home_local[2]
        if above > alt_low:
            high = self._p("LAND_SPEED_HIGH")
            speed = (high if high > 0 else self._p("WPNAV_SPEED_DN")) / 100.0
        else:
            speed = self._p("LAND_SPEED") / 100.0
        speed = max(0.1, speed)
        if xy is None or not est.pos_ok:
            return math.nan, math.nan, -speed, None  # no position: drift
        vn, ve, _, _ = self._goto(est, xy[0], xy[1], est.up, self.wp_speed())
        return vn, ve, -speed, None

    # --- shared controllers -------------------------------------------------------------------

    def _up(self) -> float:
        return max(0.1, self._p("WPNAV_SPEED_UP") / 100.0)

    def _dn(self) -> float:
        return max(0.1, self._p("WPNAV_SPEED_DN") / 100.0)

    def _az(self) -> float:
        return max(0.1, self._p("WPNAV_ACCEL_Z") / 100.0)

    def _nav_info(self, est: Estimate, tn: float, te: float, tu: float) -> None:
        dn, de = tn - est.north, te - est.east
        self.nav.wp_dist = math.hypot(dn, de)
        self.nav.target_bearing = bearing(dn, de)
        self.nav.alt_error = tu - est.up
        # cross-track: distance of the vehicle from the line origin -> target
        on, oe = self.auto.origin if self.mode == AUTO else (est.north, est.east)
        ln, le = tn - on, te - oe
        length = math.hypot(ln, le)
        self.nav.xtrack_error = ((est.north - on) * le - (est.east - oe) * ln) / length if length > 1 else 0.0

    def _goto(
        self, est: Estimate, tn: float, te: float, tu: float, speed: float, end_speed: float = 0.0
    ) -> tuple[float, float, float, float | None]:
        dn, de = tn - est.north, te - est.east
        d = math.hypot(dn, de)
        accel = max(0.1, self._p("WPNAV_ACCEL") / 100.0)
        v = approach_speed(d, speed, accel, end_speed)
        vn, ve = (v * dn / d, v * de / d) if d > 1e-6 else (0.0, 0.0)
        vu = vertical_speed(tu - est.up, self._up(), self._dn(), self._az())
        self._nav_info(est, tn, te, tu)
        yaw = None
        behaviour = int(self._p("WP_YAW_BEHAVIOR"))
        if d > 2.0 and behaviour in (1, 2):
            yaw = bearing(dn, de)
        elif behaviour == 3 and math.hypot(est.vn, est.ve) > 1.0:
            yaw = bearing(est.vn, est.ve)
        return vn, ve, vu, yaw

    def _along(
        self, est: Estimate, origin: tuple[float, ...], target: Point, speed: float, end_speed: float
    ) -> tuple[float, float, float, float | None]:
        """Like :meth:`_goto`, but on the line from ``origin``: steer for a point a second ahead on
        it (at least 3 m), so a turn's overshoot is flown back onto the line, not carried to the
        far end of the leg; the speed still comes from the distance to ``target``."""
        vn, ve, vu, yaw = self._goto(est, *target, speed, end_speed)
        ln, le = target[0] - origin[0], target[1] - origin[1]
        length = math.hypot(ln, le)
        v = math.hypot(vn, ve)
        if length < 1.0 or v < 1e-6:
            return vn, ve, vu, yaw
        done = ((est.north - origin[0]) * ln + (est.east - origin[1]) * le) / length
        ahead = min(length, max(0.0, done) + max(3.0, speed))
        cn, ce = origin[0] + ln * ahead / length - est.north, origin[1] + le * ahead / length - est.east
        c = math.hypot(cn, ce)
        return (v * cn / c, v * ce / c, vu, yaw) if c > 1e-6 else (vn, ve, vu, yaw)

    def _hold_position(
        self, est: Estimate, target: tuple[float, float, float]
    ) -> tuple[float, float, float, float | None]:
        vn, ve, vu, _ = self._goto(est, target[0], target[1], target[2], self.limits().speed_xy)
        return vn, ve, vu, None

    # --- the step -----------------------------------------------------------------------------

    def update(
        self,
        dt: float,
        t: float,
        body: Body,
        est: Estimate,
        gps: GpsReading,
        battery: Battery,
        link_now: float,
    ) -> tuple[Setpoint, Limits]:
        self.t = t
        first_estimate = self.est is None or (not self.est.pos_ok and est.pos_ok and not self.home_set)
        self.est = est
        self._batt_v = battery.voltage
        self.landed = body.on_ground
        if body.crashed and not self.crashed:
            self.crashed = True
            self.text(SEV_CRITICAL, "Crash: Disarming")
            self.disarm(force=True, reason="crash")
        if first_estimate and est.pos_ok:
            self.text(SEV_INFO, "EKF3 IMU0 origin set")
            self.text(SEV_INFO, "EKF3 IMU0 is using GPS")
            self._set_home_local(est.north, est.east, 0.0)
            if self.hold is None:
                self.hold = (est.north, est.east, est.up)
        self._gps_texts(gps)
        self._check_battery(dt, battery)
        self._check_gcs(link_now)
        self._check_ekf(est)
        self._check_fence()
        self._prearm_report()
        if self.armed:
            said = self.return_path.update(
                t, (est.north, est.east, est.up), est.pos_ok, self.mode != SMART_RTL
            )
            if said:
                self.text(SEV_WARNING, said)

        vn = ve = vu = 0.0
        yaw: float | None = None
        if self.armed and not (self.landed and not self._wants_takeoff()):
            vn, ve, vu, yaw = self._run_mode(dt, est)
        elif self.armed and self.mode == AUTO and self.auto.state == M.MISSION_STATE_ACTIVE:
            vn, ve, vu, yaw = self._run_auto(dt, est)
            vu = max(vu, 0.0) if self._wants_takeoff() else 0.0
        elif self.armed and self.mode in (LAND, RTL, SMART_RTL) and self.landed:
            self.disarm(force=True, reason="landed")
        self._auto_disarm(dt)

        hold_xy = not (math.isnan(vn) or math.isnan(ve))
        if self.mode in (STABILIZE, ALT_HOLD):
            hold_xy = False
        if self.guided_yaw is not None and self.mode == GUIDED:
            yaw = self.guided_yaw
        sp = Setpoint(
            vel_n=vn if hold_xy else 0.0,
            vel_e=ve if hold_xy else 0.0,
            vel_u=vu,
            yaw=yaw,
            hold_xy=hold_xy,
            motors=self.armed,
        )
        return sp, self.limits()

    def _wants_takeoff(self) -> bool:
        if self.mode == AUTO:
            return self.auto.phase == "takeoff" and self.auto.state == M.MISSION_STATE_ACTIVE
        return self.takeoff_alt is not None and self.mode in USER_TAKEOFF_MODES

    def _run_mode(self, dt: float, est: Estimate) -> tuple[float, float, float, float | None]:
        mode = self.mode
        if mode == AUTO:
            return self._run_auto(dt, est)
        if mode == RTL:
            return self._rtl_run(est)
        if mode == SMART_RTL:
            return self._smart_rtl_run(est)
        if mode == LAND:
            hold = self.hold or self._here()
            return self._land_run(est, (hold[0], hold[1]))
        if mode in (STABILIZE, ALT_HOLD):
            alt = (self.hold or self._here())[2]
            if self.takeoff_alt is not None:
                alt = self.takeoff_alt
                if est.up >= alt - 0.3:
                    self.takeoff_alt = None
                    self.hold = (est.north, est.east, alt)
            return math.nan, math.nan, vertical_speed(alt - est.up, self._up(), self._dn(), self._az()), None
        if mode == GUIDED and self.guided_target is not None:
            tn, te, tu = self.guided_target
            vn, ve, vu, yaw = self._goto(est, tn, te, tu, self.wp_speed())
            return vn, ve, vu, yaw
        # GUIDED holding, LOITER, BRAKE (and takeoff in them)
        target = self.hold or self._here()
        if self.takeoff_alt is not None and est.up >= self.takeoff_alt - 0.3:
            self.takeoff_alt = None
        return self._hold_position(est, target)

    def _auto_disarm(self, dt: float) -> None:
        delay = self._p("DISARM_DELAY")
        if not self.armed or delay <= 0 or not self.landed or self._wants_takeoff():
            self._disarm_timer = 0.0
            return
        self._disarm_timer += dt
        if self._disarm_timer >= delay:
            self.disarm(force=True, reason="disarm delay")

    # --- failsafes ----------------------------------------------------------------------------

    def _failsafe(self, action: int, what: str) -> None:
        """Run a failsafe action in ArduCopter's ``BATT_FS_*_ACT`` numbering: 1 LAND, 2 and 6
        RTL, 3 SmartRTL or RTL, 4 SmartRTL or LAND, anything else: none. LAND overrides a
        return; a return leaves a vehicle returning or landing as it is."""
        if not self.armed:
            return
        if self.landed:
            self.disarm(force=True, reason=what)
            return
        if action == 1:
            if self.mode != LAND:
                self.set_mode(LAND, failsafe=True)
            return
        if action not in (2, 3, 4, 6) or self.mode in RETURNING or self.mode == LAND:
            return
        if action in (3, 4):
            if self.set_mode(SMART_RTL, failsafe=True):
                return
            if action == 4:
                self.text(SEV_WARNING, "SmartRTL Unavailable, Using Land Mode")
                self.set_mode(LAND, failsafe=True)
                return
            self.text(SEV_WARNING, "SmartRTL Unavailable, Trying RTL Mode")
        if not self.set_mode(RTL, failsafe=True) or self.est is None or not self.est.pos_ok:
            self.set_mode(LAND, failsafe=True)

    def _check_fence(self) -> None:
        """Every ``FENCE_CHECK_S`` (ArduCopter checks its fences at 25 Hz, not every tick): a new
        breach in flight says which fence, then runs ``FENCE_ACTION`` (1 RTL, 2 and 4 LAND, 3
        SmartRTL or RTL, 5 SmartRTL or LAND; 0 report only). Back inside, a later breach acts again."""
        if self.t < self._fence_check_at:
            return
        self._fence_check_at = self.t + FENCE_CHECK_S
        now = self.fence_breaches()
        new = [b for b in now if b not in self.fence_breached]
        self.fence_breached = now
        if not new or not self.armed or self.landed:
            return
        self.text(SEV_CRITICAL, f"Fence Breached: {', '.join(new)}")
        action = int(self._p("FENCE_ACTION"))
        if action:  # FENCE_ACTION -> _failsafe's numbering
            self._failsafe({1: 2, 3: 3, 5: 4}.get(action, 1), "fence")

    def _check_battery(self, dt: float, battery: Battery) -> None:
        def timed(volts: float, since: float | None) -> tuple[bool, float | None]:
            if volts <= 0 or battery.voltage >= volts:
                return False, None
            since = self.t if since is None else since
            return self.t - since >= self._p("BATT_LOW_TIMER"), since

        crit_v, self._crit_v_since = timed(self._p("BATT_CRT_VOLT"), self._crit_v_since)
        low_v, self._low_v_since = timed(self._p("BATT_LOW_VOLT"), self._low_v_since)
        crit_mah, low_mah = self._p("BATT_CRT_MAH"), self._p("BATT_LOW_MAH")
        critical = crit_v or (crit_mah > 0 and battery.remaining_mah < crit_mah)
        low = low_v or (low_mah > 0 and battery.remaining_mah < low_mah)
        level = 2 if critical else 1 if low else 0
        if level > self.fs_batt:
            self.fs_batt = level
            kind = "critical" if level == 2 else "low"
            self.text(
                SEV_WARNING,
                f"Battery 1 is {kind} {battery.voltage:.2f}V used {battery.consumed_mah:.0f} mAh",
            )
            action = self._p("BATT_FS_CRT_ACT" if level == 2 else "BATT_FS_LOW_ACT")
            self._failsafe(int(action), "battery")

    def _check_gcs(self, link_now: float) -> None:
        enabled = self._p("FS_GCS_ENABLE")
        last = self.last_gcs_heartbeat
        if enabled <= 0 or last is None:
            if self.fs_gcs:
                self.fs_gcs = False
            return
        silent = link_now - last > self._p("FS_GCS_TIMEOUT")
        if silent and not self.fs_gcs:
            self.fs_gcs = True
            if not self.armed:
                self.text(SEV_WARNING, "GCS Failsafe")
            elif self.landed:
                self.text(SEV_WARNING, "GCS Failsafe - Disarming")
                self.disarm(force=True, reason="GCS failsafe")
            else:
                self.text(SEV_WARNING, "GCS Failsafe")
                self._failsafe({3: 3, 4: 4, 5: 1}.get(int(enabled), 2), "GCS failsafe")
        elif not silent and self.fs_gcs:
            self.fs_gcs = False
            self.text(SEV_WARNING, "GCS Failsafe Cleared")

    def _check_ekf(self, est: Estimate) -> None:
        bad = est.origin_set and not est.pos_ok
        if bad and not self.fs_ekf and self.armed and not self.landed and self.mode in POSITION_MODES:
            self.fs_ekf = True
            self.text(SEV_CRITICAL, "EKF Failsafe: changed to LAND Mode")
            self.set_mode(LAND, failsafe=True)
        elif not bad and self.fs_ekf:
            self.fs_ekf = False
            self.text(SEV_CRITICAL, "EKF Failsafe Cleared")

    def _gps_texts(self, gps: GpsReading) -> None:
        if gps.glitching and not self._glitching:
            self.text(SEV_CRITICAL, "GPS Glitch or Compass error" if gps.fix else "GPS 1: lost fix")
        elif not gps.glitching and self._glitching:
            self.text(SEV_CRITICAL, "Glitch cleared")
        self._glitching = gps.glitching

    def _prearm_report(self) -> None:
        if self.armed or self.t - self._last_prearm_report < PREARM_REPORT_S or self.t < 5.0:
            return
        failures = self.prearm_failures()
        if failures:
            self._last_prearm_report = self.t
            self.text(SEV_CRITICAL, f"PreArm: {failures[0]}")

    @property
    def any_failsafe(self) -> bool:
        return bool(self.fs_batt or self.fs_gcs or self.fs_ekf)

    @property
    def mission_current(self) -> int:
        return self.auto.cur


_CMD_NAMES = {
    M.MAV_CMD_NAV_WAYPOINT: "WP",
    M.MAV_CMD_NAV_SPLINE_WAYPOINT: "SplineWP",
    M.MAV_CMD_NAV_TAKEOFF: "Takeoff",
    M.MAV_CMD_NAV_LAND: "Land",
    M.MAV_CMD_NAV_RETURN_TO_LAUNCH: "RTL",
    M.MAV_CMD_NAV_LOITER_TIME: "LoitTime",
    M.MAV_CMD_NAV_LOITER_UNLIM: "LoitUnlim",
    M.MAV_CMD_NAV_LOITER_TURNS: "LoitTurns",
    M.MAV_CMD_NAV_DELAY: "Delay",
    M.MAV_CMD_DO_CHANGE_SPEED: "ChangeSpeed",
    M.MAV_CMD_DO_JUMP: "Jump",
    M.MAV_CMD_DO_SET_HOME: "SetHome",
    M.MAV_CMD_DO_SET_ROI: "SetROI",
}


def _cmd_name(cmd: int) -> str:
    return _CMD_NAMES.get(cmd, f"Cmd{cmd}")
