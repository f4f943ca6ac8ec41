"""SensorThings connector against a real in-test SensorThings server (FastAPI + uvicorn)."""

from __future__ import annotations

import asyncio
import time

from cloud.events import EventBus
from cloud.integrations_config import SyncConfig
from cloud.sync import sensorthings as st
from cloud.sync.service import SyncService
from tests.cloud_sync.helpers import UvicornThread, feature, new_id
from tests.cloud_sync.sensorthings_server import SensorThingsServer
from tests.conftest import free_port


async def _drained(svc: SyncService, timeout: float = 10) -> None:
    w = svc.workers["sensorthings"]
    deadline = time.monotonic() + timeout
    while w.outbox.backlog():
        assert time.monotonic() < deadline, f"backlog stuck: {w.outbox.last_error()}"
        await asyncio.sleep(0.02)


def test_observation_body_maps_a_find():
    f = feature("x1", confidence=0.5)
    body = st.observation_body(f, 3, 9)
    assert body["result"] == {"class": "bottle", "confidence": 0.5}
    assert body["Datastream"] == {"@iot.id": 3} and body["FeatureOfInterest"] == {"@iot.id": 9}
    assert body["phenomenonTime"] == "2026-11-25T04:00:00Z"
    assert st.foi_body(f)["feature"] == f["geometry"]


def test_creates_entities_once_and_observations_per_find(tmp_path):
    port = free_port()
    srv = SensorThingsServer()
    # An operator already registered the detector: it must be reused, not duplicated.
    srv._create("Sensors", st.sensor_body("riverpatrol-debris-detector"))
    cfg = SyncConfig(sensorthings_url=f"http://127.0.0.1:{port}/v1.1", backoff_base_s=0.05, backoff_max_s=0.2)
    a, b, c = new_id(), new_id(), new_id()

    server = UvicornThread(srv.app, port)

    async def first() -> None:
        bus = EventBus()
        async with SyncService(cfg, tmp_path, bus) as svc:
            bus.publish({"type": "alert.new", "feature": feature(a, drone="drone-1")})
            bus.publish({"type": "alert.new", "feature": feature(b, drone="drone-2")})
            bus.publish({"type": "alert.updated", "feature": feature(a, drone="drone-1", revision=1)})
            bus.publish(
                {"type": "workorder.changed", "feature": feature(a, status="cleared", cleared_by="li")}
            )
            await asyncio.sleep(0.4)  # the server is not up yet: connections are refused
            assert "ConnectError" in (svc.workers["sensorthings"].outbox.last_error() or "")
            assert svc.workers["sensorthings"].outbox.backlog() == 4
            server.__enter__()
            await _drained(svc)

    async def after_restart() -> None:
        bus = EventBus()
        async with SyncService(cfg, tmp_path, bus) as svc:
            srv.fail_next = 3  # the server hiccups; the connector retries
            bus.publish({"type": "alert.new", "feature": feature(c, drone="drone-1")})
            await asyncio.sleep(0.2)
            await _drained(svc)

    try:
        asyncio.run(first())
        created_before = list(srv.created)
        asyncio.run(after_restart())
    finally:
        server.__exit__()

    assert len(srv.of("Sensors")) == 1
    assert len(srv.of("ObservedProperties")) == 1
    assert sorted(t["name"] for t in srv.of("Things")) == ["drone-1", "drone-2"]
    assert len(srv.of("Locations")) == 2
    assert sorted(d["name"] for d in srv.of("Datastreams")) == [
        "drone-1 floating debris",
        "drone-2 floating debris",
    ]
    assert sorted(f["name"] for f in srv.of("FeaturesOfInterest")) == sorted([a, b, c])
    obs = srv.of("Observations")
    # Order is kept per item, not across items (connectors deliver items concurrently).
    assert sorted(o["parameters"]["alert_id"] for o in obs) == sorted([a, b, a, c])
    ds = {d["name"]: d["@iot.id"] for d in srv.of("Datastreams")}
    assert all(
        o["Datastream"]["@iot.id"] == ds["drone-1 floating debris"]
        for o in obs
        if o["parameters"]["alert_id"] in (a, c)
    )
    foi_a = next(f for f in srv.of("FeaturesOfInterest") if f["name"] == a)
    assert foi_a["properties"]["status"] == "cleared" and foi_a["properties"]["cleared_by"] == "li"
    # After the restart only the new item's FOI and Observation were created: ids were remembered.
    new = [s for s, _ in srv.created[len(created_before) :]]
    assert new == ["FeaturesOfInterest", "Observations"]
