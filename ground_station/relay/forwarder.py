"""Forward queued alert events to the cloud's ingest API in batches.

The decision of what to do with an HTTP answer is a pure function (:func:`classify`) so the
policy is unit-tested; :class:`Forwarder` is the thin loop around httpx and the outbox.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from enum import Enum

import httpx

from ground_station.relay.backoff import backoff_delay
from ground_station.relay.outbox import Pending, RelayOutbox

log = logging.getLogger("riverpatrol.gcs.relay")


class Verdict(Enum):
    DELIVERED = "delivered"  # 2xx: the cloud stored it (or already had it)
    RETRY = "retry"  # outage, overload, auth misconfiguration: keep it, back off
    SPLIT = "split"  # the batch was refused as a whole: find the bad event by halves
    REJECT = "reject"  # one event the cloud will never take: dead-letter it


def classify(status: int | None, batch_size: int) -> Verdict:
    """What an HTTP status (``None`` = no answer) means for a batch of ``batch_size`` events."""
    if status is None or status >= 500 or status in (401, 403, 408, 425, 429):
        return Verdict.RETRY
    if 200 <= status < 300:
        return Verdict.DELIVERED
    if 400 <= status < 500:
        return Verdict.SPLIT if batch_size > 1 else Verdict.REJECT
    return Verdict.RETRY


@dataclass
class ForwarderConfig:
    cloud_url: str
    token: str = ""
    batch_size: int = 200
    timeout_s: float = 10.0
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0


class Forwarder:
    """Drains the outbox to ``POST {cloud_url}/api/v1/alerts``; call :meth:`step` in a loop."""

    def __init__(
        self, outbox: RelayOutbox, config: ForwarderConfig, rng: random.Random | None = None
    ) -> None:
        self.outbox = outbox
        self.config = config
        self.rng = rng or random.Random()
        self.failures = 0  # consecutive failed attempts, drives the backoff
        self.next_try = 0.0
        self.last_error: str | None = None
        headers = {"Content-Type": "application/json"}
        if config.token:
            headers["Authorization"] = f"Bearer {config.token}"
        self._http = httpx.Client(
            base_url=config.cloud_url.rstrip("/"), headers=headers, timeout=config.timeout_s
        )

    def close(self) -> None:
        self._http.close()

    def _post(self, items: list[Pending]) -> tuple[int | None, str]:
        body = "[" + ",".join(i.payload for i in items) + "]"
        try:
            r = self._http.post("/api/v1/alerts", content=body)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        return r.status_code, r.text[:500]

    def _send(self, items: list[Pending]) -> tuple[int, bool]:
        """Send ``items``; returns (delivered count, whether to back off)."""
        status, text = self._post(items)
        verdict = classify(status, len(items))
        if verdict is Verdict.DELIVERED:
            self.outbox.delivered([i.seq for i in items])
            return len(items), False
        if verdict is Verdict.RETRY:
            self.outbox.failed_attempt([i.seq for i in items])
            self.last_error = f"HTTP {status}: {text}" if status else text
            return 0, True
        if verdict is Verdict.REJECT:
            reason = f"HTTP {status}: {text}"
            log.error(
                "cloud refused alert %s rev %s (a dead letter until offered again): %s",
                items[0].alert_id,
                items[0].revision,
                reason,
            )
            self.outbox.dead_letter(items[0], reason)
            return 0, False
        mid = len(items) // 2
        a, back_a = self._send(items[:mid])
        if back_a:
            return a, True
        b, back_b = self._send(items[mid:])
        return a + b, back_b

    def step(self, now: float | None = None) -> int:
        """Send at most one batch if the backoff allows; returns events delivered (0 when idle)."""
        now = time.monotonic() if now is None else now
        if now < self.next_try:
            return 0
        items = self.outbox.pending(self.config.batch_size)
        if not items:
            return 0
        delivered, back_off = self._send(items)
        if back_off:
            self.failures += 1
            delay = backoff_delay(
                self.failures, self.config.backoff_base_s, self.config.backoff_cap_s, self.rng
            )
            self.next_try = now + delay
            log.warning("cloud unavailable (%s); retry %d in %.1fs", self.last_error, self.failures, delay)
        else:
            if self.failures:
                log.info("cloud reachable again after %d failed attempts", self.failures)
            self.failures = 0
            self.last_error = None
        return delivered
