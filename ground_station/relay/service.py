"""The relay process: MQTT in (persistent session), SQLite outbox, HTTP out, metrics.

Acknowledgement is manual: the MQTT callback hands each message to a writer thread, which
commits a burst of them to the outbox in one transaction (group commit: one fsync for many)
and only then sends their PUBACKs, so the broker keeps its copy until ours is on disk.

With a logbook folder, the relay also takes each drone's record of its landed flights (topic
``flights``): filed there beside the station's own (``write_drone_flight``) before its PUBACK, and
carried to the cloud with them (``FlightSender``).

Every ``looks_every_s`` it also reads the inspectors' open requests for a closer look at this
station's finds (``LookPoller``), keeps them in the outbox for ``gcs alerts`` and logs each new one
with the ``mission goto`` command that flies there.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from prometheus_client import CollectorRegistry, Counter, Gauge
from pydantic import ValidationError

from contract import topics
from contract.broker import BrokerAuth
from contract.messages import Alert, Flight, LookRequest, where_invalid
from ground_station.missions.logbook import write_drone_flight
from ground_station.relay.flights import FlightSender
from ground_station.relay.forwarder import Forwarder, ForwarderConfig
from ground_station.relay.looks import LookPoller, goto_from, new_since
from ground_station.relay.outbox import RelayOutbox

log = logging.getLogger("riverpatrol.gcs.relay")


@dataclass
class RelayConfig:
    db_path: Path
    cloud_url: str
    token: str = ""
    mqtt_host: str = "127.0.0.1"
    mqtt_port: int = 1883
    client_id: str = "riverpatrol-relay"
    #: Non-empty: join an MQTT shared subscription so several relays split one fleet.
    share_group: str = ""
    session_expiry_s: int = 7 * 24 * 3600
    #: "5" (session expiry, reason codes) or "3.1.1" for a broker that speaks only that (amqtt, the
    #: demo's embedded broker); both keep a persistent session, so a relay restart loses nothing.
    mqtt_protocol: str = "5"
    auth: BrokerAuth = field(default_factory=BrokerAuth)
    batch_size: int = 200
    idle_poll_s: float = 0.05
    backoff_cap_s: float = 30.0
    #: Days a delivered alert stays in the ``gcs alerts`` history (0: for ever), checked hourly.
    history_days: float = 90.0
    history_check_s: float = 3600.0
    #: How often the events (dead letters) and flights the cloud refused are offered to it again, s: a cloud
    #: upgraded while the relay runs takes what it did not know, without a relay restart. 0: only
    #: at the relay's start.
    refused_retry_s: float = 6 * 3600.0
    #: The flight logbook (``mission watch``) whose landed flights go to the cloud; None: none.
    logbook_dir: Path | None = None
    flights_every_s: float = 30.0
    #: How often to read the inspectors' open requests for a closer look from the cloud, s; 0: never.
    looks_every_s: float = 30.0
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)


def parse_alert(raw: bytes | bytearray) -> tuple[dict | None, str | None]:
    """Validate an MQTT payload against the contract; (alert dict, None) or (None, reason)."""
    try:
        alert = Alert.model_validate_json(raw)
    except ValidationError as exc:
        return None, where_invalid(exc)
    return json.loads(alert.model_dump_json()), None


def parse_flight(raw: bytes | bytearray) -> tuple[Flight | None, str | None]:
    """A drone's flight record against the contract; (flight, None) or (None, reason)."""
    try:
        return Flight.model_validate_json(raw), None
    except ValidationError as exc:
        return None, where_invalid(exc)


def parse_payload(
    topic: str, payload: bytes | bytearray
) -> tuple[Flight | tuple[dict, str] | None, str | None]:
    """One MQTT payload by its topic: a drone's flight record, or an alert event as the outbox
    keeps it (its dict and compact JSON); ``(None, why)`` where it breaks the contract."""
    if topic.endswith("/" + topics.FLIGHTS):
        return parse_flight(payload)
    alert, why = parse_alert(payload)
    return (None, why) if alert is None else ((alert, json.dumps(alert, separators=(",", ":"))), None)


class Relay:
    """Runs until :meth:`stop`; ``start()`` returns at once (threads)."""

    def __init__(self, config: RelayConfig) -> None:
        self.config = config
        self.outbox = RelayOutbox(config.db_path)
        self.forwarder = Forwarder(
            self.outbox,
            ForwarderConfig(
                config.cloud_url, config.token, config.batch_size, backoff_cap_s=config.backoff_cap_s
            ),
        )
        self.flights = (
            FlightSender(config.logbook_dir, config.cloud_url, config.token) if config.logbook_dir else None
        )
        self.looks = LookPoller(config.cloud_url, config.token) if config.looks_every_s > 0 else None
        #: The open closer-look requests as last read (from the outbox until the cloud answers).
        self.look_requests: list[LookRequest] = self.outbox.look_requests()
        reg = config.registry
        self.m_received = Counter("relay_alerts_received", "Alert events received from MQTT", registry=reg)
        self.m_duplicates = Counter(
            "relay_alerts_duplicate", "Repeats absorbed by (id, revision)", registry=reg
        )
        self.m_rejected = Counter("relay_payloads_rejected", "Malformed MQTT payloads", registry=reg)
        self.m_flights = Counter(
            "relay_flights_received", "Drones' flight records filed in the logbook", registry=reg
        )
        self.m_delivered = Counter(
            "relay_alerts_delivered", "Alert events acknowledged by the cloud", registry=reg
        )
        self.m_backlog = Gauge("relay_backlog", "Alert events waiting for the cloud", registry=reg)
        self.m_dead = Gauge(
            "relay_dead_letters", "Alert events the cloud refused, until offered again", registry=reg
        )
        self.m_reoffered = Counter(
            "relay_refused_offered_again", "Refused alert events offered to the cloud again", registry=reg
        )
        self.m_oldest = Gauge("relay_oldest_pending_seconds", "Age of the oldest waiting event", registry=reg)
        self.m_looks = Gauge(
            "relay_look_requests_open", "Inspectors' open requests for a closer look at a find", registry=reg
        )
        self.m_looks.set(len(self.look_requests))
        self._looks_read = False  # the first list read from the cloud says what is still open
        self.m_connected = Gauge("relay_mqtt_connected", "1 while connected to the broker", registry=reg)
        self.m_store_failing = Gauge(
            "relay_outbox_write_failing", "1 while the outbox cannot be written (disk full?)", registry=reg
        )
        #: Why the outbox last refused a write, while it still does (alerts stay with the broker).
        self.store_error: str | None = None
        #: Why the broker last turned the relay away ("Not authorized"), until it lets it in.
        self.refused = ""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()
        if config.mqtt_protocol not in ("5", "3.1.1"):
            raise ValueError(f"mqtt_protocol must be '5' or '3.1.1', not {config.mqtt_protocol!r}")
        self._v5 = config.mqtt_protocol == "5"
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=config.client_id,
            protocol=mqtt.MQTTv5 if self._v5 else mqtt.MQTTv311,
            clean_session=None if self._v5 else False,
            manual_ack=True,
        )
        config.auth.apply(self._client)
        self._inbox: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._client.reconnect_delay_set(0.2, 5)

    # --- MQTT side ---------------------------------------------------------------------------
    def _filters(self) -> list[str]:
        """Every drone's alerts, and its flights where there is a logbook to file them in."""
        kinds = [topics.ALERTS] + ([topics.FLIGHTS] if self.config.logbook_dir else [])
        if self.config.share_group:
            return [topics.shared_filter(self.config.share_group, k) for k in kinds]
        return [topics.fleet_filter(k) for k in kinds]

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.refused = str(reason_code)
            log.error("broker refused the relay: %s (mqtt_username, mqtt_password in [gcs])", reason_code)
            return
        self.refused = ""
        log.info(
            "connected to broker %s:%s (session present: %s)",
            self.config.mqtt_host,
            self.config.mqtt_port,
            flags.session_present,
        )
        # ready once the broker grants it (_on_subscribe)
        client.subscribe([(f, 1) for f in self._filters()])

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        """Ready only now: alerts published between CONNACK and SUBACK would not reach us."""
        if any(rc.is_failure for rc in reason_codes):
            log.error("broker refused the relay's subscription to %s: %s", self._filters(), reason_codes)
            return
        self.m_connected.set(1)
        self.connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self.m_connected.set(0)
        self.connected.clear()
        if not self._stop.is_set():
            log.warning("lost the broker (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, msg: mqtt.MQTTMessage) -> None:
        self._inbox.put(msg)  # acknowledged by _write_loop once it is on disk

    def _write_loop(self) -> None:
        """Group commit: validate a burst, store it in one transaction, then PUBACK each message."""
        while not self._stop.is_set():
            try:
                burst = [self._inbox.get(timeout=0.2)]
            except queue.Empty:
                continue
            while len(burst) < 1000:
                try:
                    burst.append(self._inbox.get_nowait())
                except queue.Empty:
                    break
            good: list[tuple[dict, str]] = []
            flights: list[Flight] = []
            refused: list[tuple[str, bytes, str]] = []  # kept with why: a newer drone's, or garbage
            for msg in burst:
                got, why = parse_payload(msg.topic, msg.payload)
                if isinstance(got, Flight):
                    flights.append(got)
                    continue
                if got is not None:
                    good.append(got)
                    continue
                self.m_rejected.inc()
                log.warning("rejected payload on %s (%d bytes): %s", msg.topic, len(msg.payload), why)
                refused.append((msg.topic, bytes(msg.payload), why or "refused"))
            fresh = self._store(partial(self.outbox.put_many, good)) if good else []
            if fresh is None:  # stopping with the outbox still failing: the broker keeps them, unacked
                return
            if refused and self._store(partial(self.outbox.keep_rejected, refused)) is None:
                return
            if flights and self._store(partial(self._file_flights, flights)) is None:
                return
            self.m_received.inc(len(good))
            self.m_duplicates.inc(fresh.count(False))
            for msg in burst:
                if msg.qos > 0:
                    self._client.ack(msg.mid, msg.qos)

    def _file_flights(self, flights: list[Flight]) -> list[bool]:
        assert self.config.logbook_dir is not None
        for f in flights:
            path = write_drone_flight(self.config.logbook_dir, f)
            log.info("drone's flight filed", extra={"fields": {"flight_id": f.flight_id, "file": str(path)}})
        self.m_flights.inc(len(flights))
        return [True] * len(flights)

    def _store(self, write: Callable[[], list[bool]]) -> list[bool] | None:
        """``write()`` (the outbox's ``put_many``, or filing flights), retried with backoff while
        the disk refuses it (full, I/O error).

        Nothing is acknowledged meanwhile, so the broker keeps every message of the burst and
        those behind it; None when the relay stops first.
        """
        wait = 0.2
        while True:
            try:
                fresh = write()
            except (sqlite3.Error, OSError) as e:
                if self.store_error is None:
                    log.error("outbox %s cannot be written (%s): holding the burst unacknowledged",
                              self.config.db_path, e)  # fmt: skip
                self.store_error = str(e)
                self.m_store_failing.set(1)
                if self._stop.wait(wait):
                    return None
                wait = min(wait * 2, 5.0)
                continue
            if self.store_error is not None:
                log.warning("outbox %s writable again", self.config.db_path)
                self.store_error = None
                self.m_store_failing.set(0)
            return fresh

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        try:
            self.retake_rejected()
        except (sqlite3.Error, OSError) as e:  # the disk: they stay kept, for the next start
            log.error("could not take the payloads refused before (%s); they stay kept", e)
        self._offer_refused_again()
        if self._v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = self.config.session_expiry_s
            host, port = self.config.mqtt_host, self.config.mqtt_port
            self._client.connect_async(host, port, keepalive=15, clean_start=False, properties=props)
        else:  # clean_session=False, set on the client, is 3.1.1's persistent session
            self._client.connect_async(self.config.mqtt_host, self.config.mqtt_port, keepalive=15)
        self._client.loop_start()
        self._thread = threading.Thread(target=self._forward_loop, name="relay-forwarder", daemon=True)
        self._thread.start()
        self._writer = threading.Thread(target=self._write_loop, name="relay-writer", daemon=True)
        self._writer.start()

    def retake_rejected(self) -> int:
        """Take the refused payloads this relay accepts now (a relay upgraded after a drone was:
        its alerts and flights were kept, not lost): into the outbox and the logbook; how many."""
        good: list[tuple[dict, str]] = []
        flights: list[Flight] = []
        taken: list[int] = []
        for r in self.outbox.rejected():
            got, _ = parse_payload(r.topic, r.payload)
            if isinstance(got, Flight):
                if self.config.logbook_dir is None:
                    continue
                flights.append(got)
            elif got is None:
                continue
            else:
                good.append(got)
            taken.append(r.seq)
        if good:
            self.outbox.put_many(good)
        if flights:
            self._file_flights(flights)
        self.outbox.forget_rejected(taken)
        if taken:
            log.warning("took %d payload(s) refused before (a drone newer than the relay then)", len(taken))
        return len(taken)

    def _offer_refused_again(self) -> None:
        """Put the events and flights the cloud refused back in the queue: a cloud upgraded since
        may take what it did not know; refused again, they are set aside again until the next offer."""
        try:
            dead = self.outbox.requeue_dead()
        except sqlite3.Error as e:  # a busy or full disk: they stay dead letters, for the next offer
            log.error("could not offer the cloud again the events it refused (%s)", e)
            dead = 0
        if dead:
            log.warning("offering the cloud again %d alert event(s) it refused before", dead)
            self.m_reoffered.inc(dead)
        if self.flights is not None and (flights := self.flights.offer_refused_again()):
            log.warning("offering the cloud again %d flight(s) it refused before", flights)

    def _forget_old(self) -> None:
        """Keep the ground station's disk from filling with months of delivered alerts."""
        if self.config.history_days <= 0:
            return
        try:
            n = self.outbox.forget_delivered(self.config.history_days * 86400)
        except sqlite3.Error as e:  # a busy or full disk: the history waits for the next check
            log.warning("relay history not trimmed", extra={"fields": {"error": str(e)}})
            return
        if n:
            log.info(
                "relay history trimmed",
                extra={"fields": {"forgotten": n, "older_than_days": self.config.history_days}},
            )

    def _send_flights(self) -> None:
        assert self.flights is not None
        try:
            self.flights.step()
        except OSError as e:  # an unreadable logbook folder: the alerts go on regardless
            log.warning("flights not sent", extra={"fields": {"error": str(e)}})

    def _poll_looks(self) -> None:
        """Read the open closer-look requests, keep them in the outbox, log what changed."""
        assert self.looks is not None
        got = self.looks.poll()
        if got is None:
            if self.looks.supported is False and self.look_requests:  # an older cloud: it asks for none
                self._keep_looks([])
            return
        before, first = self.look_requests, not self._looks_read
        if not self._keep_looks(got.items):
            return
        self._looks_read = True
        changes = new_since(before, got.items)
        for r in changes.new:
            fields = {**r.model_dump(mode="json"), "command": goto_from(self.outbox, r)}
            log.info("inspector asked for a closer look", extra={"fields": fields})
        for r in changes.gone:
            log.info(
                "closer look done",
                extra={
                    "fields": {"alert_id": str(r.alert_id), "asked_by": r.asked_by, "why": self._why_done(r)}
                },
            )
        if first and (still := len(got.items) - len(changes.new)):
            log.info(
                "closer looks still asked",
                extra={"fields": {"open": still, "list": "riverpatrol gcs alerts --looks"}},
            )

    def _keep_looks(self, items: list[LookRequest]) -> bool:
        """Store the open requests in place of the last; False where the disk refuses (tried next poll)."""
        try:
            self.outbox.replace_look_requests(items)
        except sqlite3.Error as e:
            log.warning("closer-look requests not stored", extra={"fields": {"error": str(e)}})
            return False
        self.look_requests = items
        self.m_looks.set(len(items))
        return True

    def _why_done(self, r: LookRequest) -> str:
        """Why a request left the cloud's list: a newer photo this relay carried, or something else."""
        latest = self.outbox.recent(limit=1, id_prefix=str(r.alert_id))
        try:
            newer = bool(latest) and datetime.fromisoformat(latest[0][0]["captured_at"]) > r.asked_at
        except (KeyError, TypeError, ValueError):  # a naive time: it cannot be told apart
            newer = False
        if newer:
            return "a newer photo of it reached the cloud"
        return "the cloud asks no more (another station's view, or its work order closed)"

    def _forward_loop(self) -> None:
        next_trim = next_flights = next_looks = 0.0
        every = self.config.refused_retry_s
        next_offer = time.monotonic() + every  # the start offered them
        while not self._stop.is_set():
            if every > 0 and time.monotonic() >= next_offer:
                self._offer_refused_again()
                next_offer = time.monotonic() + every
            if time.monotonic() >= next_trim:
                self._forget_old()
                next_trim = time.monotonic() + self.config.history_check_s
            if self.flights is not None and time.monotonic() >= next_flights:
                self._send_flights()
                next_flights = time.monotonic() + self.config.flights_every_s
            if self.looks is not None and time.monotonic() >= next_looks:
                self._poll_looks()
                next_looks = time.monotonic() + self.config.looks_every_s
            n = self.forwarder.step()
            if n:
                self.m_delivered.inc(n)
            b = self.outbox.backlog()
            self.m_backlog.set(b.count)
            self.m_dead.set(b.dead_letters)
            self.m_oldest.set(b.oldest_age_s or 0.0)
            if not n:
                self._stop.wait(self.config.idle_poll_s)

    def stop(self) -> None:
        self._stop.set()
        self._client.disconnect()
        self._client.loop_stop()
        if self._thread:
            self._thread.join(5)
            self._writer.join(5)
        self.forwarder.close()
        if self.flights is not None:
            self.flights.close()
        if self.looks is not None:
            self.looks.close()
        self.outbox.close()

    def run_forever(self) -> None:
        self.start()
        try:
            while not self._stop.wait(1.0):
                pass
        finally:
            self.stop()


def wait_until(predicate, timeout: float, poll: float = 0.05) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return bool(predicate())
