"""Test-side MQTT parts: a persistent-session collector and a deterministic alert factory."""

from __future__ import annotations

import functools
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from contract.messages import Alert, AlertEvent, TrackStats

NS = uuid.UUID("5f1a0c52-3f59-4d8e-9d8e-3c1f1f6a0001")


def wait_until(pred: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    """Poll ``pred`` until it holds or ``timeout`` s pass; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def alert_json(drone: str, index: int, revision: int = 0, event: AlertEvent = AlertEvent.NEW) -> str:
    """A valid alert whose id encodes ``index``, so a subscriber can check order and gaps."""
    t = datetime(2026, 5, 1, tzinfo=UTC)
    return Alert(
        alert_id=uuid.uuid5(NS, f"{drone}-{index}"),
        revision=revision,
        event=event,
        drone_id=drone,
        mission_id="m1",
        captured_at=t,
        published_at=t,
        lat=22.52,
        lon=114.06 + index * 1e-5,
        uncertainty_m=3.0,
        debris_class="bottle",
        confidence=0.8,
        track=TrackStats(sightings=3, first_seen=t, last_seen=t, top_score=0.9, median_score=0.8),
    ).model_dump_json()


@functools.cache
def _ids(drone: str, limit: int = 5000) -> dict[uuid.UUID, int]:
    return {uuid.uuid5(NS, f"{drone}-{i}"): i for i in range(limit)}


def index_of(drone: str, alert: Alert) -> int:
    """The ``index`` ``alert_json`` made ``alert`` with."""
    try:
        return _ids(drone)[alert.alert_id]
    except KeyError:
        raise AssertionError(f"alert {alert.alert_id} was not made by alert_json") from None


class Collector:
    """Subscribes with a persistent session (QoS 1), so nothing is missed across broker restarts."""

    def __init__(self, port: int, topic_filter: str, client_id: str | None = None, clean: bool = False):
        self.messages: list[mqtt.MQTTMessage] = []
        self._lock = threading.Lock()
        self._filter = topic_filter
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"collector-{uuid.uuid4().hex[:8]}",
            clean_session=clean,
        )
        self.client.reconnect_delay_set(0.1, 0.5)  # type: ignore[arg-type]
        self.subscribed = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port, 5)
        self.client.loop_start()
        assert self.subscribed.wait(5), "collector could not subscribe"

    def _on_connect(self, client, userdata, flags, rc, props):
        client.subscribe(self._filter, qos=1)

    def _on_message(self, client, userdata, msg):
        with self._lock:
            self.messages.append(msg)

    def payloads(self) -> list[bytes]:
        with self._lock:
            return [m.payload for m in self.messages]

    def wait_for(self, pred: Callable[[list[bytes]], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred(self.payloads()):
                return True
            time.sleep(0.05)
        return pred(self.payloads())

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
