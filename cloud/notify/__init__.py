"""Paging of responsible inspectors (apprise chat bots, Web Push), mounted by :func:`install`."""

from __future__ import annotations

from typing import Any

from fastapi import Body, FastAPI, HTTPException

from cloud.notify.service import NotifyMetrics, NotifyService
from cloud.notify.subscriptions import BadSubscription


def install(app: FastAPI) -> None:
    """Run the paging worker during the app's lifespan and add the Web Push endpoints."""
    settings = app.state.settings

    def base_url() -> str:
        return settings.public_url or f"http://{settings.host}:{settings.port}"

    def segment_name(segment_id: str) -> str:
        geo = app.state.segments.get(segment_id) if hasattr(app.state, "segments") else None
        conf = settings.segment(segment_id)
        return (conf.name if conf and conf.name else None) or (geo.name if geo else None) or segment_id

    service = NotifyService(
        settings.notify,
        settings.segments,
        settings.data_dir,
        app.state.bus,
        base_url,
        segment_name,
        NotifyMetrics(app.state.metrics.registry),
    )
    app.state.notify = service
    app.state.services.append(service)

    @app.get("/inspector/push/key", tags=["inspector"])
    def push_key() -> dict[str, str]:
        """VAPID application server key for ``pushManager.subscribe``."""
        return {"publicKey": service.public_key}

    @app.post("/inspector/push/subscribe", tags=["inspector"], status_code=201)
    def push_subscribe(
        inspector: str = Body(min_length=1, max_length=64), subscription: dict[str, Any] = Body()
    ) -> dict[str, Any]:
        """Store this browser's push subscription for ``inspector``; says which stretches page them."""
        try:
            service.subs.add(inspector.strip(), subscription)
        except BadSubscription as exc:
            service.m.deliveries.labels("webpush", "bad_subscription").inc()
            raise HTTPException(422, f"push subscription of {inspector!r}: {exc}") from None
        segs = [s.id for s in settings.segments if inspector.strip() in s.inspectors]
        return {"inspector": inspector.strip(), "segments": segs}

    @app.get("/notify/health", tags=["integrations"])
    def notify_health() -> dict[str, Any]:
        """Paging worker state: deliveries sent and failed, last error, subscriptions."""
        return service.health()
