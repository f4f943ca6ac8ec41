"""Broker adapter: subscribes to every drone's status and telemetry and feeds a ``FleetState``."""

from __future__ import annotations

import logging
import threading
import time
import uuid

from prometheus_client import CollectorRegistry, Counter, Gauge

from contract import topics
from contract.broker import BrokerAuth
from ground_station.fleet.model import DroneRow, FleetState, Link

log = logging.getLogger(__name__)


class FleetListener:
    """A paho client (clean session, unique id) owning one ``FleetState`` behind a lock."""

    def __init__(
        self,
        host: str,
        port: int,
        stale_after_s: float,
        keepalive: int = 30,
        registry: CollectorRegistry | None = None,
        auth: BrokerAuth | None = None,
    ) -> None:
        import paho.mqtt.client as mqtt

        self.host, self.port = host, port
        self.state = FleetState(stale_after_s)
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.attempted = threading.Event()  # set on the first connect outcome, success or not
        #: Why the broker last refused us ("Not authorized": check mqtt_username/mqtt_password).
        self.refused = ""
        self._lock = threading.Lock()
        self._keepalive = keepalive
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"riverpatrol-status-{uuid.uuid4().hex[:8]}"
        )
        (auth or BrokerAuth()).apply(self._client)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = lambda *a, **k: self.subscribed.set()
        self._client.on_message = self._on_message
        self._client.on_connect_fail = lambda *a: self.attempted.set()
        reg = registry if registry is not None else CollectorRegistry()
        self.m_messages = Counter(
            "riverpatrol_gcs_fleet_messages", "Drone MQTT messages applied", registry=reg
        )
        self.m_rejected = Counter(
            "riverpatrol_gcs_fleet_rejected", "Drone MQTT messages rejected as malformed", registry=reg
        )
        self.m_connected = Gauge(
            "riverpatrol_gcs_fleet_broker_up", "1 while connected to the broker", registry=reg
        )
        self.m_drones = Gauge("riverpatrol_gcs_fleet_drones", "Drones by link state", ["link"], registry=reg)

    def start(self) -> FleetListener:
        self._client.connect_async(self.host, self.port, keepalive=self._keepalive)
        self._client.loop_start()
        return self

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client, userdata, flags, reason_code, properties=None) -> None:
        self.attempted.set()
        if reason_code.is_failure:
            self.refused = str(reason_code)
            log.warning("event=broker_refused reason=%s", reason_code)
            return
        self.refused = ""
        self.connected.set()
        self.m_connected.set(1)
        client.subscribe(
            [(topics.fleet_filter(topics.STATUS), 1), (topics.fleet_filter(topics.TELEMETRY), 0)]
        )
        log.info("event=broker_connected host=%s port=%d", self.host, self.port)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties=None) -> None:
        self.connected.clear()
        self.m_connected.set(0)
        # our own disconnect on the way out is routine; losing the broker is worth a warning
        level = logging.INFO if not reason_code.is_failure else logging.WARNING
        log.log(level, "event=broker_disconnected reason=%s", reason_code)

    def _on_message(self, client, userdata, msg) -> None:
        with self._lock:
            ok = self.state.on_payload(msg.topic, msg.payload, time.time(), bool(msg.retain))
            (self.m_messages if ok else self.m_rejected).inc()
            if not ok:
                log.warning("event=message_rejected detail=%r", self.state.last_error)

    def rows(self, now: float | None = None) -> tuple[list[DroneRow], int, str | None]:
        with self._lock:
            rows = self.state.rows(time.time() if now is None else now)
            rejected, last_error = sum(self.state.rejected.values()), self.state.last_error
        for link in Link:
            self.m_drones.labels(link.value).set(sum(1 for r in rows if r.link is link))
        return rows, rejected, last_error
