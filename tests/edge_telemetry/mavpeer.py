"""A small, faithful ArduPilot-Copter-like MAVLink peer for tests, over real sockets.

Real pymavlink encoding/decoding over a real TCP server or UDP socket, behaving like SITL
where our clients care: only HEARTBEAT until streams are requested, a GCS and a gimbal
heartbeat before the autopilot's, arming refused with a PreArm STATUSTEXT for a while after
boot, the mission protocol answered with MISSION_REQUEST (not _INT) by default, and knobs
for link silence, reboots and garbage bytes. Shared by tests/edge_telemetry and
tests/gcs_mavlink (loaded by file path; see their conftest).
"""

from __future__ import annotations

import math
import select
import socket
import threading
import time
from dataclasses import dataclass, field

from pymavlink.dialects.v20 import ardupilotmega as mav

import contract.mavlink  # noqa: F401  (MAVLINK20 + ardupilotmega before pymavlink)
from contract.mavlink import COPTER_MODES


@dataclass
class PeerItem:
    seq: int
    frame: int
    command: int
    params: tuple[float, float, float, float]
    lat: float
    lon: float
    alt: float
    autocontinue: int


@dataclass
class PeerConfig:
    transport: str = "tcp"  # "tcp": we listen, client connects; "udp": we send to the client's udpin port
    system: int = 1
    component: int = 1
    stream_hz: float = 20.0
    speedup: float = 1.0  # vehicle time runs this much faster than wall time
    armable_after_s: float = 0.0  # vehicle seconds after boot until arming is allowed
    request_int: bool = False  # ask for mission items with MISSION_REQUEST_INT (else MISSION_REQUEST)
    answer_int: bool = False  # answer MISSION_REQUEST_INT with MISSION_ITEM_INT (else MISSION_ITEM)
    streams_need_request: bool = True
    others_heartbeats: bool = True  # GCS + gimbal heartbeats before ours
    home: tuple[float, float, float] = (22.5205, 114.0632, 5.0)
    report_prearm: bool = True  # SYS_STATUS carries the pre-arm check bit, as ArduPilot's does
    drop_once: tuple[str, ...] = ()  # message types to lose the first time they arrive (retry tests)
    udp_client_port: int = 0


@dataclass
class PeerLog:
    received: list[str] = field(default_factory=list)
    commands: list[int] = field(default_factory=list)
    message_intervals: dict[int, int] = field(default_factory=dict)
    data_streams: dict[int, int] = field(default_factory=dict)
    mission_acks: list[int] = field(default_factory=list)


class FakeAutopilot:
    """ArduPilot-like vehicle on a thread; ``url`` is what a client connects to."""

    def __init__(self, config: PeerConfig | None = None) -> None:
        self.cfg = config or PeerConfig()
        self.log = PeerLog()
        self.lock = threading.Lock()
        self.enc = mav.MAVLink(None, srcSystem=self.cfg.system, srcComponent=self.cfg.component)
        self.gcs_enc = mav.MAVLink(None, srcSystem=255, srcComponent=190)
        self.gimbal_enc = mav.MAVLink(None, srcSystem=self.cfg.system, srcComponent=154)
        self.parser = mav.MAVLink(None)
        self.parser.robust_parsing = True
        self.mission: list[PeerItem] = []
        self.mission_current = 0
        self.armed = False
        self.custom_mode = COPTER_MODES["STABILIZE"]
        self.silent = False
        self.streaming = not self.cfg.streams_need_request
        self._upload: tuple[int, int] | None = None  # (count, next seq)
        self._upload_items: list[PeerItem] = []
        self._boot_wall = time.monotonic()
        self._boot_offset_s = 0.0
        self._stop = threading.Event()
        self._client: socket.socket | None = None
        self._pending = bytearray()
        self._to_drop = set(self.cfg.drop_once)
        if self.cfg.transport == "tcp":
            self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._server.bind(("127.0.0.1", 0))
            self._server.listen(1)
            self.port = self._server.getsockname()[1]
            self.url = f"tcp:127.0.0.1:{self.port}"
        else:
            self._server = None
            self._udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._udp.bind(("127.0.0.1", 0))
            self.port = self.cfg.udp_client_port
            self.url = f"udpin:127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._run, name="fake-autopilot", daemon=True)

    # -- control ------------------------------------------------------------------------------

    def start(self) -> FakeAutopilot:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for s in (self._client, self._server, getattr(self, "_udp", None)):
            if s is not None:
                s.close()

    def boot_s(self) -> float:
        """Vehicle seconds since boot."""
        return self._boot_offset_s + (time.monotonic() - self._boot_wall) * self.cfg.speedup

    def reboot(self) -> None:
        """Restart the vehicle clock; streams stop until requested again, like ArduPilot."""
        with self.lock:
            self._boot_wall = time.monotonic()
            self._boot_offset_s = 0.0
            self.streaming = not self.cfg.streams_need_request
            self.armed = False

    def disconnect(self) -> None:
        """Hang up on the TCP client (a vehicle restarting its link)."""
        with self.lock:
            self._drop_client()

    def inject(self, data: bytes) -> None:
        """Queue raw bytes (garbage) for the client, in between real messages."""
        with self.lock:
            self._pending.extend(data)

    def send_msg(self, msg: mav.MAVLink_message) -> None:
        with self.lock:
            self._pending.extend(msg.pack(self.enc))

    def received(self, mtype: str) -> int:
        with self.lock:
            return self.log.received.count(mtype)

    # -- the thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        next_hb = next_stream = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            out = bytearray()
            with self.lock:
                if not self.silent:
                    if now >= next_hb:
                        out += self._heartbeats()
                        next_hb = now + 1.0
                    if self.streaming and now >= next_stream:
                        out += self._streams()
                        next_stream = now + 1.0 / self.cfg.stream_hz
                if self._pending and not self.silent:  # silent = the radio link is cut both ways
                    out += self._pending
                self._pending.clear()
            if out:
                self._write(bytes(out))
            self._read(min(0.02, max(0.0, min(next_hb, next_stream) - time.monotonic())))

    def _write(self, data: bytes) -> None:
        try:
            if self._server is not None:
                if self._client is not None:
                    self._client.sendall(data)
            elif self.port:
                self._udp.sendto(data, ("127.0.0.1", self.port))
        except OSError:
            self._drop_client()

    def _drop_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _read(self, timeout: float) -> None:
        socks = [self._server, self._client] if self._server is not None else [self._udp]
        socks = [s for s in socks if s is not None]
        try:
            readable, _, _ = select.select(socks, [], [], timeout)
        except (ValueError, OSError):  # disconnect() closed the client between the list and select
            return
        for s in readable:
            if s is self._server:
                self._drop_client()
                self._client, _ = self._server.accept()
                continue
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                self._drop_client()
                continue
            for msg in self.parser.parse_buffer(data) or []:
                self._handle(msg)

    # -- what a vehicle sends -----------------------------------------------------------------

    def _heartbeats(self) -> bytes:
        out = b""
        if self.cfg.others_heartbeats:
            out += self.gcs_enc.heartbeat_encode(
                mav.MAV_TYPE_GCS, mav.MAV_AUTOPILOT_INVALID, 0, 0, mav.MAV_STATE_ACTIVE
            ).pack(self.gcs_enc)
            out += self.gimbal_enc.heartbeat_encode(
                mav.MAV_TYPE_GIMBAL, mav.MAV_AUTOPILOT_GENERIC, 0, 0, mav.MAV_STATE_ACTIVE
            ).pack(self.gimbal_enc)
        base = mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED | (mav.MAV_MODE_FLAG_SAFETY_ARMED if self.armed else 0)
        out += self.enc.heartbeat_encode(
            mav.MAV_TYPE_QUADROTOR,
            mav.MAV_AUTOPILOT_ARDUPILOTMEGA,
            base,
            self.custom_mode,
            mav.MAV_STATE_STANDBY,
        ).pack(self.enc)
        return out

    def pose_at(self, t: float) -> tuple[float, float, float, float]:
        """Ground truth (lat, lon, alt_rel, yaw_deg) at vehicle time ``t``: east at 10 m/s, spinning."""
        lat0, lon0, _ = self.cfg.home
        lon = lon0 + 10.0 * t / (111_320.0 * math.cos(math.radians(lat0)))
        yaw = (170.0 + 20.0 * t) % 360.0 - 180.0  # crosses ±180 within a second of boot
        return lat0, lon, 30.0, yaw

    def _streams(self) -> bytes:
        ms = int(self.boot_s() * 1000)
        t = ms / 1000.0
        lat, lon, alt_rel, yaw = self.pose_at(t)
        home_alt = self.cfg.home[2]
        e = self.enc
        prearm = mav.MAV_SYS_STATUS_PREARM_CHECK if self.cfg.report_prearm else 0
        prearm_health = prearm if t >= self.cfg.armable_after_s else 0
        msgs = [
            e.global_position_int_encode(
                ms,
                round(lat * 1e7),
                round(lon * 1e7),
                round((alt_rel + home_alt) * 1000),
                round(alt_rel * 1000),
                1000,
                0,
                -50,
                round((yaw % 360) * 100),
            ),
            e.attitude_encode(ms, 0.05, -0.02, math.radians(yaw), 0.0, 0.0, 0.35),
            e.vfr_hud_encode(10.0, 10.0, round(yaw % 360), 45, alt_rel + home_alt, 0.5),
            e.sys_status_encode(prearm, prearm, prearm_health, 500, 15800, 1230, 87, 0, 0, 0, 0, 0, 0),
            e.gps_raw_int_encode(
                ms * 1000, 3, round(lat * 1e7), round(lon * 1e7), 0, 80, 120, 1000, 9000, 14
            ),
            e.mission_current_encode(self.mission_current, max(0, len(self.mission))),
            e.system_time_encode(int(1_700_000_000e6 + t * 1e6), ms),
            e.home_position_encode(
                round(self.cfg.home[0] * 1e7),
                round(self.cfg.home[1] * 1e7),
                round(home_alt * 1000),
                0,
                0,
                0,
                [1, 0, 0, 0],
                0,
                0,
                0,
            ),
        ]
        return b"".join(m.pack(e) for m in msgs)

    # -- what a vehicle answers ---------------------------------------------------------------

    def _handle(self, msg: mav.MAVLink_message) -> None:
        mtype = msg.get_type()
        with self.lock:
            self.log.received.append(mtype)
            if mtype in self._to_drop:
                self._to_drop.discard(mtype)
                return
        if mtype in ("BAD_DATA", "HEARTBEAT") or getattr(msg, "target_system", self.cfg.system) not in (
            0,
            self.cfg.system,
        ):
            return
        handler = getattr(self, f"_on_{mtype.lower()}", None)
        if handler is not None:
            with self.lock:
                handler(msg)

    def _reply(self, msg: mav.MAVLink_message) -> None:
        self._pending.extend(msg.pack(self.enc))

    def _ack(self, command: int, result: int) -> None:
        self._reply(self.enc.command_ack_encode(command, result, 0, 0, 255, 190))

    def _on_request_data_stream(self, msg: mav.MAVLink_message) -> None:
        self.log.data_streams[msg.req_stream_id] = msg.req_message_rate
        self.streaming = True

    def _on_command_long(self, msg: mav.MAVLink_message) -> None:
        cmd = msg.command
        self.log.commands.append(cmd)
        if cmd == mav.MAV_CMD_SET_MESSAGE_INTERVAL:
            self.log.message_intervals[int(msg.param1)] = int(msg.param2)
            self.streaming = True
            self._ack(cmd, mav.MAV_RESULT_ACCEPTED)
        elif cmd == mav.MAV_CMD_COMPONENT_ARM_DISARM:
            if msg.param1 == 1 and self.boot_s() < self.cfg.armable_after_s:
                self._reply(
                    self.enc.statustext_encode(mav.MAV_SEVERITY_CRITICAL, b"PreArm: Need Position Estimate")
                )
                self._ack(cmd, mav.MAV_RESULT_FAILED)
            else:
                self.armed = msg.param1 == 1
                self._ack(cmd, mav.MAV_RESULT_ACCEPTED)
        elif cmd == mav.MAV_CMD_DO_SET_MODE:
            if int(msg.param2) in COPTER_MODES.values():
                self.custom_mode = int(msg.param2)
                self._ack(cmd, mav.MAV_RESULT_ACCEPTED)
            else:
                self._ack(cmd, mav.MAV_RESULT_DENIED)
        elif cmd == mav.MAV_CMD_NAV_TAKEOFF:
            ok = self.armed and self.custom_mode == COPTER_MODES["GUIDED"]
            self._ack(cmd, mav.MAV_RESULT_ACCEPTED if ok else mav.MAV_RESULT_FAILED)
        elif cmd == mav.MAV_CMD_MISSION_START:
            ok = self.armed and len(self.mission) > 1
            if ok:
                self.custom_mode = COPTER_MODES["AUTO"]
            self._ack(cmd, mav.MAV_RESULT_ACCEPTED if ok else mav.MAV_RESULT_FAILED)
        elif cmd == mav.MAV_CMD_DO_SET_MISSION_CURRENT:
            seq = int(msg.param1)
            ok = 0 <= seq < len(self.mission)
            if ok:
                self.mission_current = seq
                self._reply(self.enc.mission_current_encode(seq, len(self.mission)))
            self._ack(cmd, mav.MAV_RESULT_ACCEPTED if ok else mav.MAV_RESULT_DENIED)
        else:
            self._ack(cmd, mav.MAV_RESULT_UNSUPPORTED)

    def _on_mission_count(self, msg: mav.MAVLink_message) -> None:
        self._upload = (msg.count, 0)
        self._upload_items = []
        self._request_item(0)

    def _request_item(self, seq: int) -> None:
        if self.cfg.request_int:
            self._reply(self.enc.mission_request_int_encode(255, 190, seq, 0))
        else:
            self._reply(self.enc.mission_request_encode(255, 190, seq, 0))

    def _on_mission_item_int(self, msg: mav.MAVLink_message) -> None:
        if self._upload is None:
            return
        count, expected = self._upload
        if msg.seq != expected:
            self._request_item(expected)
            return
        self._upload_items.append(
            PeerItem(
                msg.seq,
                msg.frame,
                msg.command,
                (msg.param1, msg.param2, msg.param3, msg.param4),
                msg.x / 1e7,
                msg.y / 1e7,
                msg.z,
                msg.autocontinue,
            )
        )
        if expected + 1 < count:
            self._upload = (count, expected + 1)
            self._request_item(expected + 1)
        else:
            self.mission = self._upload_items
            self._upload = None
            self._reply(self.enc.mission_ack_encode(255, 190, mav.MAV_MISSION_ACCEPTED, 0))

    def _on_mission_request_list(self, msg: mav.MAVLink_message) -> None:
        self._reply(self.enc.mission_count_encode(255, 190, len(self.mission), 0))

    def _send_item(self, seq: int, as_int: bool) -> None:
        if not 0 <= seq < len(self.mission):
            self._reply(self.enc.mission_ack_encode(255, 190, mav.MAV_MISSION_INVALID_SEQUENCE, 0))
            return
        it = self.mission[seq]
        if as_int:
            m = self.enc.mission_item_int_encode(
                255,
                190,
                seq,
                it.frame,
                it.command,
                0,
                it.autocontinue,
                *it.params,
                round(it.lat * 1e7),
                round(it.lon * 1e7),
                it.alt,
                0,
            )
        else:
            m = self.enc.mission_item_encode(
                255, 190, seq, it.frame, it.command, 0, it.autocontinue, *it.params, it.lat, it.lon, it.alt, 0
            )
        self._reply(m)

    def _on_mission_request_int(self, msg: mav.MAVLink_message) -> None:
        self._send_item(msg.seq, self.cfg.answer_int)

    def _on_mission_request(self, msg: mav.MAVLink_message) -> None:
        self._send_item(msg.seq, False)

    def _on_mission_clear_all(self, msg: mav.MAVLink_message) -> None:
        self.mission = []
        self.mission_current = 0
        self._reply(self.enc.mission_ack_encode(255, 190, mav.MAV_MISSION_ACCEPTED, 0))

    def _on_mission_ack(self, msg: mav.MAVLink_message) -> None:
        self.log.mission_acks.append(msg.type)
