"""Runs the enabled CIM connectors during the app's lifespan: bus -> durable outboxes -> HTTP."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import httpx

from cloud.integrations_config import SyncConfig
from cloud.sync.outbox import Outbox
from cloud.sync.sensorthings import SensorThingsConnector
from cloud.sync.webhook import WebhookConnector
from cloud.sync.worker import OutboxWorker, SyncMetrics

log = logging.getLogger("riverpatrol.cloud.sync")
#: Most bus events written to the outboxes in one transaction.
FEED_BATCH = 500


class SyncService:
    """Async context manager: subscribes to the bus and drains one outbox per enabled connector."""

    def __init__(self, cfg: SyncConfig, data_dir: Path, bus: Any, metrics: SyncMetrics | None = None) -> None:
        self.cfg = cfg
        self.dir = Path(data_dir) / "sync"
        self.bus = bus
        self.metrics = metrics or SyncMetrics()
        self.workers: dict[str, OutboxWorker] = {}
        self._tasks: list[asyncio.Task] = []
        self._client: httpx.AsyncClient | None = None
        self._sub: Any = None
        self.bad_events = 0

    @property
    def enabled(self) -> list[str]:
        names = []
        if self.cfg.geojson_webhook_url:
            names.append(WebhookConnector.name)
        if self.cfg.sensorthings_url:
            names.append(SensorThingsConnector.name)
        return names

    def _worker(self, name: str, deliver_factory) -> OutboxWorker:
        outbox = Outbox(self.dir / f"{name}.sqlite")
        worker = OutboxWorker(
            name,
            outbox,
            deliver_factory(outbox),
            self.cfg.backoff_base_s,
            self.cfg.backoff_max_s,
            metrics=self.metrics,
        )
        self.workers[name] = worker
        return worker

    async def __aenter__(self) -> SyncService:
        if not self.enabled:
            log.info("sync disabled: no connector URL configured")
            return self
        self._client = httpx.AsyncClient(timeout=self.cfg.timeout_s)
        client = self._client
        if self.cfg.geojson_webhook_url:
            url, headers = self.cfg.geojson_webhook_url, self.cfg.geojson_webhook_headers
            self._worker(WebhookConnector.name, lambda _o: WebhookConnector(client, url, headers))
        if self.cfg.sensorthings_url:
            root, sensor = self.cfg.sensorthings_url, self.cfg.sensorthings_sensor_name
            self._worker(SensorThingsConnector.name, lambda o: SensorThingsConnector(client, root, o, sensor))
        self._sub = self.bus.subscribe()
        self._tasks = [asyncio.create_task(self._feed(), name="sync-feed")]
        self._tasks += [asyncio.create_task(w.run(), name=f"sync-{n}") for n, w in self.workers.items()]
        log.info("sync started", extra={"connectors": list(self.workers), "dir": str(self.dir)})
        return self

    def accept_many(self, events: list[dict[str, Any]]) -> int:
        """Queue bus events in every connector's outbox, one transaction each (blocking: call in a
        thread). Events without a feature id are logged, counted and skipped."""
        rows = []
        for event in events:
            feature = event.get("feature")
            if not isinstance(feature, dict) or not feature.get("id"):
                self.bad_events += 1
                log.error(
                    "sync skipped a bus event without a feature id", extra={"event_type": event.get("type")}
                )
                continue
            payload = {"feature": feature, "segment_id": event.get("segment_id")}
            rows.append((str(feature["id"]), str(event.get("type")), payload))
        if rows:
            now = time.time()
            for worker in self.workers.values():
                worker.outbox.enqueue_many(rows, now)
        return len(rows)

    async def _feed(self) -> None:
        """Bus -> outboxes, in batches: a burst of events costs one fsync per connector."""
        while True:
            batch = [await self._sub.get()]
            while len(batch) < FEED_BATCH:
                try:
                    batch.append(self._sub.get_nowait())
                except asyncio.QueueEmpty:
                    break
            try:
                await asyncio.to_thread(self.accept_many, batch)
            except Exception:
                log.exception("sync could not queue bus events", extra={"events": len(batch)})
            for worker in self.workers.values():
                worker.wake()

    async def __aexit__(self, *exc: object) -> None:
        for t in self._tasks:
            t.cancel()
        if self._tasks:  # asyncio.wait neither raises the tasks' CancelledError nor absorbs ours
            await asyncio.wait(self._tasks)
        if self._sub is not None:
            self._sub.close()
        if self._client is not None:
            await self._client.aclose()
        for w in self.workers.values():
            w.outbox.close()
        self.workers.clear()

    def health(self) -> dict[str, Any]:
        workers = {n: w.health() for n, w in self.workers.items()}
        return {
            "enabled": self.enabled,
            "ok": all(h["ok"] for h in workers.values()),
            "bad_events": self.bad_events,
            "connectors": workers,
        }
