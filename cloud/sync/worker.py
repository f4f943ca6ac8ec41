"""Drains one connector's outbox: deliver the due heads, back off on failure, never give up.

The delivery function is the connector (webhook, SensorThings); this loop owns ordering,
retry timing, metrics and logs, so connectors stay a few lines of HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge

from cloud.sync.backoff import backoff_delay
from cloud.sync.outbox import Entry, Outbox

log = logging.getLogger("riverpatrol.cloud.sync")


class SyncMetrics:
    """Prometheus series of the connectors, in the app's registry (served on ``/metrics``)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = registry or CollectorRegistry()
        self.delivered = Counter(
            "riverpatrol_sync_delivered", "Outbox entries delivered.", ["connector"], registry=r
        )
        self.failed = Counter(
            "riverpatrol_sync_failures", "Failed delivery attempts (retried).", ["connector"], registry=r
        )
        self.dead = Counter(
            "riverpatrol_sync_dead_letters",
            "Entries the receiver rejected for good.",
            ["connector"],
            registry=r,
        )
        self.backlog = Gauge(
            "riverpatrol_sync_backlog", "Entries waiting for delivery.", ["connector"], registry=r
        )


class PermanentError(Exception):
    """The receiver refused the entry itself (4xx): retrying cannot help."""


Deliver = Callable[[Entry], Awaitable[None]]


class OutboxWorker:
    """Background delivery of one outbox through one connector."""

    def __init__(
        self,
        name: str,
        outbox: Outbox,
        deliver: Deliver,
        backoff_base_s: float,
        backoff_max_s: float,
        clock: Callable[[], float] = time.time,
        rand: random.Random | None = None,
        metrics: SyncMetrics | None = None,
    ) -> None:
        self.name = name
        self.outbox = outbox
        self.deliver = deliver
        self.base = backoff_base_s
        self.cap = backoff_max_s
        self.clock = clock
        self.rand = rand or random.Random()
        self.m = metrics or SyncMetrics()
        self._wake = asyncio.Event()
        self.last_ok_at: float | None = None
        self.consecutive_failures = 0

    def wake(self) -> None:
        """New entries were queued: drain now instead of at the next poll (call on the loop)."""
        self._wake.set()

    async def drain_once(self) -> int:
        """Attempt every due head once; returns how many were delivered."""
        delivered = 0
        ob = self.outbox
        for entry in await asyncio.to_thread(ob.due, self.clock()):
            try:
                await self.deliver(entry)
            except PermanentError as exc:
                await asyncio.to_thread(ob.dead_letter, entry, str(exc), self.clock())
                self.m.dead.labels(self.name).inc()
                log.error(
                    "sync entry rejected for good, parked as dead letter",
                    extra={
                        "connector": self.name,
                        "key": entry.key,
                        "seq": entry.seq,
                        "kind": entry.kind,
                        "error": str(exc),
                    },
                )
            except Exception as exc:
                delay = backoff_delay(entry.attempts + 1, self.base, self.cap, self.rand)
                error = f"{type(exc).__name__}: {exc}"
                await asyncio.to_thread(ob.retry_later, entry.seq, error, self.clock() + delay)
                self.m.failed.labels(self.name).inc()
                self.consecutive_failures += 1
                log.warning(
                    "sync delivery failed, will retry",
                    extra={
                        "connector": self.name,
                        "key": entry.key,
                        "seq": entry.seq,
                        "attempt": entry.attempts + 1,
                        "retry_in_s": round(delay, 2),
                        "error": error,
                    },
                )
            else:
                await asyncio.to_thread(ob.done, entry.seq)
                self.m.delivered.labels(self.name).inc()
                delivered += 1
                self.consecutive_failures = 0
                self.last_ok_at = self.clock()
        self.m.backlog.labels(self.name).set(await asyncio.to_thread(ob.backlog))
        return delivered

    async def run(self, idle_s: float = 1.0) -> None:
        """Loop forever: drain, then sleep until the next retry is due or a new entry arrives."""
        while True:
            self._wake.clear()
            await self.drain_once()
            nxt = await asyncio.to_thread(self.outbox.next_due_at)
            wait = idle_s if nxt is None else max(0.0, min(idle_s, nxt - self.clock()))
            if wait > 0:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel that
                # lands as the wake event fires (CPython gh-86296), and the worker never stops.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._wake.wait()

    def health(self) -> dict[str, Any]:
        """Backlog and error state, for ``/sync/health``."""
        return {
            "backlog": self.outbox.backlog(),
            "delivered": self.outbox.delivered_count(),
            "dead_letters": self.outbox.dead_count(),
            "last_error": self.outbox.last_error(),
            "last_ok_at": self.last_ok_at,
            "ok": self.consecutive_failures == 0,
        }
