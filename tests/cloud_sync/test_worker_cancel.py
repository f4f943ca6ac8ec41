"""A sync worker stops when cancelled, whatever it is doing at that tick.

On Python 3.11 ``asyncio.wait_for`` can swallow a cancel that lands in the tick its inner wait
completes (CPython gh-86296); a worker sleeping in it then ran on after the service stopped
and the service's shutdown hung (seen once in CI: a 300 s timeout). Cancel the worker at every
tick offset around a wake-up, many times over; each must end promptly.
"""

from __future__ import annotations

import asyncio
import random

from prometheus_client import CollectorRegistry

from cloud.sync.outbox import Outbox
from cloud.sync.worker import OutboxWorker, SyncMetrics


def test_a_worker_cancelled_at_any_tick_around_a_wake_up_stops(tmp_path):
    async def deliver(_entry) -> None:
        raise ConnectionError("endpoint down")  # the outage the hang was seen in

    async def one(offset: int, k: int) -> bool:
        ob = Outbox(tmp_path / f"o{offset}-{k}.sqlite")
        worker = OutboxWorker(
            "w", ob, deliver, 0.001, 0.002, rand=random.Random(k), metrics=SyncMetrics(CollectorRegistry())
        )
        task = asyncio.create_task(worker.run(idle_s=0.01))
        await asyncio.sleep(0.02)
        ob.enqueue_many([(f"k{k}", "alert.new", {"n": k})], 0.0)
        worker.wake()
        for _ in range(offset):
            await asyncio.sleep(0)
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=2.0)
        ob.close()
        return bool(done)

    async def main() -> list[tuple[int, int]]:
        return [(o, k) for o in range(8) for k in range(6) if not await one(o, k)]

    assert asyncio.run(main()) == [], "workers still running 2 s after cancel (offset, run)"
