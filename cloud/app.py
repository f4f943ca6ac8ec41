"""The cloud service as one FastAPI app: ``create_app(settings)``.

What integrations can rely on (``cloud/inspector``, ``cloud/notify``, ``cloud/sync``)::

    app.state.settings   CloudSettings
    app.state.store      cloud.storage.base.Store (sync API; call it via a thread from async code)
    app.state.bus        cloud.events.EventBus: bus.subscribe() inside the loop, async-iterate it
    app.state.services   list of async context managers; entered at start-up, exited at shutdown
    app.state.segments   cloud.segments.SegmentIndex (segment geometry, lengths)
    app.state.metrics    cloud.api.observability.CloudMetrics (its own Prometheus registry)
    app.state.workorders cloud.api.workorders.WorkOrderService: .act(wo_id, Command) -> (order, item)

Each ``install(app)`` runs after the core routes exist, so it may add routes and services.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from cloud import server_lock
from cloud.api import alerts, flights, observability, ogc, ogc_flights, stats
from cloud.api import workorders as workorders_api
from cloud.api.auth import TokenAuth
from cloud.api.features import event
from cloud.api.workorders import WorkOrderService
from cloud.events import EventBus
from cloud.retention import PhotoRetention
from cloud.segments import SegmentIndex, bundled_segments, resolve_segments
from cloud.settings import CloudSettings
from cloud.storage import Store, open_store

log = logging.getLogger(__name__)

DESCRIPTION = """
RiverPatrol city-side service.

* **Ingest** (`POST /api/v1/alerts`): ground stations post batches of drone alerts,
  idempotent by `(alert_id, revision)`.
* **CIM debris layer**: OGC API – Features Part 1 under `/ogc` (collection `debris`).
* **Work orders**: `new → confirmed → dispatched → on_site → cleared | false_alarm`.
* **Stats**, **health** (`/healthz`) and **metrics** (`/metrics`).
"""


def build_segment_index(settings: CloudSettings) -> SegmentIndex:
    segs, missing = resolve_segments(settings.segments, settings.segment_lines, bundled_segments())
    for sid in missing:
        log.warning("segment has no geometry; finds cannot map to it", extra={"segment": sid})
    return SegmentIndex(segs, settings.segment_max_distance_m)


def _document_ingest_body(app: FastAPI) -> None:
    """Give the hand-parsed ingest body its real schema (contract ``Alert``) in the OpenAPI doc."""
    original = app.openapi

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        doc = original()
        doc.setdefault("components", {}).setdefault("schemas", {}).update(alerts.openapi_components())
        op = doc["paths"]["/api/v1/alerts"]["post"]
        op["requestBody"]["content"]["application/json"]["schema"] = alerts.request_schema()
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: CloudSettings | None = None, store: Store | None = None) -> FastAPI:
    """The app over ``store`` (or the DB named by ``settings``), with integrations installed."""
    settings = settings or CloudSettings.load()
    own_store = store is None
    store = store or open_store(settings.resolved_db_url(), settings.db_pool_size)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            stack.enter_context(server_lock.hold(settings.data_dir))  # before any service touches it
            for svc in list(app.state.services):
                await stack.enter_async_context(svc)
            log.info("cloud service started", extra={"db": store.kind, "services": len(app.state.services)})
            yield
        if own_store:
            store.close()
        log.info("cloud service stopped")

    app = FastAPI(title="RiverPatrol cloud", version="1.0.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.store = store
    app.state.bus = EventBus()
    app.state.services = []
    app.state.metrics = observability.CloudMetrics()
    app.state.segments = build_segment_index(settings)
    app.state.auth = TokenAuth(settings.station_tokens, settings.inspector_tokens, store)

    app.state.workorders = WorkOrderService(
        store,
        app.state.bus,
        app.state.metrics,
        settings.public_url,
        lambda sid: seg.supervisors if (seg := settings.segment(sid)) else (),
    )

    routers = (
        alerts.router,
        workorders_api.router,
        flights.router,
        stats.router,
        ogc.router,
        ogc_flights.router,
        observability.router,
    )
    for router in routers:
        app.include_router(router)
    _document_ingest_body(app)

    from cloud import inspector, notify, sync

    for part in (inspector, notify, sync):
        part.install(app)
    if settings.photo_retention_days > 0:  # last: the connectors and pages hear what it changes

        def announce(alert_ids: list[str]) -> None:  # from the retention thread: the bus takes any
            for alert_id in alert_ids:
                if (row := store.get_item(alert_id)) is not None:
                    app.state.bus.publish(event("alert.updated", row, settings.public_url))

        app.state.services.append(
            PhotoRetention(
                store.expire_photos, announce, settings.photo_retention_days, app.state.metrics.registry
            )
        )
    return app
