"""The demo's MQTT broker when none is given: amqtt, embedded, in its own thread and event loop.

A city runs Mosquitto (or EMQX) between its drones and the ground station; a newcomer trying the
demo has none, so the demo starts amqtt on a free loopback port. amqtt speaks MQTT 3.1.1 only:
the relay is told so (``RelayConfig.mqtt_protocol``); the edge agent speaks 3.1.1 anyway.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class EmbeddedBroker:
    """``start()`` returns once the broker accepts connections; ``stop()`` shuts it down."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._broker = None
        self._ready = threading.Event()
        self.error: BaseException | None = None

    def start(self, timeout_s: float = 15.0) -> EmbeddedBroker:
        for name in ("amqtt", "transitions"):  # its per-connection INFO lines would drown the demo's screen
            logging.getLogger(name).setLevel(logging.ERROR)
        self._thread = threading.Thread(target=self._run, name="amqtt-broker", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s) or self.error is not None:
            where = f"{self.host}:{self.port}"
            raise RuntimeError(f"the embedded MQTT broker did not open {where}: {self.error!r}")
        return self

    def _run(self) -> None:
        from amqtt.broker import Broker

        asyncio.set_event_loop(self._loop)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        try:
            self._broker = Broker(config, loop=self._loop)
            self._loop.run_until_complete(self._broker.start())
        except BaseException as e:  # reported by start()
            self.error = e
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()

    def stop(self) -> None:
        if self._broker is None or not self._loop.is_running():
            return
        done = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)
        try:
            done.result(10)
        except Exception:  # a broker that fails to shut down cleanly is still stopped below
            logging.getLogger(__name__).warning("embedded broker shutdown was not clean", exc_info=True)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread:
            self._thread.join(10)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
