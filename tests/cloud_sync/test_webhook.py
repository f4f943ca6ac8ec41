"""GeoJSON webhook connector against a real local HTTP server that is down, then failing, then up."""

from __future__ import annotations

import asyncio
import time

from cloud.events import EventBus
from cloud.integrations_config import SyncConfig
from cloud.sync.service import SyncService
from tests.cloud_sync.helpers import Recorder, feature, new_id
from tests.conftest import free_port


async def _until(cond, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def _events(a: str, b: str) -> list[dict]:
    return [
        {"type": "alert.new", "feature": feature(a), "segment_id": "sz-1"},
        {"type": "alert.new", "feature": feature(b), "segment_id": "sz-1"},
        {"type": "workorder.changed", "feature": feature(a, status="claimed"), "segment_id": "sz-1"},
        {"type": "alert.updated", "feature": feature(b, revision=1), "segment_id": "sz-1"},
        {
            "type": "workorder.changed",
            "feature": feature(a, status="cleared", cleared_by="li"),
            "segment_id": None,
        },
    ]


def test_survives_outage_and_delivers_exactly_once_in_order(tmp_path):
    port = free_port()
    rec = Recorder(port)
    cfg = SyncConfig(
        geojson_webhook_url=f"http://127.0.0.1:{port}/cim/debris",
        geojson_webhook_headers={"Authorization": "Bearer t0k"},
        backoff_base_s=0.05,
        backoff_max_s=0.2,
        timeout_s=2,
    )
    a, b = new_id(), new_id()

    async def scenario() -> SyncService:
        bus = EventBus()
        async with SyncService(cfg, tmp_path, bus) as svc:
            for ev in _events(a, b):
                bus.publish(ev)
            worker = svc.workers["geojson_webhook"]
            # Endpoint refuses connections: everything waits, nothing is lost.
            await _until(lambda: worker.outbox.last_error() is not None, 5, "a refused attempt")
            await asyncio.sleep(0.3)
            assert worker.outbox.backlog() == 5
            assert not svc.health()["ok"]
            # Endpoint comes up but answers 500 a few times.
            rec.fail_next = 4
            rec.start()
            await _until(lambda: worker.outbox.backlog() == 0, 10, "the backlog to drain")
            assert svc.health()["ok"] and svc.health()["connectors"]["geojson_webhook"]["delivered"] == 5
        return svc

    try:
        asyncio.run(scenario())
    finally:
        rec.stop()
    assert rec.attempts >= 9  # 4 answered 500, 5 accepted
    keys = [r["key"] for r in rec.received]
    assert len(keys) == len(set(keys)) == 5, "each change delivered exactly once"
    per_item = {
        item: [
            (r["event"], r["feature"]["properties"]["status"])
            for r in rec.received
            if r["feature"]["id"] == item
        ]
        for item in (a, b)
    }
    assert per_item[a] == [
        ("alert.new", "open"),
        ("workorder.changed", "claimed"),
        ("workorder.changed", "cleared"),
    ]
    assert [e for e, _ in per_item[b]] == ["alert.new", "alert.updated"]
    assert rec.received[0]["content_type"] == "application/geo+json"


def test_backlog_survives_a_restart_and_rejected_items_are_dead_lettered(tmp_path):
    port = free_port()
    rec = Recorder(port)
    cfg = SyncConfig(geojson_webhook_url=f"http://127.0.0.1:{port}/", backoff_base_s=0.05, backoff_max_s=0.1)
    a, b, bad = new_id(), new_id(), new_id()

    async def first_run() -> None:
        bus = EventBus()
        async with SyncService(cfg, tmp_path, bus) as svc:
            for ev in _events(a, b):
                bus.publish(ev)
            bus.publish({"type": "alert.new", "feature": feature(bad), "segment_id": None})
            bus.publish({"type": "alert.new", "feature": {"type": "Feature"}, "segment_id": None})  # no id
            await _until(lambda: svc.workers["geojson_webhook"].outbox.backlog() == 6, 5, "6 queued")

    async def second_run() -> dict:
        async with SyncService(cfg, tmp_path, EventBus()) as svc:
            w = svc.workers["geojson_webhook"]
            await _until(lambda: w.outbox.backlog() == 0, 10, "drain after restart")
            return svc.health()

    asyncio.run(first_run())  # endpoint down the whole time; the service stops with a backlog
    rec.reject_keys = {bad}
    rec.start()
    try:
        health = asyncio.run(second_run())
    finally:
        rec.stop()
    assert len(rec.received) == 5
    assert health["connectors"]["geojson_webhook"]["dead_letters"] == 1
