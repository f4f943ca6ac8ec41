"""The telemetry link: a thread that owns the MAVLink connection to the autopilot.

It (re)opens the connection, sends our companion heartbeat at 1 Hz, waits for the autopilot's
heartbeat, requests streams (and re-requests them when they do not come, after a link loss
and after a vehicle reboot), feeds every decoded message to the ``StateTracker`` and watches
for link loss. Everything it decides comes from the pure modules; this file only does I/O.
"""

from __future__ import annotations

import contextlib
import logging
import select
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import contract.mavlink  # noqa: F401  (sets MAVLINK20 and the dialect before pymavlink loads)
from contract.messages import Flight
from edge.settings import EdgeSettings
from edge.telemetry.logbook import FlightLog
from edge.telemetry.pose import Pose, PoseHistory
from edge.telemetry.state import Digest, StateTracker, VehicleState
from edge.telemetry.streams import data_stream_rates, interval_us, message_rates
from edge.telemetry.watch import LinkEvent, LinkWatch, StreamWatch

log = logging.getLogger(__name__)

_READ_SIZE = 4096


class LinkClosed(OSError):
    """The peer closed a stream connection."""


class LinkConfigError(ValueError):
    """The connection string cannot work on this machine (bad syntax, missing serial support)."""


def open_connection(settings: EdgeSettings) -> Any:
    """A pymavlink connection for ``settings.mavlink``, never auto-reconnecting (we do that)."""
    from pymavlink import mavutil

    try:
        return mavutil.mavlink_connection(
            settings.mavlink,
            baud=settings.baud,
            source_system=settings.source_system,
            source_component=settings.source_component,
            autoreconnect=False,
            retries=0,
        )
    except ImportError as e:  # pymavlink imports pyserial only for serial devices
        raise LinkConfigError(
            f"mavlink={settings.mavlink!r} is a serial device and needs pyserial: {e}"
        ) from e
    except ValueError as e:
        raise LinkConfigError(f"mavlink={settings.mavlink!r} is not a valid connection string: {e}") from e


def read_available(conn: Any) -> bytes:
    """Bytes waiting on ``conn``; raises ``LinkClosed`` when a TCP peer hung up.

    pymavlink's own TCP ``recv`` prints and hides EOF, so stream sockets are read directly.
    """
    from pymavlink import mavutil

    if isinstance(conn, mavutil.mavtcp):
        try:
            data = conn.port.recv(_READ_SIZE)
        except BlockingIOError:
            return b""
        if not data:
            raise LinkClosed(f"{conn.address} closed the connection")
        return data
    data = conn.recv(_READ_SIZE)
    return bytes(data) if data else b""


#: How many times the board id is asked for while the autopilot does not answer.
BOARD_ASKS = 10


class TelemetryLink:
    """Background MAVLink link to the vehicle, exposing a snapshot of its state and pose lookup."""

    def __init__(
        self,
        settings: EdgeSettings,
        on_flight: Callable[[Flight], None] | None = None,
        flight_checkpoint: Path | None = None,
    ) -> None:
        self.settings = settings
        #: The drone's own logbook (kept where ``on_flight`` takes each landed flight), its flight in
        #: the air checkpointed to ``flight_checkpoint``.
        self.flights = FlightLog(settings.drone_id, flight_checkpoint, settings.flight_checkpoint_s)
        self.on_flight = on_flight
        self.tracker = StateTracker(
            PoseHistory(settings.pose_history_s, settings.pose_max_extrapolation_s, settings.pose_max_gap_s),
            reboot_tolerance_s=settings.reboot_tolerance_s,
            statustext_keep=settings.statustext_keep,
        )
        self.link_watch = LinkWatch(settings.link_timeout)
        self.stream_watch = StreamWatch(settings.stream_check_s)
        self._board_asked: float | None = None  # when AUTOPILOT_VERSION was last asked for
        self._board_asks = 0  # asked since the link came up, unanswered
        self.connects = 0
        self.connect_errors = 0
        self.internal_errors = 0
        self.fatal: str | None = None  # set when the link cannot ever work (bad configuration)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._locked = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: Any = None

    # -- public API (thread-safe) -----------------------------------------------------------

    def start(self) -> TelemetryLink:
        self._thread = threading.Thread(target=self._run, name="telemetry-link", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> TelemetryLink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_for_vehicle(self, timeout: float) -> bool:
        """True once the autopilot's heartbeat was seen; False after ``timeout`` s or if misconfigured."""
        deadline = time.monotonic() + timeout
        while self.fatal is None:
            if self._locked.wait(min(0.1, max(0.0, deadline - time.monotonic()))):
                return True
            if time.monotonic() >= deadline:
                return False
        return False

    def snapshot(self) -> VehicleState:
        """A consistent copy of the vehicle state."""
        with self._lock:
            return self.tracker.state.snapshot()

    def pose_at(self, time_boot_s: float) -> Pose:
        """Pose at a vehicle time; ``PoseUnavailable`` when there is no trustworthy one."""
        with self._lock:
            return self.tracker.poses.pose_at(time_boot_s)

    def vehicle_time_at(self, monotonic: float) -> float | None:
        """Vehicle time at a local ``time.monotonic()`` instant (for frames stamped locally)."""
        with self._lock:
            return self.tracker.vehicle_time_at(monotonic)

    def health(self) -> dict[str, Any]:
        """Health indicator: ``ok`` when the link is up and poses stream, else what is wrong."""
        now = time.monotonic()
        with self._lock:
            s = self.tracker.state
            silent = self.link_watch.silent_for(now)
            if self.fatal is not None:
                status = "misconfigured"
            elif s.system_id is None:
                status = "waiting_for_vehicle"
            elif not s.link_up:
                status = "link_lost"
            elif s.position_time_boot_s is None or self.stream_watch.due(now):
                status = "no_streams"
            else:
                status = "ok"
            return {
                "status": status,
                "ok": status == "ok",
                "error": self.fatal,
                "last_heard_s": silent,
                "link_losses": s.link_losses,
                "reboots": s.counters.reboots,
                "bad_data": s.counters.bad_data,
                "message_rate_hz": s.message_rate_hz,
                "board_id": s.board_id,
            }

    # -- the thread -------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn = open_connection(self.settings)
            except LinkConfigError as e:
                self.fatal = str(e)
                log.error("event=link_misconfigured error=%s", e)
                return
            except OSError as e:
                self.connect_errors += 1
                log.warning("event=connect_failed url=%s error=%r", self.settings.mavlink, e)
                self._stop.wait(self.settings.reconnect_delay)
                continue
            self.connects += 1
            log.info("event=connected url=%s", self.settings.mavlink)
            self._conn = conn
            try:
                self._serve(conn)
            except OSError as e:
                log.warning("event=connection_closed url=%s error=%r", self.settings.mavlink, e)
            except Exception:  # a bug must not end telemetry for the flight: log it, reconnect
                self.internal_errors += 1
                log.exception("event=link_internal_error url=%s", self.settings.mavlink)
            finally:
                with contextlib.suppress(OSError):
                    conn.close()
                self._conn = None
            with self._lock:
                self.stream_watch.reset()  # a new connection is a new GCS to the vehicle
            self._stop.wait(self.settings.reconnect_delay)

    def _serve(self, conn: Any) -> None:
        next_heartbeat = 0.0
        fd = conn.fd
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_heartbeat:
                self._send_heartbeat(conn)
                next_heartbeat = now + 1.0
            self._housekeeping(conn, now)
            wait = max(0.0, min(0.1, next_heartbeat - now))
            if fd is not None:
                readable, _, _ = select.select([fd], [], [], wait)
                if not readable:
                    continue
            elif wait:
                time.sleep(wait)
            data = read_available(conn)
            if not data:
                continue
            msgs = conn.mav.parse_buffer(data) or []
            if msgs:
                self._digest_all(conn, msgs, time.monotonic())

    def _digest_all(self, conn: Any, msgs: list[Any], now: float) -> None:
        request = locked = False
        accepted: list[Any] = []
        utc: float | None = None
        with self._lock:
            tracker, s = self.tracker, self.tracker.state
            for msg in msgs:
                result = tracker.digest(msg, now)
                if result is Digest.IGNORED:
                    continue
                accepted.append(msg)
                event = self.link_watch.heard(now)
                if event is not None:
                    s.link_up = True
                    if event is LinkEvent.RECOVERED:
                        log.warning("event=link_recovered url=%s", self.settings.mavlink)
                        self.stream_watch.reset()
                        request = True
                if result is Digest.STREAM:
                    self.stream_watch.seen(now)
                elif result is Digest.LOCKED:
                    locked = True
                    self._locked.set()
                    self.stream_watch.reset()
                    request = True
                elif result is Digest.REBOOTED:
                    self.stream_watch.reset()
                    request = True
            tb = tracker.vehicle_time_at(now)
            utc = s.utc_at(tb) if tb is not None else None
        if self.on_flight is not None:  # the logbook's disk and the outbox's, off the lock
            # the vehicle's GPS time where it said it (SYSTEM_TIME): a companion computer in the
            # field may have no network to set its own clock by
            t = utc if utc is not None else time.time()
            for msg in accepted:
                if (flight := self.flights.feed(msg, t)) is not None:
                    self.on_flight(flight)
                    self.flights.landed_and_queued()
        if locked:  # on udpin links the vehicle only now learns where we are: say hello at once
            self._send_heartbeat(conn)
        if request:
            self._request_streams(conn, now)

    def _housekeeping(self, conn: Any, now: float) -> None:
        with self._lock:
            event = self.link_watch.check(now)
            if event is LinkEvent.LOST:
                self.tracker.state.link_up = False
                self.tracker.state.link_losses = self.link_watch.losses
                log.warning(
                    "event=link_lost url=%s silent_s=%.1f losses=%d",
                    self.settings.mavlink,
                    now - (self.link_watch.last_heard or now),
                    self.link_watch.losses,
                )
            due = self.tracker.target is not None and self.link_watch.up and self.stream_watch.due(now)
            ask = (
                not due
                and self.tracker.target is not None
                and self.link_watch.up
                and self.tracker.state.board_id is None
                and self._board_asks < BOARD_ASKS
                and (self._board_asked is None or now - self._board_asked >= self.settings.stream_check_s)
            )
        if due:
            self._request_streams(conn, now)
        elif ask:
            self._ask_board_id(conn, now)

    def _send_heartbeat(self, conn: Any) -> None:
        from pymavlink import mavutil

        m = mavutil.mavlink
        mav_type, autopilot = m.MAV_TYPE_ONBOARD_CONTROLLER, m.MAV_AUTOPILOT_INVALID
        conn.mav.heartbeat_send(mav_type, autopilot, 0, 0, m.MAV_STATE_ACTIVE)

    def _request_streams(self, conn: Any, now: float) -> None:
        from pymavlink import mavutil

        m = mavutil.mavlink
        target = self.tracker.target
        if target is None:
            return
        sysid, compid = target
        pose_hz, status_hz = self.settings.stream_rate_hz, self.settings.status_rate_hz
        for name, hz in message_rates(pose_hz, status_hz).items():
            msg_id = getattr(m, f"MAVLINK_MSG_ID_{name}")
            conn.mav.command_long_send(
                sysid, compid, m.MAV_CMD_SET_MESSAGE_INTERVAL, 0, msg_id, interval_us(hz), 0, 0, 0, 0, 0
            )
        for stream_id, rate in data_stream_rates(pose_hz, status_hz).items():
            conn.mav.request_data_stream_send(sysid, compid, stream_id, rate, 1)
        with self._lock:
            self.stream_watch.requested(now)
            self.tracker.state.stream_requests = self.stream_watch.requests
            unknown_board = self.tracker.state.board_id is None
        log.info("event=streams_requested system=%d pose_hz=%s status_hz=%s", sysid, pose_hz, status_hz)
        if unknown_board:
            self._ask_board_id(conn, now)

    def _ask_board_id(self, conn: Any, now: float) -> None:
        """Ask for AUTOPILOT_VERSION: its board id goes out in the telemetry, and tells a ground
        station which agent rides on the vehicle it talks to. Asked again each ``stream_check_s``
        until it comes (a request lost on the link), ``BOARD_ASKS`` times at most (an autopilot
        that never says it: the station then tells this agent by where its drone is)."""
        from pymavlink import mavutil

        m = mavutil.mavlink
        target = self.tracker.target
        if target is None:
            return
        self._board_asked, self._board_asks = now, self._board_asks + 1
        msg_id = m.MAVLINK_MSG_ID_AUTOPILOT_VERSION
        conn.mav.command_long_send(*target, m.MAV_CMD_REQUEST_MESSAGE, 0, msg_id, 0, 0, 0, 0, 0, 0)
