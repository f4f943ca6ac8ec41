"""``VehicleClient``: missions and commands over one pymavlink connection.

A reader thread owns the socket: it locks onto the autopilot's heartbeat (GCS, gimbal and
camera heartbeats are ignored), keeps mode/armed/STATUSTEXTs current, sends our GCS heartbeat
at 1 Hz, and hands every message from the vehicle to whichever calls are waiting. Calls are
synchronous, retry on silence, and raise the exceptions of ``errors``.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import queue
import select
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import contract.mavlink  # noqa: F401  (sets MAVLINK20 and the dialect before pymavlink loads)
from contract.heartbeat import is_autopilot_heartbeat
from contract.mavlink import ARMED_FLAG, PREARM_CHECK, board_id, mode_name, mode_number, statustext
from ground_station.mavlink.errors import (
    CommandRejected,
    LinkClosed,
    MavlinkError,
    MavlinkTimeout,
    MissionRejected,
    NoHeartbeat,
)
from ground_station.mavlink.mission import (
    MAV_MISSION_TYPE_MISSION,
    CommandResult,
    MissionItem,
    from_wire,
    home_placeholder,
    numbered,
    to_wire,
)

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
_REASON_PREFIXES = ("PreArm", "Arm", "Disarm")


def _mav() -> Any:
    from pymavlink import mavutil

    return mavutil.mavlink


class VehicleClient:
    """Synchronous vehicle API; use ``VehicleClient.connect(url)`` and close it (or ``with``)."""

    def __init__(
        self,
        conn: Any,
        *,
        timeout: float = 2.0,
        retries: int = 3,
        status_rate_hz: float = 2.0,
    ) -> None:
        self._conn = conn
        self.timeout = timeout
        self.retries = retries
        self.status_rate_hz = status_rate_hz
        self.target: tuple[int, int] | None = None
        self.custom_mode: int | None = None
        self.armed = False
        self.statustexts: deque[tuple[float, int, str]] = deque(maxlen=50)
        self.last_heartbeat: float | None = None
        self.prearm_ok: bool | None = None  # SYS_STATUS pre-arm bit, when the vehicle reports it
        self.gps_fix_type: int | None = None
        self.mission_current: int | None = None
        self.battery_pct: int | None = None  # SYS_STATUS battery_remaining, when the vehicle knows it
        self.wind: tuple[float, float] | None = None  # WIND: m/s, where from (0-360)
        self.bad_data = 0
        self._board_id: str | None = None
        self._send_lock = threading.Lock()
        self._subscribers: list[queue.Queue[Any]] = []
        self._sub_lock = threading.Lock()
        self._locked = threading.Event()
        self._stop = threading.Event()
        self._closed: str | None = None
        self._thread = threading.Thread(target=self._run, name="vehicle-client", daemon=True)

    # -- lifecycle ----------------------------------------------------------------------------

    @classmethod
    def connect(
        cls,
        url: str,
        *,
        heartbeat_timeout: float = 30.0,
        source_system: int = 255,
        source_component: int = 190,
        baud: int = 115200,
        **kwargs: Any,
    ) -> VehicleClient:
        """Open ``url`` (pymavlink syntax), wait for the autopilot's heartbeat, request status streams."""
        from pymavlink import mavutil

        conn = mavutil.mavlink_connection(
            url, baud=baud, source_system=source_system, source_component=source_component, retries=0
        )
        client = cls(conn, **kwargs)
        client._thread.start()
        if not client._locked.wait(heartbeat_timeout):
            client.close()
            raise NoHeartbeat(f"no autopilot heartbeat on {url} within {heartbeat_timeout}s")
        client._request_status_streams()
        return client

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        with contextlib.suppress(OSError):
            self._conn.close()

    def __enter__(self) -> VehicleClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def mode(self) -> str | None:
        return None if self.custom_mode is None else mode_name(self.custom_mode)

    # -- commands -----------------------------------------------------------------------------

    def command(self, command: int, *params: float, timeout: float | None = None) -> CommandResult:
        """Send COMMAND_LONG (retrying with rising confirmation) and return its COMMAND_ACK."""
        if len(params) > 7:
            raise ValueError(f"COMMAND_LONG takes 7 params, got {len(params)}")
        p = [float(x) for x in params] + [0.0] * (7 - len(params))
        sysid, compid = self._target()
        return self._acked(
            command,
            lambda attempt: self._conn.mav.command_long_send(sysid, compid, command, attempt, *p),
            timeout,
        )

    def command_int(
        self,
        command: int,
        frame: int,
        params: tuple[float, float, float, float],
        lat: float,
        lon: float,
        alt: float,
        timeout: float | None = None,
    ) -> CommandResult:
        """Send COMMAND_INT: a command at a place, its frame said (ArduPilot reads a position
        command's altitude by it; COMMAND_LONG leaves it to guess), and return its COMMAND_ACK."""
        sysid, compid = self._target()
        x, y = round(lat * 1e7), round(lon * 1e7)
        return self._acked(
            command,
            lambda _attempt: self._conn.mav.command_int_send(
                sysid, compid, frame, command, 0, 0, *params, x, y, alt
            ),
            timeout,
        )

    def _acked(self, command: int, send: Callable[[int], None], timeout: float | None) -> CommandResult:
        """Send with ``send(attempt)`` until a COMMAND_ACK for ``command`` comes; its refusal's text."""
        per_try = timeout or self.timeout
        m = _mav()
        sysid, compid = self._target()
        with self._subscription() as q:
            started = time.monotonic()
            for attempt in range(self.retries + 1):
                self._send(functools.partial(send, attempt))
                ack = self._wait(q, {"COMMAND_ACK"}, per_try, lambda msg: msg.command == command)
                while ack is not None and ack.result == m.MAV_RESULT_IN_PROGRESS:
                    ack = self._wait(q, {"COMMAND_ACK"}, per_try, lambda msg: msg.command == command)
                if ack is not None:
                    break
            else:
                raise MavlinkTimeout(
                    f"no COMMAND_ACK for {_enum_name('MAV_CMD', command)} from {sysid}/{compid} "
                    f"after {self.retries + 1} tries of {per_try}s"
                )
            reason = None
            if ack.result != m.MAV_RESULT_ACCEPTED:
                reason = self._reason_since(started) or self._wait_reason(q, started, 0.3)
        return CommandResult(command, ack.result, _enum_name("MAV_RESULT", ack.result), reason)

    def _check(self, result: CommandResult, what: str) -> CommandResult:
        if not result.accepted:
            why = f": {result.reason}" if result.reason else ""
            raise CommandRejected(
                f"{what} refused with {result.result_name}{why}", result.result, result.reason
            )
        return result

    def arm(self) -> CommandResult:
        """Arm; the result says whether, and ``reason`` carries the PreArm text on refusal."""
        return self.command(_mav().MAV_CMD_COMPONENT_ARM_DISARM, 1)

    def disarm(self) -> CommandResult:
        return self.command(_mav().MAV_CMD_COMPONENT_ARM_DISARM, 0)

    def is_armable(self) -> bool:
        """The vehicle's pre-arm bit when it reports one (ArduPilot does), else a 3D GPS fix.

        The fallback cannot see EKF readiness: ``arm()`` still returns the vehicle's verdict.
        """
        if self.prearm_ok is not None:
            return self.prearm_ok
        return (self.gps_fix_type or 0) >= 3

    def wait_armable(self, timeout: float) -> None:
        """Block until ``is_armable``; ``MavlinkTimeout`` with the last PreArm text otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.is_armable():
                return
            self._raise_if_closed()
            time.sleep(0.05)
        last = next((t for _, _, t in reversed(self.statustexts) if t.startswith("PreArm")), None)
        raise MavlinkTimeout(f"vehicle not armable within {timeout}s" + (f" (last: {last})" if last else ""))

    def set_mode(self, name: str, timeout: float | None = None) -> None:
        """Switch flight mode by Copter name and wait for the heartbeat to show it."""
        try:
            number = mode_number(name)
        except KeyError:
            raise ValueError(f"unknown Copter mode {name!r}") from None
        m = _mav()
        self._check(
            self.command(m.MAV_CMD_DO_SET_MODE, m.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, number), f"mode {name}"
        )
        self.wait_mode(name, timeout)

    def wait_mode(self, name: str, timeout: float | None = None) -> None:
        """Wait for the heartbeat to show the Copter mode ``name`` (``MavlinkTimeout`` if it does
        not): after a command that changes it, as :meth:`set_mode` and :meth:`reposition` are."""
        number = mode_number(name)
        self._wait_until(lambda: self.custom_mode == number, timeout or 3 * self.timeout, f"mode {name}")

    def takeoff(self, alt_m: float) -> None:
        """NAV_TAKEOFF to ``alt_m`` above home (vehicle must be armed, in GUIDED)."""
        self._check(
            self.command(_mav().MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, alt_m), f"takeoff to {alt_m} m"
        )

    def start_mission(self) -> None:
        """MISSION_START: fly the uploaded mission (ArduPilot switches to AUTO)."""
        self._check(self.command(_mav().MAV_CMD_MISSION_START, 0, 0), "mission start")

    def set_current(self, seq: int, timeout: float | None = None) -> None:
        """Make mission item ``seq`` the current one; waits for MISSION_CURRENT to show it."""
        m = _mav()
        result = self.command(m.MAV_CMD_DO_SET_MISSION_CURRENT, seq)
        if result.result == m.MAV_RESULT_UNSUPPORTED:  # older firmware: the legacy message
            sysid, compid = self._target()
            self._send(lambda: self._conn.mav.mission_set_current_send(sysid, compid, seq))
        else:
            self._check(result, f"set current mission item {seq}")
        self._wait_until(
            lambda: self.mission_current == seq, timeout or 3 * self.timeout, f"mission item {seq}"
        )

    def position(self, timeout: float | None = None) -> tuple[float, float, float] | None:
        """Where the vehicle is now: lat, lon, m above home (GLOBAL_POSITION_INT, asked for with
        REQUEST_MESSAGE); ``None`` if none comes within ``timeout``."""
        m = _mav()
        with self._subscription() as q:
            self.command(m.MAV_CMD_REQUEST_MESSAGE, m.MAVLINK_MSG_ID_GLOBAL_POSITION_INT)
            msg = self._wait(q, {"GLOBAL_POSITION_INT"}, timeout or self.timeout)
        return None if msg is None else (msg.lat / 1e7, msg.lon / 1e7, msg.relative_alt / 1000.0)

    def utc(self, timeout: float | None = None) -> float | None:
        """The vehicle's UTC, Unix seconds (SYSTEM_TIME, asked for with REQUEST_MESSAGE): the clock
        its drone stamps finds with, where a field laptop's may be off (or, on a simulator run
        faster than real time, not the simulated one); ``None`` without GPS time within ``timeout``."""
        m = _mav()
        with self._subscription() as q:
            self.command(m.MAV_CMD_REQUEST_MESSAGE, m.MAVLINK_MSG_ID_SYSTEM_TIME)
            msg = self._wait(q, {"SYSTEM_TIME"}, timeout or self.timeout, lambda x: bool(x.time_unix_usec))
        return None if msg is None else msg.time_unix_usec / 1e6

    def board_id(self, timeout: float | None = None) -> str | None:
        """The flight controller's hardware id (AUTOPILOT_VERSION, asked for with REQUEST_MESSAGE,
        else the older REQUEST_AUTOPILOT_CAPABILITIES; ``contract.mavlink.board_id``); ``None``
        where the vehicle does not say within ``timeout``, or reports none. Asked once a connection:
        a board does not change under it."""
        if self._board_id is not None:
            return self._board_id
        m = _mav()
        with self._subscription() as q:
            try:
                asked = self.command(m.MAV_CMD_REQUEST_MESSAGE, m.MAVLINK_MSG_ID_AUTOPILOT_VERSION)
                if not asked.accepted:
                    self.command(m.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES, 1)
            except MavlinkTimeout:
                return None
            msg = self._wait(q, {"AUTOPILOT_VERSION"}, timeout or self.timeout)
        self._board_id = None if msg is None else board_id(msg)
        return self._board_id

    def reposition(self, lat: float, lon: float, alt_m: float) -> None:
        """Fly straight to (lat, lon) at ``alt_m`` above home and hold there: DO_REPOSITION, which
        puts the vehicle in GUIDED (ArduPilot's "fly here"; :meth:`wait_mode` sees it take it)."""
        m = _mav()
        self._check(
            self.command_int(
                m.MAV_CMD_DO_REPOSITION,
                m.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
                (-1.0, float(m.MAV_DO_REPOSITION_FLAGS_CHANGE_MODE), 0.0, math.nan),  # its speed, its yaw
                lat,
                lon,
                alt_m,
            ),
            f"fly to {lat:.6f},{lon:.6f} at {alt_m:g} m",
        )

    def rtl(self) -> None:
        self.set_mode("RTL")

    def land(self) -> None:
        self.set_mode("LAND")

    # -- missions -----------------------------------------------------------------------------

    def upload_mission(
        self,
        items: list[MissionItem],
        *,
        home: tuple[float, float, float] | None = None,
        progress: ProgressCallback | None = None,
        mission_type: int = MAV_MISSION_TYPE_MISSION,
    ) -> None:
        """Upload ``items`` as mission items 1..n after a home placeholder at 0 (see package doc);
        with ``mission_type`` FENCE, the fence list as it is (``fence_items``).

        Answers MISSION_REQUEST_INT and MISSION_REQUEST alike, re-sends on silence, and
        returns once the vehicle's MISSION_ACK says accepted.
        """
        m = _mav()
        is_plan = mission_type == MAV_MISSION_TYPE_MISSION
        wire = [home_placeholder(home), *numbered(items, 1)] if is_plan else numbered(items, 0)
        what = "mission" if is_plan else "fence"
        count = len(wire)
        sysid, compid = self._target()
        sent: set[int] = set()
        ours = _of_type(mission_type)
        with self._subscription() as q:
            last: Callable[[], None] = partial(
                self._conn.mav.mission_count_send, sysid, compid, count, mission_type
            )
            self._send(last)
            tries = 0
            while True:
                msg = self._wait(
                    q, {"MISSION_REQUEST_INT", "MISSION_REQUEST", "MISSION_ACK"}, self.timeout, ours
                )
                if msg is None:
                    tries += 1
                    if tries > self.retries:
                        raise MavlinkTimeout(f"{what} upload stalled after {len(sent)}/{count} items")
                    self._send(last)
                    continue
                tries = 0
                if msg.get_type() == "MISSION_ACK":
                    if msg.type != m.MAV_MISSION_ACCEPTED:
                        name = _enum_name("MAV_MISSION_RESULT", msg.type)
                        raise MissionRejected(
                            f"{what} upload rejected with {name} after {len(sent)} items", msg.type
                        )
                    if len(sent) < count:
                        raise MissionRejected(
                            f"vehicle acknowledged after only {len(sent)}/{count} items", msg.type
                        )
                    log.info("event=%s_uploaded items=%d", what, count)
                    return
                seq = msg.seq
                if not 0 <= seq < count:
                    raise MavlinkError(f"vehicle requested {what} item {seq} of {count}")
                fields = to_wire(wire[seq])
                last = partial(
                    self._conn.mav.mission_item_int_send, sysid, compid, **fields, mission_type=mission_type
                )
                self._send(last)
                if seq not in sent:
                    sent.add(seq)
                    if progress is not None:
                        progress(len(sent), count)

    def download_mission(
        self, *, include_home: bool = False, mission_type: int = MAV_MISSION_TYPE_MISSION
    ) -> list[MissionItem]:
        """The vehicle's mission (or its fence list, ``mission_type`` FENCE); asks with
        MISSION_REQUEST_INT, falls back to MISSION_REQUEST."""
        m = _mav()
        sysid, compid = self._target()
        is_plan = mission_type == MAV_MISSION_TYPE_MISSION
        with self._subscription() as q:
            count_msg = self._exchange(
                q,
                lambda: self._conn.mav.mission_request_list_send(sysid, compid, mission_type),
                {"MISSION_COUNT"},
                _of_type(mission_type),
                "MISSION_COUNT",
            )
            use_int = True
            items: list[MissionItem] = []
            for seq in range(count_msg.count):
                msg = None
                for attempt in range(self.retries + 1):
                    if attempt == (self.retries + 1) // 2:
                        use_int = not use_int  # silence to one form: try the other
                    ask = (
                        self._conn.mav.mission_request_int_send
                        if use_int
                        else self._conn.mav.mission_request_send
                    )
                    self._send(partial(ask, sysid, compid, seq, mission_type))
                    msg = self._wait(
                        q, {"MISSION_ITEM_INT", "MISSION_ITEM"}, self.timeout, lambda x, s=seq: x.seq == s
                    )
                    if msg is not None:
                        break
                if msg is None:
                    raise MavlinkTimeout(f"mission download stalled at item {seq}/{count_msg.count}")
                if msg.get_type() == "MISSION_ITEM":
                    use_int = False  # the vehicle speaks float items: ask in kind from now on
                items.append(from_wire(msg))
            self._send(
                lambda: self._conn.mav.mission_ack_send(sysid, compid, m.MAV_MISSION_ACCEPTED, mission_type)
            )
        return items if include_home or not is_plan else items[1:]

    def get_param(self, name: str) -> float | None:
        """PARAM_REQUEST_READ by name; the vehicle's value, or ``None`` when it does not answer
        (a parameter it does not have)."""
        sysid, compid = self._target()
        with self._subscription() as q:
            try:
                msg = self._exchange(
                    q,
                    lambda: self._conn.mav.param_request_read_send(sysid, compid, name.encode(), -1),
                    {"PARAM_VALUE"},
                    lambda x: x.param_id == name,
                    f"PARAM_VALUE for {name}",
                )
            except MavlinkTimeout:
                return None
        return float(msg.param_value)

    def set_param(self, name: str, value: float) -> float:
        """PARAM_SET, then the vehicle's PARAM_VALUE for it; returns the value it keeps.
        ``MavlinkError`` when it keeps another (a parameter it does not have, a refused write)."""
        m = _mav()
        sysid, compid = self._target()
        with self._subscription() as q:
            msg = self._exchange(
                q,
                lambda: self._conn.mav.param_set_send(
                    sysid, compid, name.encode(), float(value), m.MAV_PARAM_TYPE_REAL32
                ),
                {"PARAM_VALUE"},
                lambda x: x.param_id == name,
                f"PARAM_VALUE for {name}",
            )
        if not math.isclose(msg.param_value, float(value), rel_tol=1e-6, abs_tol=1e-6):
            raise MavlinkError(f"the vehicle kept {name} = {msg.param_value:g}, not {value:g}")
        return float(msg.param_value)

    def clear_mission(self) -> None:
        """MISSION_CLEAR_ALL, waiting for an accepting MISSION_ACK."""
        m = _mav()
        sysid, compid = self._target()
        with self._subscription() as q:
            ack = self._exchange(
                q,
                lambda: self._conn.mav.mission_clear_all_send(sysid, compid, 0),
                {"MISSION_ACK"},
                _plan,
                "MISSION_ACK",
            )
        if ack.type != m.MAV_MISSION_ACCEPTED:
            name = _enum_name("MAV_MISSION_RESULT", ack.type)
            raise MissionRejected(f"mission clear rejected with {name}", ack.type)

    # -- plumbing -----------------------------------------------------------------------------

    def _target(self) -> tuple[int, int]:
        self._raise_if_closed()
        if self.target is None:
            raise MavlinkError("not connected to a vehicle yet")
        return self.target

    def _raise_if_closed(self) -> None:
        if self._closed is not None:
            raise LinkClosed(self._closed)

    def _send(self, fn: Callable[[], None]) -> None:
        self._raise_if_closed()
        with self._send_lock:
            fn()

    @contextlib.contextmanager
    def _subscription(self) -> Iterator[queue.Queue[Any]]:
        q: queue.Queue[Any] = queue.Queue()
        with self._sub_lock:
            self._subscribers.append(q)
        try:
            yield q
        finally:
            with self._sub_lock:
                self._subscribers.remove(q)

    def _wait(
        self, q: queue.Queue[Any], types: set[str], timeout: float, pred: Callable[[Any], bool] | None = None
    ) -> Any:
        """The next message of ``types`` matching ``pred`` within ``timeout`` s, else None."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                msg = q.get(timeout=min(left, 0.2))
            except queue.Empty:
                self._raise_if_closed()
                continue
            if msg.get_type() in types and (pred is None or pred(msg)):
                return msg

    def _exchange(
        self,
        q: queue.Queue[Any],
        send: Callable[[], None],
        types: set[str],
        pred: Callable[[Any], bool],
        what: str,
    ) -> Any:
        for _ in range(self.retries + 1):
            self._send(send)
            msg = self._wait(q, types, self.timeout, pred)
            if msg is not None:
                return msg
        raise MavlinkTimeout(f"no {what} after {self.retries + 1} tries of {self.timeout}s")

    def _wait_until(self, cond: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not cond():
            self._raise_if_closed()
            if time.monotonic() > deadline:
                raise MavlinkTimeout(f"vehicle did not report {what} within {timeout}s")
            time.sleep(0.02)

    def _reason_since(self, since: float) -> str | None:
        texts = [t for when, _, t in list(self.statustexts) if when >= since]
        return next(
            (t for t in reversed(texts) if t.startswith(_REASON_PREFIXES)), texts[-1] if texts else None
        )

    def _wait_reason(self, q: queue.Queue[Any], since: float, grace: float) -> str | None:
        """ArduPilot may send the refusal text just after the ACK: give it a moment."""
        self._wait(q, {"STATUSTEXT"}, grace)
        return self._reason_since(since)

    def _request_status_streams(self) -> None:
        """Status streams the client needs (mode/armed come with HEARTBEAT regardless).

        Position streams are left alone: a vehicle may apply message intervals to every link,
        and the companion computer asks for them at a much higher rate than we would.
        """
        m = _mav()
        sysid, compid = self._target()
        interval = round(1e6 / self.status_rate_hz)
        status = (  # SYSTEM_TIME: the vehicle's GPS clock, which times the logbook's flights
            m.MAVLINK_MSG_ID_SYS_STATUS,
            m.MAVLINK_MSG_ID_GPS_RAW_INT,
            m.MAVLINK_MSG_ID_MISSION_CURRENT,
            m.MAVLINK_MSG_ID_SYSTEM_TIME,
            m.MAVLINK_MSG_ID_WIND,  # what a followed patrol flies in
        )
        for msg_id in status:
            self._send(
                lambda i=msg_id: self._conn.mav.command_long_send(
                    sysid, compid, m.MAV_CMD_SET_MESSAGE_INTERVAL, 0, i, interval, 0, 0, 0, 0, 0
                )
            )
        rate = max(1, round(self.status_rate_hz))
        stream = m.MAV_DATA_STREAM_EXTENDED_STATUS
        self._send(lambda: self._conn.mav.request_data_stream_send(sysid, compid, stream, rate, 1))

    # -- reader thread ------------------------------------------------------------------------

    def _run(self) -> None:
        from pymavlink import mavutil

        m = mavutil.mavlink
        conn = self._conn
        next_hb = 0.0
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                if now >= next_hb:
                    with self._send_lock:
                        conn.mav.heartbeat_send(
                            m.MAV_TYPE_GCS, m.MAV_AUTOPILOT_INVALID, 0, 0, m.MAV_STATE_ACTIVE
                        )
                    next_hb = now + 1.0
                readable, _, _ = select.select([conn.fd], [], [], min(0.1, max(0.0, next_hb - now)))
                if not readable:
                    continue
                if isinstance(conn, mavutil.mavtcp):
                    data = conn.port.recv(4096)
                    if not data:
                        raise LinkClosed(f"{conn.address} closed the connection")
                else:
                    data = conn.recv(4096)
                for msg in conn.mav.parse_buffer(data or b"") or []:
                    self._on_message(msg, time.monotonic())
        except (OSError, MavlinkError) as e:
            self._closed = f"connection to the vehicle lost: {e!r}"
            log.warning("event=vehicle_link_closed error=%r", e)

    def _on_message(self, msg: Any, now: float) -> None:
        mtype = msg.get_type()
        if mtype == "BAD_DATA":
            self.bad_data += 1
            return
        src = (msg.get_srcSystem(), msg.get_srcComponent())
        if self.target is None:
            if mtype == "HEARTBEAT" and is_autopilot_heartbeat(msg.type, msg.autopilot, src[1]):
                self.target = src
                self._locked.set()
                log.info("event=vehicle_locked system=%d component=%d", *src)
            else:
                return
        if src != self.target:
            return
        if mtype == "HEARTBEAT":
            self.custom_mode = msg.custom_mode
            self.armed = bool(msg.base_mode & ARMED_FLAG)
            self.last_heartbeat = now
        elif mtype == "STATUSTEXT":
            self.statustexts.append((now, msg.severity, statustext(msg)))
        elif mtype == "SYS_STATUS":
            if msg.onboard_control_sensors_present & PREARM_CHECK:
                self.prearm_ok = bool(msg.onboard_control_sensors_health & PREARM_CHECK)
            self.battery_pct = msg.battery_remaining if 0 <= msg.battery_remaining <= 100 else None
        elif mtype == "WIND":
            if math.isfinite(msg.speed) and math.isfinite(msg.direction) and msg.speed >= 0:
                self.wind = (float(msg.speed), float(msg.direction) % 360.0)
        elif mtype == "GPS_RAW_INT":
            self.gps_fix_type = msg.fix_type
        elif mtype == "MISSION_CURRENT":
            self.mission_current = msg.seq
        with self._sub_lock:
            for q in self._subscribers:
                q.put(msg)


def _of_type(mission_type: int) -> Callable[[Any], bool]:
    """Mission-protocol messages about one list: the flight plan (0), the fence (1) or rally (2)."""
    return lambda msg: getattr(msg, "mission_type", 0) == mission_type


_plan = _of_type(MAV_MISSION_TYPE_MISSION)


def _enum_name(enum: str, value: int) -> str:
    entry = _mav().enums.get(enum, {}).get(value)
    return entry.name if entry is not None else f"{enum}({value})"
