"""The whole simulated vehicle without I/O: MAVLink in, MAVLink out, one physics step at a time.

:class:`VehicleCore` glues the pure parts together: parameters, mission store and protocol,
autopilot, physics, battery, wind, GPS/estimator faults and the stream scheduler. The shell
(:mod:`sim.vehicle.server`) owns the clock and the sockets and calls just two methods:

* :meth:`VehicleCore.step` advances simulated time by ``dt`` and returns what to send
  (due telemetry, STATUSTEXTs, queued PARAM_VALUEs, mission-protocol retries);
* :meth:`VehicleCore.handle` takes one decoded message and returns the replies.

Both take ``link_now``: the clock of link timers (mission retries, GCS failsafe), which is
the wall clock or the simulated one depending on ``link_clock``. Because it is pure, tests can
drive a core directly, step by step, with no sockets and no threads.
"""

from __future__ import annotations

import logging
import math
import time
from collections import Counter, deque

from pymavlink.dialects.v20 import ardupilotmega as mavlink2

from contract import geo
from contract.mavlink import mode_name
from sim.settings import VehicleSettings
from sim.vehicle import telemetry
from sim.vehicle.autopilot import FORCE_MAGIC, GUIDED, LAND, RTL, Autopilot, Estimate, Estimator
from sim.vehicle.faults import FaultPlan, GpsReading, GpsSensor, rng_for
from sim.vehicle.mission import MissionProtocol, MissionStore
from sim.vehicle.params import ParamStore
from sim.vehicle.physics import Battery, Body, Wind, WindModel, current_draw, step
from sim.vehicle.snapshot import Snapshot
from sim.vehicle.streams import STREAMABLE, StreamScheduler

M = mavlink2
log = logging.getLogger("riverpatrol.sim.vehicle")

AUTOPILOT_COMPID = 1
PARAMS_PER_STEP = 10

_MISSION_MESSAGES = frozenset(
    {
        "MISSION_COUNT",
        "MISSION_ITEM",
        "MISSION_ITEM_INT",
        "MISSION_REQUEST_LIST",
        "MISSION_REQUEST",
        "MISSION_REQUEST_INT",
        "MISSION_CLEAR_ALL",
        "MISSION_ACK",
    }
)

#: What ArduPilot prints while it boots (nobody is usually connected to see it).
_BOOT_TEXTS = (
    (0.0, M.MAV_SEVERITY_INFO, telemetry.FW_STRING),
    (0.0, M.MAV_SEVERITY_INFO, telemetry.FRAME_STRING),
    (0.5, M.MAV_SEVERITY_INFO, "AHRS: EKF3 active"),
    (1.0, M.MAV_SEVERITY_INFO, "EKF3 IMU0 initialised"),
    (2.0, M.MAV_SEVERITY_INFO, "EKF3 IMU0 tilt alignment complete"),
    (3.0, M.MAV_SEVERITY_INFO, "EKF3 IMU0 MAG0 initial yaw alignment complete"),
)


class VehicleCore:
    """One simulated ArduCopter; see the module docstring."""

    def __init__(self, settings: VehicleSettings, boot_unix: float | None = None) -> None:
        s = settings
        self.settings = s
        overrides = {"SYSID_THISMAV": s.sysid, "SIM_WIND_SPD": s.wind_speed, "SIM_WIND_DIR": s.wind_dir}
        overrides["SIM_WIND_TURB"] = s.wind_gust
        overrides.update(s.params)
        self.params = ParamStore(overrides)
        self.origin = (s.home_lat, s.home_lon, s.home_alt)
        self.store = MissionStore(home=self.origin)
        self.ap = Autopilot(self.params, self.store, self.origin, s.home_heading)
        self.protocol = MissionProtocol(
            self.store,
            request_mode=s.mission_request,
            can_clear=lambda: not self.ap.mission_running,
            on_change=self._mission_changed,
            on_guided_item=self.ap.guided_item,
            texts=self.ap.text,
        )
        self.streams = StreamScheduler(self.params)
        self.plan = FaultPlan.from_settings(s)
        self.gps_sensor = GpsSensor(self.plan, s.gps_noise_m, s.seed)
        self.estimator = Estimator(s.ekf_ready_s)
        self.wind_model = WindModel(
            self.params["SIM_WIND_SPD"],
            self.params["SIM_WIND_DIR"],
            self.params["SIM_WIND_TURB"],
            rng=rng_for(s.seed, "wind"),
        )
        self.body = Body(yaw=s.home_heading % 360.0)
        self.battery = Battery(capacity_mah=self.params["BATT_CAPACITY"])
        self.params.on_change(self._param_changed)
        self.t = 0.0
        if boot_unix is None:
            boot_unix = s.start_time.timestamp() if s.start_time is not None else time.time()
        self.boot_unix = boot_unix
        self.wind = Wind()
        self.gps = GpsReading(fix=True)
        self.est = Estimate(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, False, False)
        self.param_queue: deque[int] = deque()
        self.comm_errors = 0
        self.stats: Counter[str] = Counter()
        self._boot_texts = list(_BOOT_TEXTS)
        self._text_id = 0
        self._prev_att = (0.0, 0.0)
        self._rates = (0.0, 0.0)
        self.snapshot: Snapshot = self._make_snapshot()

    # --- identity -------------------------------------------------------------------------

    @property
    def sysid(self) -> int:
        return int(self.params["SYSID_THISMAV"])

    # --- reactions to parameter and mission changes ---------------------------------------

    def _param_changed(self, name: str, value: float) -> None:
        if name == "BATT_CAPACITY":
            self.battery.capacity_mah = value
        elif name == "SIM_WIND_SPD":
            self.wind_model.set(speed=value)
        elif name == "SIM_WIND_DIR":
            self.wind_model.set(from_deg=value)
        elif name == "SIM_WIND_TURB":
            self.wind_model.set(gust_std=value)

    def _mission_changed(self, mission_type: int) -> None:
        if mission_type == M.MAV_MISSION_TYPE_MISSION:
            self.ap.mission_changed()
            log.info("mission stored", extra={"fields": {"items": self.store.count()}})

    # --- the step -------------------------------------------------------------------------

    def step(self, dt: float, link_now: float) -> list:
        """Advance ``dt`` simulated seconds; the messages to send now."""
        self.t += dt
        t = self.t
        out: list = []
        while self._boot_texts and self._boot_texts[0][0] <= t:
            _, sev, text = self._boot_texts.pop(0)
            self.ap.text(sev, text)
        self.wind = self.wind_model.step(dt)
        self.gps = self.gps_sensor.update(dt, t)
        self.est = self.estimator.update(dt, t, self.body, self.gps)
        sp, lim = self.ap.update(dt, t, self.body, self.est, self.gps, self.battery, link_now)
        step(self.body, dt, sp, self.wind, lim)
        sag_v, sag_a = self.plan.battery_sag(t)
        amps = current_draw(self.body, self.settings.hover_current_a, self.ap.armed)
        self.battery.step(dt, amps + (sag_a if self.ap.armed else 0.0), sag_v)
        roll, pitch = self.body.roll, self.body.pitch
        self._rates = ((roll - self._prev_att[0]) / dt, (pitch - self._prev_att[1]) / dt)
        self._prev_att = (roll, pitch)
        self.snapshot = self._make_snapshot()
        out.extend(self._drain_events())
        snap = self.snapshot
        for mid in self.streams.due(t):
            m = telemetry.build(mid, snap)
            if m is not None:
                out.append(m)
        for _ in range(PARAMS_PER_STEP):
            if not self.param_queue:
                break
            out.append(self._param_value(self.param_queue.popleft()))
        out.extend(self.protocol.tick(link_now))
        return out

    # --- incoming -------------------------------------------------------------------------

    def handle(self, msg, link_now: float) -> list:
        """Replies to one decoded message (from any link)."""
        mtype = msg.get_type()
        if mtype == "BAD_DATA":
            self.comm_errors += 1
            return []
        self.stats["rx_" + mtype] += 1
        # routed elsewhere, as ArduPilot's router decides: another system, or another component
        # of ours (a camera, a gimbal) that this autopilot must not answer for
        if getattr(msg, "target_system", 0) not in (0, self.sysid):
            return []
        if getattr(msg, "target_component", 0) not in (0, AUTOPILOT_COMPID):
            return []
        if mtype in _MISSION_MESSAGES:
            out = self.protocol.handle(msg, link_now)
        else:
            h = getattr(self, "_on_" + mtype.lower(), None)
            out = h(msg, link_now) if h is not None else []
        events = self._drain_events()
        return out + events

    def _drain_events(self) -> list:
        out: list = []
        for ev in self.ap.drain_events():
            kind = ev[0]
            if kind == "text":
                out.extend(self._text(ev[1], ev[2]))
            elif kind == "reached":
                out.append(telemetry.mission_item_reached(ev[1]))
            elif kind == "mission_current":
                self.snapshot = self._make_snapshot()
                out.append(telemetry.mission_current(self.snapshot))
            elif kind == "home":
                self.snapshot = self._make_snapshot()
                for m in (telemetry.home_position(self.snapshot), telemetry.gps_global_origin(self.snapshot)):
                    if m is not None:
                        out.append(m)
                lat, lon, alt = self.ap.home
                log.info(
                    "home set", extra={"fields": {"lat": round(lat, 7), "lon": round(lon, 7), "alt": alt}}
                )
            elif kind == "armed":
                self.snapshot = self._make_snapshot()
                fields = {"armed": ev[1], "t": round(self.t, 2)}
                if len(ev) > 2 and ev[2]:
                    fields["reason"] = ev[2]
                log.info("armed" if ev[1] else "disarmed", extra={"fields": fields})
            elif kind == "mode":
                self.snapshot = self._make_snapshot()
                log.info(
                    "mode",
                    extra={
                        "fields": {"from": mode_name(ev[1]), "to": mode_name(ev[2]), "t": round(self.t, 2)}
                    },
                )
        return out

    def _text(self, severity: int, text: str) -> list:
        log.info("statustext", extra={"fields": {"severity": severity, "text": text, "t": round(self.t, 2)}})
        if len(text.encode()) > 50:
            self._text_id = self._text_id % 65535 + 1
        return telemetry.statustext(severity, text, self._text_id)

    def _ack(self, msg, command: int, result: int) -> object:
        return M.MAVLink_command_ack_message(
            command, result, 0, 0, msg.get_srcSystem(), msg.get_srcComponent()
        )

    # --- message handlers -----------------------------------------------------------------

    def _on_heartbeat(self, msg, link_now: float) -> list:
        if msg.get_srcSystem() == int(self.params["SYSID_MYGCS"]):
            self.ap.gcs_heartbeat(link_now)
        return []

    def _on_param_request_list(self, msg, link_now: float) -> list:
        self.param_queue = deque(range(len(self.params)))
        return self._text(M.MAV_SEVERITY_INFO, telemetry.FW_STRING) + self._text(
            M.MAV_SEVERITY_INFO, telemetry.FRAME_STRING
        )

    def _param_value(self, index: int, reply_index: int | None = None) -> object:
        spec, value = self.params.at(index)
        return M.MAVLink_param_value_message(
            spec.name.encode(),
            value,
            int(spec.type),
            len(self.params),
            index if reply_index is None else reply_index,
        )

    def _on_param_request_read(self, msg, link_now: float) -> list:
        if msg.param_index >= 0:
            if msg.param_index < len(self.params):
                return [self._param_value(msg.param_index)]
            self.stats["param_unknown"] += 1
            return []
        name = _param_name(msg.param_id)
        if name not in self.params:
            self.stats["param_unknown"] += 1
            return []
        return [self._param_value(self.params.index(name))]

    def _on_param_set(self, msg, link_now: float) -> list:
        name = _param_name(msg.param_id)
        if name not in self.params or not math.isfinite(msg.param_value):
            self.stats["param_unknown"] += 1
            log.warning("PARAM_SET ignored", extra={"fields": {"name": name, "value": msg.param_value}})
            return []
        idx = self.params.index(name)
        try:
            value = self.params.set(name, msg.param_value)
        except PermissionError:
            return [
                *self._text(M.MAV_SEVERITY_WARNING, f"Param write denied ({name})"),
                self._param_value(idx, 65535),
            ]
        log.info("param set", extra={"fields": {"name": name, "value": value}})
        return [self._param_value(idx, 65535)]

    def _on_request_data_stream(self, msg, link_now: float) -> list:
        self.streams.request_data_stream(msg.req_stream_id, msg.req_message_rate, bool(msg.start_stop))
        return []

    def _on_set_mode(self, msg, link_now: float) -> list:
        if msg.base_mode & M.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED:
            ok = self.ap.set_mode(int(msg.custom_mode))
        else:
            ok = False
        # ArduPilot acks the SET_MODE *message* with a COMMAND_ACK whose command is its message id
        return [
            self._ack(msg, M.MAVLINK_MSG_ID_SET_MODE, M.MAV_RESULT_ACCEPTED if ok else M.MAV_RESULT_FAILED)
        ]

    def _on_mission_set_current(self, msg, link_now: float) -> list:
        self.ap.set_current(msg.seq)
        self.snapshot = self._make_snapshot()
        return [telemetry.mission_current(self.snapshot)]

    def _on_timesync(self, msg, link_now: float) -> list:
        if msg.tc1 != 0:
            return []
        return [M.MAVLink_timesync_message(int(self.t * 1e9), msg.ts1)]

    def _on_file_transfer_protocol(self, msg, link_now: float) -> list:
        """MAVLink FTP is not simulated: answer at once, so clients fall back without waiting.

        MAVProxy tries ``@PARAM/param.pck`` over FTP before PARAM_REQUEST_LIST; a NAK
        (FileNotFound to opens, UnknownCommand otherwise; ACK to session resets) ends that
        attempt immediately instead of after its timeout. AUTOPILOT_VERSION does not claim FTP.
        """
        p = bytes(msg.payload)
        if len(p) < 12:
            return []
        seq = p[0] | (p[1] << 8)
        session, opcode = p[2], p[3]
        reply = bytearray(251)
        reply[0:2] = ((seq + 1) & 0xFFFF).to_bytes(2, "little")
        reply[2], reply[5] = session, opcode
        if opcode in (1, 2):  # TerminateSession, ResetSessions
            reply[3], reply[4] = 128, 0  # ACK
        else:
            reply[3], reply[4] = 129, 1  # NAK, one byte of error code
            reply[12] = 10 if opcode in (3, 4, 6, 7) else 7  # FileNotFound / UnknownCommand
        return [
            M.MAVLink_file_transfer_protocol_message(
                0, msg.get_srcSystem(), msg.get_srcComponent(), list(reply)
            )
        ]

    def _on_set_position_target_global_int(self, msg, link_now: float) -> list:
        if msg.type_mask & 0b111:  # position ignored: velocity/acceleration targets are not simulated
            return []
        frame = msg.coordinate_frame
        alt = msg.alt
        if frame in (M.MAV_FRAME_GLOBAL, M.MAV_FRAME_GLOBAL_INT):
            alt = alt - self.ap.home[2]
        self.ap.goto(msg.lat_int / 1e7, msg.lon_int / 1e7, alt)
        return []

    def _on_command_long(self, msg, link_now: float) -> list:
        p = (msg.param1, msg.param2, msg.param3, msg.param4, msg.param5, msg.param6, msg.param7)
        return self._command(msg, msg.command, p, None, link_now)

    def _on_command_int(self, msg, link_now: float) -> list:
        p = (msg.param1, msg.param2, msg.param3, msg.param4, msg.x / 1e7, msg.y / 1e7, msg.z)
        return self._command(msg, msg.command, p, msg.frame, link_now)

    # --- commands -------------------------------------------------------------------------

    def _command(self, msg, cmd: int, p: tuple, frame: int | None, link_now: float) -> list:
        ok, no = M.MAV_RESULT_ACCEPTED, M.MAV_RESULT_FAILED
        extra: list = []
        ap = self.ap
        if cmd == M.MAV_CMD_COMPONENT_ARM_DISARM:
            force = round(p[1]) == FORCE_MAGIC
            result = ok if (ap.arm(force) if p[0] == 1 else ap.disarm(force, "command")) else no
        elif cmd == M.MAV_CMD_NAV_TAKEOFF:
            result = ok if ap.takeoff(p[6]) else no
        elif cmd == M.MAV_CMD_MISSION_START:
            result = ok if ap.mission_start(int(p[0])) else no
        elif cmd == M.MAV_CMD_NAV_RETURN_TO_LAUNCH:
            result = ok if ap.set_mode(RTL) else no
        elif cmd == M.MAV_CMD_NAV_LAND:
            result = ok if ap.set_mode(LAND) else no
        elif cmd == M.MAV_CMD_DO_SET_MODE:
            base, custom = int(p[0]), int(p[1])
            result = ok if (base & M.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED and ap.set_mode(custom)) else no
        elif cmd == M.MAV_CMD_SET_MESSAGE_INTERVAL:
            mid = int(p[0])
            if self.streams.set_interval(mid, p[1]):
                result = ok
            else:
                extra.extend(self._text(M.MAV_SEVERITY_INFO, f"No ap_message for mavlink id ({mid})"))
                result = M.MAV_RESULT_DENIED
        elif cmd == M.MAV_CMD_GET_MESSAGE_INTERVAL:
            mid = int(p[0])
            if mid in STREAMABLE:
                iv = self.streams.interval(mid)
                extra.append(M.MAVLink_message_interval_message(mid, int(iv * 1e6) if iv > 0 else -1))
                result = ok
            else:
                result = no
        elif cmd == M.MAV_CMD_REQUEST_MESSAGE:
            m = self._one_off(int(p[0]))
            result = ok if m is not None else no
            if m is not None:
                extra.append(m)
        elif cmd == M.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES:
            extra.append(telemetry.autopilot_version(self.snapshot))
            result = ok
        elif cmd == M.MAV_CMD_GET_HOME_POSITION:
            m = telemetry.home_position(self._make_snapshot())
            result = ok if m is not None else no
            if m is not None:
                extra.append(m)
        elif cmd == M.MAV_CMD_DO_SET_HOME:
            if p[0] == 1:
                result = ok if ap.set_home_here() else no
            else:
                alt = (
                    p[6] if frame in (None, M.MAV_FRAME_GLOBAL, M.MAV_FRAME_GLOBAL_INT) else p[6] + ap.home[2]
                )
                result = ok if ap.set_home(p[4], p[5], alt) else no
        elif cmd == M.MAV_CMD_DO_CHANGE_SPEED:
            result = ok if ap.change_speed(p[1]) else no
        elif cmd == M.MAV_CMD_DO_SET_MISSION_CURRENT:
            result = ok if ap.set_current(int(p[0])) else no
        elif cmd == M.MAV_CMD_DO_REPOSITION:
            if int(p[1]) & M.MAV_DO_REPOSITION_FLAGS_CHANGE_MODE and ap.mode != GUIDED:
                ap.set_mode(GUIDED)
            alt: float | None = p[6]
            if frame in (M.MAV_FRAME_GLOBAL, M.MAV_FRAME_GLOBAL_INT):
                alt = p[6] - ap.home[2]
            if alt is not None and math.isnan(alt):
                alt = None
            if p[0] > 0:
                ap.change_speed(p[0])
            result = ok if ap.goto(p[4], p[5], alt) else no
        elif cmd == M.MAV_CMD_CONDITION_YAW:
            heading = self.body.yaw + (p[0] if p[2] >= 0 else -p[0]) if p[3] else p[0]  # relative or absolute
            result = ok if ap.set_yaw(heading) else no
        else:
            result = M.MAV_RESULT_UNSUPPORTED
        self.stats[f"cmd_{cmd}_{result}"] += 1
        return [self._ack(msg, cmd, result), *extra]

    def _one_off(self, msg_id: int) -> object | None:
        """A message asked for with ``MAV_CMD_REQUEST_MESSAGE``; ``None`` if it cannot be sent."""
        snap = self._make_snapshot()
        if msg_id == M.MAVLINK_MSG_ID_MISSION_CURRENT:
            return telemetry.mission_current(snap)
        return telemetry.build(msg_id, snap)

    # --- snapshot -------------------------------------------------------------------------

    def _make_snapshot(self) -> Snapshot:
        b, est, ap, bat, gps = self.body, self.est, self.ap, self.battery, self.gps
        olat, olon, oalt = self.origin
        lat, lon = geo.offset(olat, olon, b.north, b.east)
        if est.origin_set:
            est_lat, est_lon = geo.offset(olat, olon, est.north, est.east)
        else:
            est_lat, est_lon = 0.0, 0.0
        hn, he, hu = ap.home_local
        home_lat, home_lon = geo.offset(olat, olon, hn, he) if ap.home_set else (0.0, 0.0)
        if gps.fix:
            gps_lat, gps_lon = geo.offset(olat, olon, b.north + gps.err_n, b.east + gps.err_e)
            gps_fix = 3
        else:
            gps_lat, gps_lon, gps_fix = lat, lon, 1
        if ap.any_failsafe:
            status = M.MAV_STATE_CRITICAL
        elif ap.landed:
            status = M.MAV_STATE_STANDBY
        else:
            status = M.MAV_STATE_ACTIVE
        count = self.store.count()
        mstate = ap.auto.state if count > 1 else M.MISSION_STATE_NO_MISSION
        if mstate == M.MISSION_STATE_ACTIVE and ap.mode != 3:
            mstate = M.MISSION_STATE_PAUSED
        wind = self.wind
        throttle = min(100.0, b.thrust_ratio * self.params["MOT_THST_HOVER"] * 100.0) if ap.armed else 0.0
        nav = ap.nav
        return Snapshot(
            t=self.t,
            time_boot_ms=int(self.t * 1000.0),
            unix_time=self.boot_unix + self.t,
            sysid=self.sysid,
            board_uid=self.settings.board_uid or 0x5250_0000 + self.sysid,  # "RP" + sysid
            mode=ap.mode,
            mode_name=mode_name(ap.mode),
            armed=ap.armed,
            landed=ap.landed,
            crashed=ap.crashed,
            system_status=status,
            prearm_ok=not ap.prearm_failures(),
            fs_battery=ap.fs_batt,
            fs_gcs=ap.fs_gcs,
            fs_ekf=ap.fs_ekf,
            srtl_points=len(ap.return_path) if ap.return_path.active else 0,
            lat=lat,
            lon=lon,
            alt_amsl=oalt + b.up,
            alt_rel=b.up - hu,
            north=b.north,
            east=b.east,
            up=b.up,
            vn=b.vn,
            ve=b.ve,
            vu=b.vu,
            groundspeed=b.groundspeed,
            airspeed=b.airspeed,
            course=b.course,
            roll=b.roll,
            pitch=b.pitch,
            yaw=b.yaw,
            roll_rate=self._rates[0],
            pitch_rate=self._rates[1],
            yaw_rate=b.yaw_rate,
            accel_n=b.accel_n,
            accel_e=b.accel_e,
            accel_u=b.accel_u,
            throttle_pct=throttle,
            pos_ok=est.pos_ok,
            origin_set=est.origin_set,
            est_lat=est_lat,
            est_lon=est_lon,
            est_alt_amsl=oalt + est.up,
            est_alt_rel=est.up - hu,
            est_north=est.north,
            est_east=est.east,
            est_up=est.up,
            origin_lat=olat,
            origin_lon=olon,
            origin_alt_amsl=oalt,
            gps_fix_type=gps_fix,
            gps_lat=gps_lat,
            gps_lon=gps_lon,
            gps_alt_amsl=oalt + b.up + gps.err_u,
            satellites=gps.satellites,
            hdop=gps.hdop,
            battery_voltage=bat.voltage,
            battery_current=bat.current_a,
            battery_remaining_pct=bat.remaining_pct,
            battery_consumed_mah=bat.consumed_mah,
            battery_energy_wh=bat.energy_wh,
            battery_capacity_mah=bat.capacity_mah,
            wind_n=wind.n,
            wind_e=wind.e,
            wind_speed=wind.speed,
            wind_from=wind.from_deg,
            mission_seq=ap.mission_current,
            mission_count=count,
            mission_state=mstate,
            wp_dist=nav.wp_dist,
            target_bearing=nav.target_bearing,
            alt_error=nav.alt_error,
            xtrack_error=nav.xtrack_error,
            home_set=ap.home_set,
            home_lat=home_lat,
            home_lon=home_lon,
            home_alt_amsl=oalt + hu,
            home_north=hn,
            home_east=he,
            home_up=hu,
            comm_errors=self.comm_errors,
        )


def _param_name(raw: str | bytes) -> str:
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "replace")
    return raw.split("\x00", 1)[0].strip().upper()
