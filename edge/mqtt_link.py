"""The drone's MQTT link: alerts from the outbox at-least-once and in order; status, telemetry, fleet alerts.

Delivery contract. The outbox (``edge.outbox``) is the only copy of an unsent alert. One worker
thread owns the sending state: it publishes the oldest pending rows at QoS 1 (at most
``max_inflight`` unacknowledged), and deletes a row only when the broker's PUBACK for its
message id arrives. On every (re)connect paho's own retry queue is dropped and the worker starts
again from the oldest pending row, so after an outage exactly the unacknowledged alerts go out
again, in their original order, and nothing acknowledged is sent twice. A duplicate on the wire
is still possible where it must be (at-least-once): a PUBACK lost with the connection, or a
crash between the PUBACK and the outbox commit, resends up to ``max_inflight`` alerts; the
consumer keeps the highest ``(alert_id, revision)`` it has seen, so they are harmless.

Status: ``DroneStatus(online=True)`` is published retained on connect, and the broker publishes
the retained last will ``DroneStatus(online=False)`` if we vanish; a clean stop publishes it
itself. Fleet alerts (every drone's ``alerts`` topic) are validated and handed to
``on_remote_alert`` (our own echoes skipped) **on the MQTT network thread**: hand them to the
agent loop (e.g. a ``queue.SimpleQueue``) before touching the tracker.

Reconnects use paho's exponential backoff between ``reconnect_min_s`` and ``reconnect_max_s``.
"""

from __future__ import annotations

import logging
import queue
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from prometheus_client import CollectorRegistry, Counter, Gauge
from pydantic import ValidationError

from contract import topics
from contract.broker import BrokerAuth
from contract.defaults import MQTT_HOST, MQTT_PORT
from contract.messages import Alert, DroneStatus, Telemetry, where_invalid
from edge.outbox import Outbox, OutboxFull

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LinkConfig:
    """Broker address, credentials and the link's pacing."""

    drone_id: str
    host: str = MQTT_HOST
    port: int = MQTT_PORT
    tls: bool = False
    ca_file: str | None = None  # None with tls: the system trust store
    username: str | None = None
    password: str | None = None
    client_id: str | None = None  # default riverpatrol-edge-<drone_id>
    clean_session: bool = False  # keep our fleet subscription's queue across outages
    keepalive_s: int = 10
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    max_inflight: int = 10
    telemetry_min_interval_s: float = 1.0
    stop_timeout_s: float = 3.0
    #: A connection the broker closes sooner than this after accepting it is short; this many
    #: in a row and the link is flapping (``ShortSessions``).
    short_session_s: float = 3.0
    short_session_runs: int = 3

    def __post_init__(self) -> None:
        topics.drone_topic(self.drone_id, topics.STATUS)  # validates the id, names it when bad
        if not 0 < self.reconnect_min_s <= self.reconnect_max_s:
            raise ValueError("LinkConfig: need 0 < reconnect_min_s <= reconnect_max_s")
        if self.max_inflight < 1:
            raise ValueError(f"LinkConfig.max_inflight must be >= 1, got {self.max_inflight}")


class ShortSessions:
    """Tells a link the broker keeps closing right after accepting it. Another client connecting
    with our client id (two drones given one ``drone_id``: a memory card copied from another
    drone's) takes the session over, and our reconnect takes it back: both links flap every
    second or two and each sends in snatches. A radio dropout instead ends a connection by the
    keep-alive and its reconnects fail for a while, so it does not read as a run of short ones.
    Pure: every call takes the monotonic ``now``."""

    def __init__(self, short_s: float, runs: int) -> None:
        self.short_s, self.runs = short_s, runs
        self.run = 0  # short connections in a row
        self._up_at: float | None = None

    def connected(self, now: float) -> None:
        self._up_at = now

    def lost(self, now: float) -> bool:
        """One connection ended; True when this one makes the run (``runs`` short ones in a row)."""
        if self._up_at is not None:
            self.run = self.run + 1 if now - self._up_at < self.short_s else 0
        self._up_at = None
        return self.run == self.runs

    def flapping(self, now: float) -> bool:
        """Still flapping: a run of short connections, and none since has lasted ``short_s``."""
        held = self._up_at is not None and now - self._up_at >= self.short_s
        if held:
            self.run = 0
        return self.run >= self.runs


@dataclass(frozen=True, slots=True)
class LinkHealth:
    connected: bool
    outbox_depth: int
    inflight: int
    seconds_since_ack: float | None
    last_error: str
    #: Why the link flaps, while it does (``ShortSessions``); empty otherwise.
    flapping: str = ""

    @property
    def ok(self) -> bool:
        return self.connected


class LinkMetrics:
    """Prometheus series of the link (pass a registry to expose them; a private one by default)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        p = "riverpatrol_edge_"
        self.queued = Counter(p + "alerts_queued", "Alerts accepted into the outbox", registry=registry)
        self.published = Counter(p + "alerts_published", "Alert publishes put on the wire", registry=registry)
        self.sent = Counter(
            p + "alerts_sent", "Alerts acknowledged by the broker (PUBACK)", registry=registry
        )
        self.dropped = Counter(
            p + "alerts_dropped", "Alerts lost to the outbox policy or refused", ["reason"], registry=registry
        )
        self.link_up = Gauge(p + "mqtt_link_up", "1 while connected to the broker", registry=registry)
        self.connects = Counter(p + "mqtt_connects", "Successful broker connections", registry=registry)
        self.link_errors = Counter(
            p + "mqtt_link_errors", "Failed or lost broker connections", ["kind"], registry=registry
        )
        self.short_sessions = Counter(
            p + "mqtt_short_sessions",
            "Broker connections closed within short_session_s of being accepted",
            registry=registry,
        )
        self.outbox_depth = Gauge(p + "outbox_depth", "Alerts waiting for a PUBACK", registry=registry)
        self.outbox_bytes = Gauge(
            p + "outbox_bytes", "Payload bytes waiting in the outbox", registry=registry
        )
        self.remote = Counter(p + "remote_alerts", "Other drones' alerts received", registry=registry)
        self.remote_rejected = Counter(
            p + "remote_alerts_rejected", "Malformed fleet alerts rejected", ["reason"], registry=registry
        )
        self.flights_queued = Counter(
            p + "flights_queued", "Landed flights' records accepted into the outbox", registry=registry
        )
        self.flights_sent = Counter(
            p + "flights_sent", "Flight records acknowledged by the broker (PUBACK)", registry=registry
        )
        self.telemetry = Counter(p + "telemetry_sent", "Telemetry summaries published", registry=registry)
        self.telemetry_skipped = Counter(
            p + "telemetry_skipped", "Telemetry summaries not sent (offline)", registry=registry
        )


class MqttLink:
    """Start it, ``enqueue`` alert JSON, ``publish_telemetry`` once a second, ``stop`` at the end."""

    def __init__(
        self,
        cfg: LinkConfig,
        outbox: Outbox,
        on_remote_alert: Callable[[Alert], None] | None = None,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.cfg = cfg
        self.outbox = outbox
        self.on_remote_alert = on_remote_alert
        self.metrics = LinkMetrics(registry or CollectorRegistry())
        self.metrics.outbox_depth.set_function(outbox.depth)
        self.metrics.outbox_bytes.set_function(outbox.queued_bytes)
        self._alerts_topic = topics.drone_topic(cfg.drone_id, topics.ALERTS)
        self._status_topic = topics.drone_topic(cfg.drone_id, topics.STATUS)
        self._telemetry_topic = topics.drone_topic(cfg.drone_id, topics.TELEMETRY)
        self._flights_topic = topics.drone_topic(cfg.drone_id, topics.FLIGHTS)
        self._flight_rows: set[int] = set()  # outbox rows in flight that are flight records
        self._events: queue.SimpleQueue[tuple] = queue.SimpleQueue()
        self._conn_lock = threading.Lock()  # epoch + paho queue changes vs. the worker's publish
        self._epoch = 0
        self._connected = False
        self._inflight_count = 0
        self._last_ack: float | None = None
        self._last_telemetry = -float("inf")
        self.last_error = ""
        self._sessions = ShortSessions(cfg.short_session_s, cfg.short_session_runs)
        self._stopping = False
        self.fleet_subscribed = threading.Event()  # set once the broker granted the fleet subscription
        self._worker: threading.Thread | None = None
        self._idle = threading.Event()
        self._client = self._make_client()

    # ---------------------------------------------------------------- lifecycle
    def _make_client(self) -> mqtt.Client:
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.cfg.client_id or f"riverpatrol-edge-{self.cfg.drone_id}",
            clean_session=self.cfg.clean_session,
        )
        cfg = self.cfg
        BrokerAuth(cfg.username or "", cfg.password or "", cfg.tls, cfg.ca_file or "").apply(c)
        # The broker sends the will later, so it carries no (stale) time.
        will = DroneStatus(drone_id=self.cfg.drone_id, online=False, reason="link lost")
        c.will_set(self._status_topic, will.model_dump_json(), qos=1, retain=True)
        c.reconnect_delay_set(self.cfg.reconnect_min_s, self.cfg.reconnect_max_s)  # type: ignore[arg-type]
        c.max_inflight_messages_set(self.cfg.max_inflight + 10)  # never let paho hold ours back
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        c.on_message = self._on_message
        c.on_subscribe = self._on_subscribe
        return c

    def start(self) -> None:
        """Connect (or keep trying in the background) and start sending. Never raises for the broker."""
        self._worker = threading.Thread(target=self._run, name="mqtt-outbox", daemon=True)
        self._worker.start()
        where = f"{self.cfg.host}:{self.cfg.port}"
        try:
            self._client.connect(self.cfg.host, self.cfg.port, self.cfg.keepalive_s)
        except (OSError, ssl.SSLError) as e:
            self.last_error = f"MQTT broker {where} unreachable: {e}"
            self.metrics.link_errors.labels("connect_failed").inc()
            log.error("%s; alerts stay queued in the outbox and the link keeps retrying", self.last_error)
            self._client.connect_async(self.cfg.host, self.cfg.port, self.cfg.keepalive_s)
        self._client.loop_start()
        log.info("mqtt link: drone %s -> %s (tls=%s)", self.cfg.drone_id, where, self.cfg.tls)

    def stop(self) -> None:
        """Say we are going offline (retained), disconnect cleanly, stop the threads."""
        self._stopping = True
        if self._connected:
            info = self._client.publish(
                self._status_topic, self._status(False, "shutdown"), qos=1, retain=True
            )
            try:
                info.wait_for_publish(self.cfg.stop_timeout_s)
            except (RuntimeError, ValueError) as e:
                log.warning("mqtt link: offline status not confirmed: %s", e)
        self._client.disconnect()
        self._client.loop_stop()
        self._events.put(("stop",))
        if self._worker:
            self._worker.join(self.cfg.stop_timeout_s)
        self.metrics.link_up.set(0)

    # ---------------------------------------------------------------- API
    @property
    def connected(self) -> bool:
        return self._connected

    def enqueue(self, payload: bytes | str) -> int:
        """Queue one serialised alert durably and wake the sender; the outbox row id.

        Raises ``OutboxFull`` or ``ValueError`` (counted) when the outbox refuses it.
        """
        before = dict(self.outbox.stats.dropped)
        try:
            rid = self.outbox.put(payload)
        except OutboxFull:
            self.metrics.dropped.labels("outbox_full").inc()
            raise
        except ValueError:
            self.metrics.dropped.labels("invalid").inc()
            raise
        finally:
            for kind, n in self.outbox.stats.dropped.items():
                if n > before.get(kind, 0):
                    self.metrics.dropped.labels(f"policy_{kind}").inc(n - before.get(kind, 0))
        self.metrics.queued.inc()
        self._idle.clear()
        self._events.put(("wake",))
        return rid

    def enqueue_flight(self, payload: bytes) -> int:
        """Queue the drone's record of a landed flight (``Flight`` JSON) durably; its row id.

        Raises like :meth:`enqueue` (a disk error: the caller holds it, ``HeldAlerts``)."""
        rid = self.outbox.put(payload)
        self.metrics.flights_queued.inc()
        self._idle.clear()
        self._events.put(("wake",))
        return rid

    def publish_telemetry(self, t: Telemetry) -> bool:
        """Publish a telemetry summary (QoS 0) if connected and due; True when it went out."""
        now = time.monotonic()
        if now - self._last_telemetry < self.cfg.telemetry_min_interval_s:
            return False
        if not self._connected:
            self.metrics.telemetry_skipped.inc()
            return False
        t = t.model_copy(update={"outbox_backlog": self.outbox.depth(), "link_ok": True})
        # no warning, no field: a ground station from before it (the wire refuses unknown fields)
        # still reads a drone that has nothing to warn of
        payload = t.model_dump_json(exclude={"warning"} if t.warning is None else None)
        info = self._client.publish(self._telemetry_topic, payload, qos=0)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            self.metrics.telemetry_skipped.inc()
            return False
        self._last_telemetry = now
        self.metrics.telemetry.inc()
        return True

    def health(self) -> LinkHealth:
        return LinkHealth(
            connected=self._connected,
            outbox_depth=self.outbox.depth(),
            inflight=self._inflight_count,
            seconds_since_ack=None if self._last_ack is None else time.monotonic() - self._last_ack,
            last_error=self.last_error,
            flapping=self._flapping_why() if self._sessions.flapping(time.monotonic()) else "",
        )

    def _flapping_why(self) -> str:
        client_id = self.cfg.client_id or f"riverpatrol-edge-{self.cfg.drone_id}"
        return (
            f"the broker at {self.cfg.host}:{self.cfg.port} closed this agent's connection within"
            f" {self.cfg.short_session_s:g} s of accepting it {self._sessions.run} times running:"
            f" is another client connected as {client_id!r} (another drone given drone_id"
            f" {self.cfg.drone_id!r})? Or the broker refuses something sent (its log says which)."
            " Alerts stay queued and go out in snatches"
        )

    def wait_idle(self, timeout: float) -> bool:
        """Block until the outbox is empty and nothing is in flight (tests, clean shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.outbox.depth() == 0 and self._inflight_count == 0:
                return True
            self._idle.wait(0.05)
        return self.outbox.depth() == 0

    # ---------------------------------------------------------------- paho callbacks (network thread)
    def _status(self, online: bool, reason: str | None = None) -> str:
        return DroneStatus(
            drone_id=self.cfg.drone_id, online=online, time=datetime.now(UTC), reason=reason
        ).model_dump_json()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.last_error = (
                f"MQTT broker {self.cfg.host}:{self.cfg.port} refused the connection: {reason_code}"
            )
            self.metrics.link_errors.labels("refused").inc()
            log.error("%s; retrying with backoff", self.last_error)
            return
        sock = client.socket()
        if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
            # Small alerts and their PUBACKs otherwise wait on Nagle + delayed ACK (~40 ms a round).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._conn_lock:
            self._epoch += 1
            dropped = client.drop_out_messages()  # the worker resends from the outbox, in order
            self._connected = True
            self._events.put(("connected", self._epoch))
        self._sessions.connected(time.monotonic())
        self.metrics.connects.inc()
        self.metrics.link_up.set(1)
        self.last_error = ""
        log.info(
            "mqtt link up (%s:%d, session present=%s, %d unacked publishes will be resent from the outbox)",
            self.cfg.host,
            self.cfg.port,
            flags.session_present,
            len(dropped),
        )
        client.publish(self._status_topic, self._status(True), qos=1, retain=True)
        client.subscribe(topics.fleet_filter(topics.ALERTS), qos=1)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if any(rc.is_failure for rc in reason_codes):
            self.last_error = f"broker refused the fleet subscription: {reason_codes}"
            log.error("mqtt link: %s", self.last_error)
        else:
            self.fleet_subscribed.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        with self._conn_lock:
            was = self._connected
            self._epoch += 1
            self._connected = False
            self._events.put(("disconnected", self._epoch))
        self.metrics.link_up.set(0)
        if was and not self._stopping:
            self.last_error = f"MQTT link to {self.cfg.host}:{self.cfg.port} lost: {reason_code}"
            self.metrics.link_errors.labels("lost").inc()
            log.warning("%s; reconnecting with backoff, alerts stay queued", self.last_error)
            now = time.monotonic()
            if self._sessions.lost(now) or (self._sessions.run > 0 and self._sessions.run % 30 == 0):
                log.error("mqtt link flapping: %s", self._flapping_why())
            if self._sessions.run:
                self.metrics.short_sessions.inc()

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        # Called with paho's message lock held: only hand over, never block here.
        self._events.put(("ack", mid, bool(reason_code.is_failure)))

    def _on_message(self, client, userdata, msg: mqtt.MQTTMessage) -> None:
        try:
            drone, _ = topics.parse(msg.topic)
        except ValueError as e:
            self._reject("topic", str(e))
            return
        if drone == self.cfg.drone_id:
            return  # our own alert, echoed by the fleet filter
        try:
            alert = Alert.model_validate_json(msg.payload)
        except ValidationError as e:
            self._reject("invalid", f"alert on {msg.topic}: {where_invalid(e)}")
            return
        if alert.drone_id != drone:
            self._reject("drone_mismatch", f"alert on {msg.topic} claims drone {alert.drone_id!r}")
            return
        self.metrics.remote.inc()
        if self.on_remote_alert is not None:
            try:
                self.on_remote_alert(alert)
            except Exception:
                log.exception("mqtt link: on_remote_alert failed for alert %s", alert.alert_id)

    def _reject(self, reason: str, detail: str) -> None:
        self.metrics.remote_rejected.labels(reason).inc()
        log.warning("mqtt link: rejected fleet message (%s): %s", reason, detail)

    # ---------------------------------------------------------------- the sender (worker thread)
    def _run(self) -> None:
        inflight: dict[int, int] = {}  # paho mid -> outbox row id
        cursor = 0  # highest row id handed to paho on this connection
        epoch = -1
        connected = False
        while True:
            try:
                evs = [self._events.get(timeout=0.5)]
            except queue.Empty:
                evs = []
            while True:
                try:
                    evs.append(self._events.get_nowait())
                except queue.Empty:
                    break
            acked: list[int] = []
            for ev in evs:
                kind = ev[0]
                if kind == "stop":
                    return
                if kind == "ack":
                    rid = inflight.pop(ev[1], None)
                    if rid is not None and not ev[2]:
                        acked.append(rid)
                    elif rid is not None:
                        log.error("mqtt link: broker rejected alert row %d; resending on reconnect", rid)
                elif kind == "connected":
                    epoch, connected, cursor = ev[1], True, 0
                    inflight.clear()
                elif kind == "disconnected":
                    connected = False
                    inflight.clear()
            try:
                if acked:
                    flights = self._flight_rows.intersection(acked)
                    self._flight_rows -= flights
                    n = self.outbox.mark_sent(acked)
                    self.metrics.flights_sent.inc(len(flights))
                    self.metrics.sent.inc(max(n - len(flights), 0))
                    self._last_ack = time.monotonic()
                if connected:
                    cursor = self._drain(inflight, cursor, epoch)
            except Exception:  # a disk error must not kill the sender: log, back off, retry
                log.exception("mqtt link: outbox error; retrying")
                time.sleep(0.5)
            self._inflight_count = len(inflight)
            if not inflight and self.outbox.depth() == 0:
                self._idle.set()

    def _drain(self, inflight: dict[int, int], cursor: int, epoch: int) -> int:
        room = self.cfg.max_inflight - len(inflight)
        if room <= 0:
            return cursor
        for rid, event, payload in self.outbox.pending_events(room, after_id=cursor):
            topic = self._flights_topic if event == "flight" else self._alerts_topic
            with self._conn_lock:
                if self._epoch != epoch:  # (re)connected meanwhile: its event will reset us
                    return cursor
                try:
                    info = self._client.publish(topic, payload, qos=1)
                except (
                    ValueError
                ) as e:  # cannot happen for outbox rows (<= 16 KB JSON); never block the queue
                    log.error("mqtt link: alert row %d cannot be published (%s): dropped", rid, e)
                    self.outbox.mark_sent([rid])
                    self.metrics.dropped.labels("unpublishable").inc()
                    cursor = rid
                    continue
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                return cursor  # connection went away; paho's copy is dropped on reconnect
            inflight[info.mid] = rid
            cursor = rid
            if event == "flight":
                self._flight_rows.add(rid)
            else:
                self.metrics.published.inc()
        return cursor
