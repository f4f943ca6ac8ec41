"""Outbound CIM sync (GeoJSON webhook, OGC SensorThings), mounted onto the app by :func:`install`."""

from __future__ import annotations

from fastapi import FastAPI

from cloud.sync.service import SyncService
from cloud.sync.worker import SyncMetrics


def install(app: FastAPI) -> None:
    """Run the enabled connectors during the app's lifespan; ``GET /sync/health`` shows backlogs."""
    settings = app.state.settings
    metrics = SyncMetrics(app.state.metrics.registry)
    service = SyncService(settings.sync, settings.data_dir, app.state.bus, metrics)
    app.state.sync = service
    app.state.services.append(service)

    @app.get("/sync/health", tags=["integrations"])
    def sync_health() -> dict:
        """Per-connector backlog, deliveries, dead letters and last error."""
        return service.health()
