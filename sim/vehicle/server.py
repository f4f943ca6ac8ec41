"""The imperative shell: simulated clock with speedup, sockets, link faults; the in-process API.

:class:`SimVehicle` runs one :class:`~sim.vehicle.core.VehicleCore` in a loop (in a
background thread with :meth:`SimVehicle.start`, or in the caller's with :meth:`SimVehicle.run`):

1. step the physics in fixed simulated steps (``1/physics_hz``) until simulated time has
   caught up with ``wall time x speedup``; everything a step emits is sent at once;
2. wait on the sockets until the next step is due, decode what arrived, hand each message
   to the core and send its replies to every link (ArduPilot-style routing).

If the machine cannot keep up, the loop runs as fast as it can and re-anchors the clock, so
simulated time slows down rather than the loop falling ever further behind;
:attr:`SimVehicle.achieved_speedup` says what it really reaches.

Link faults act here, on whole messages: a blackout window drops everything both ways,
packet loss drops messages at random per link (outgoing) or per message (incoming).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

import contract.mavlink  # noqa: F401  (MAVLINK20 + ardupilotmega before pymavlink)
from sim.settings import VehicleSettings
from sim.vehicle.core import AUTOPILOT_COMPID, VehicleCore
from sim.vehicle.faults import LinkLoss
from sim.vehicle.links import Link, Links
from sim.vehicle.snapshot import Snapshot

log = logging.getLogger("riverpatrol.sim.vehicle")
T = TypeVar("T")

MAX_STEPS_PER_TURN = 20  # physics steps between two socket polls when behind
MAX_LAG_S = 0.25  # wall seconds behind schedule before the clock is re-anchored


class SimVehicle:
    """A simulated ArduCopter on the wire. See :mod:`sim.vehicle` for the API in one place."""

    def __init__(self, settings: VehicleSettings | None = None, **overrides: Any) -> None:
        base = settings if settings is not None else VehicleSettings()
        if overrides:
            base = VehicleSettings.model_validate({**base.model_dump(), **overrides})
        self.settings = base
        self.core = VehicleCore(base)
        self.loss = LinkLoss(base.loss_out_pct, base.loss_in_pct, base.seed)
        self.links = Links(
            tcp_host=base.tcp_host,
            tcp_port=base.tcp_port if base.tcp else None,
            udp_out=base.udp_endpoints(),
            sysid=self.core.sysid,
            compid=AUTOPILOT_COMPID,
        )
        self.links.on_event = self._link_event
        self.counts: Counter[str] = Counter()
        self.achieved_speedup = 0.0
        self.blackout_active = False
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._started = threading.Event()
        self._calls: queue.SimpleQueue[tuple[Callable[[VehicleCore], Any], Future]] = queue.SimpleQueue()
        self._opened = False
        self._finished = False
        self._error: BaseException | None = None
        self._status_cb: Callable[[SimVehicle], None] | None = None
        self._metrics_server: Any = None
        self._bad_logged: dict[str, float] = {}

    # --- lifecycle ----------------------------------------------------------------------------

    def open(self) -> None:
        """Bind the sockets (so ports are known) without starting the clock."""
        if not self._opened:
            self.links.open()
            self._opened = True
            log.info(
                "vehicle listening",
                extra={
                    "fields": {
                        "tcp": f"{self.settings.tcp_host}:{self.tcp_port}" if self.tcp_port else None,
                        "udp_out": self.settings.udp_out,
                        "sysid": self.core.sysid,
                        "speedup": self.settings.speedup,
                    }
                },
            )
            if self.settings.metrics_port is not None:
                from sim.vehicle.observe import start_metrics

                self._metrics_server = start_metrics(
                    self, self.settings.metrics_host, self.settings.metrics_port
                )

    def start(self) -> SimVehicle:
        """Bind and run in a daemon thread; returns once the TCP port accepts connections."""
        if self._thread is not None:
            return self
        self.open()
        self._thread = threading.Thread(target=self._run_guarded, name="sim-vehicle", daemon=True)
        self._thread.start()
        self._started.wait(5.0)
        return self

    def run(self, status: Callable[[SimVehicle], None] | None = None) -> None:
        """Run in the calling thread until :meth:`stop` (or ``duration``); ``status`` ~4x a second."""
        self._status_cb = status
        self.open()
        self._run_guarded()

    def request_stop(self) -> None:
        """Ask the loop to end after its current turn (safe from signal handlers)."""
        self._stop.set()

    def stop(self, timeout: float = 5.0) -> None:
        """End the loop (idempotent); sockets close with it, or here if it never ran."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        elif self._thread is None and self._opened and not self._finished:
            self._finished = True
            self.links.close()
            if self._metrics_server is not None:
                self._metrics_server.shutdown()
                self._metrics_server = None
        self._thread = None

    def __enter__(self) -> SimVehicle:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._started.is_set() and not self._stop.is_set() and not self._finished

    @property
    def error(self) -> BaseException | None:
        """The exception that ended the loop, if one did."""
        return self._error

    # --- what tests and demos read ------------------------------------------------------------

    @property
    def tcp_port(self) -> int | None:
        return self.links.tcp_port

    @property
    def udp_local_ports(self) -> list[int]:
        """Local ports of the UDP out sockets (a GCS may also send to these)."""
        return self.links.udp_local_ports

    @property
    def metrics_port(self) -> int | None:
        """Port of the Prometheus endpoint (``metrics_port=0`` picks a free one)."""
        return self._metrics_server.port if self._metrics_server is not None else None

    @property
    def sim_time(self) -> float:
        return self.core.t

    def snapshot(self) -> Snapshot:
        """The latest immutable state (truth, estimate, status); safe from any thread."""
        return self.core.snapshot

    def wait_for(self, predicate: Callable[[Snapshot], bool], timeout: float = 30.0) -> Snapshot:
        """Poll snapshots until ``predicate`` holds; ``TimeoutError`` after ``timeout`` wall seconds."""
        deadline = time.monotonic() + timeout
        while True:
            s = self.snapshot()
            if predicate(s):
                return s
            if self._error is not None:
                raise RuntimeError("simulator loop failed") from self._error
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"condition not met within {timeout}s (sim t={s.t:.1f}s, mode {s.mode_name})"
                )
            time.sleep(0.005)

    def call(self, fn: Callable[[VehicleCore], T], timeout: float = 5.0) -> T:
        """Run ``fn(core)`` inside the loop thread (thread-safe access to the core) and return its result."""
        if self._thread is None or threading.current_thread() is self._thread or not self.running:
            return fn(self.core)
        fut: Future = Future()
        self._calls.put((fn, fut))
        return fut.result(timeout)

    def set_param(self, name: str, value: float) -> float:
        """Set a parameter as a PARAM_SET would (but without a reply on the links)."""
        return self.call(lambda c: c.params.set(name, value))

    def clients(self) -> int:
        return self.links.tcp_clients

    # --- the loop -----------------------------------------------------------------------------

    def _run_guarded(self) -> None:
        try:
            self._loop()
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # surface to wait_for() and the CLI instead of dying silently
            self._error = e
            log.exception("simulator loop failed")
            raise
        finally:
            self._finished = True
            self._started.set()
            self.links.close()
            if self._metrics_server is not None:
                self._metrics_server.shutdown()
                self._metrics_server = None

    def _link_now(self, wall: float) -> float:
        return wall if self.settings.link_clock == "wall" else self.core.t

    def _loop(self) -> None:
        s = self.settings
        core = self.core
        dt = 1.0 / s.physics_hz
        speedup = s.speedup
        wall0 = time.monotonic()
        sim0 = core.t
        rate_wall, rate_sim = wall0, core.t
        next_status = wall0
        self._started.set()
        while not self._stop.is_set():
            now = time.monotonic()
            target = sim0 + (now - wall0) * speedup
            steps = 0
            while core.t + dt <= target + 1e-9 and steps < MAX_STEPS_PER_TURN:
                out = core.step(dt, self._link_now(now))
                self._send(out)
                steps += 1
            if (target - core.t) / speedup > MAX_LAG_S:
                wall0, sim0 = time.monotonic(), core.t  # cannot keep up: slip the clock
                self.counts["clock_slips"] += 1
            if s.duration and core.t >= s.duration:
                break
            behind = core.t + dt <= target
            wait = 0.0 if behind else max(0.0, (core.t + dt - target) / speedup)
            for link, msg in self.links.poll(min(wait, 0.05)):
                self._receive(link, msg)
            self._run_calls()
            now = time.monotonic()
            if now - rate_wall >= 1.0:
                self.achieved_speedup = (core.t - rate_sim) / (now - rate_wall)
                rate_wall, rate_sim = now, core.t
            if now >= next_status:
                next_status = now + 0.25
                if self._status_cb is not None:
                    self._status_cb(self)
        self._run_calls()

    def _run_calls(self) -> None:
        while True:
            try:
                fn, fut = self._calls.get_nowait()
            except queue.Empty:
                return
            try:
                fut.set_result(fn(self.core))
            except BaseException as e:
                fut.set_exception(e)

    def _blackout(self) -> bool:
        active = self.core.plan.blackout(self.core.t)
        if active != self.blackout_active:
            self.blackout_active = active
            log.info(
                "blackout " + ("start" if active else "end"), extra={"fields": {"t": round(self.core.t, 2)}}
            )
        return active

    def _send(self, msgs: list) -> None:
        if not msgs:
            return
        if self._blackout():
            self.counts["tx_dropped_blackout"] += len(msgs) * max(1, len(self.links.links))
            return
        self.links.sysid = self.core.sysid
        drop = self.loss.drop_out if self.loss.out_p > 0 else None
        before = sum(lk.sent for lk in self.links.links)
        self.links.send(msgs, drop)
        sent = sum(lk.sent for lk in self.links.links) - before
        self.counts["tx"] += sent
        for m in msgs:
            self.counts["tx_" + m.get_type()] += 1

    def _receive(self, link: Link, msg: object) -> None:
        mtype = msg.get_type()  # type: ignore[attr-defined]
        if mtype == "BAD_DATA":
            self.counts["rx_bad"] += 1
            self.core.comm_errors += 1
            now = time.monotonic()
            if now - self._bad_logged.get(link.name, -1e9) > 5.0:  # say what and where, not 1000x
                self._bad_logged[link.name] = now
                log.warning(
                    "undecodable input",
                    extra={
                        "fields": {
                            "link": link.name,
                            "reason": getattr(msg, "reason", "?"),
                            "total": link.bad,
                        }
                    },
                )
            return
        if self._blackout():
            self.counts["rx_dropped_blackout"] += 1
            return
        if self.loss.in_p > 0 and self.loss.drop_in():
            self.counts["rx_dropped_loss"] += 1
            return
        self.counts["rx"] += 1
        try:
            out = self.core.handle(msg, self._link_now(time.monotonic()))
        except Exception:
            # a message that trips the core must not take the vehicle down: log, count, go on
            self.counts["rx_handler_errors"] += 1
            log.exception("error handling %s from %s", mtype, link.name)
            return
        self._send(out)

    def _link_event(self, event: str, fields: dict) -> None:
        log.info(event, extra={"fields": fields})
