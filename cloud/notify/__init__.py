"""Paging of responsible inspectors (apprise chat bots, Web Push), mounted by :func:`install`."""

from __future__ import annotations

import time
from typing import Any

from fastapi import Body, FastAPI, HTTPException, Request

from cloud.api.features import feature
from cloud.flights import last_flown
from cloud.notify.service import NotifyMetrics, NotifyService
from cloud.notify.subscriptions import BadSubscription


def install(app: FastAPI) -> None:
    """Run the paging worker during the app's lifespan and add the Web Push endpoints."""
    settings = app.state.settings

    def base_url() -> str:
        return settings.public_url or f"http://{settings.host}:{settings.port}"

    def segment_name(segment_id: str) -> str:
        geo = app.state.segments.get(segment_id) if hasattr(app.state, "segments") else None
        return settings.segment_name(segment_id, geo.name if geo else None)

    store = app.state.store

    def item_feature(wo_id: str) -> dict[str, Any] | None:
        row = store.get_item(wo_id)
        return feature(row, base_url()) if row else None

    service = NotifyService(
        settings.notify,
        settings.segments,
        settings.data_dir,
        app.state.bus,
        base_url,
        segment_name,
        NotifyMetrics(app.state.metrics.registry),
        open_orders=store.open_workorders,
        item_feature=item_feature,
        # a schedule is days at most: the flights of the last 60 days say when each stretch was flown
        last_flown=lambda: last_flown(store.list_flights(since=time.time() - 60 * 86400, with_track=False)),
    )
    app.state.notify = service
    app.state.services.append(service)

    @app.get("/inspector/push/key", tags=["inspector"])
    def push_key() -> dict[str, str]:
        """VAPID application server key for ``pushManager.subscribe``."""
        return {"publicKey": service.public_key}

    @app.post("/inspector/push/subscribe", tags=["inspector"], status_code=201)
    def push_subscribe(
        request: Request,
        subscription: dict[str, Any] = Body(),
        inspector: str | None = Body(default=None, max_length=64),
    ) -> dict[str, Any]:
        """Store this browser's push subscription for the inspector of the bearer token."""
        who = app.state.auth.resolve(request, "inspector")
        if inspector and inspector.strip() != who.name:
            raise HTTPException(403, f"inspector {inspector!r} does not match the token of {who.name!r}")
        try:
            service.subs.add(who.name, subscription)
        except BadSubscription as exc:
            service.m.deliveries.labels("webpush", "bad_subscription").inc()
            raise HTTPException(422, f"push subscription of {who.name!r}: {exc}") from None
        segs = [s.id for s in settings.segments if who.name in s.inspectors]
        return {"inspector": who.name, "segments": segs}

    @app.get("/notify/health", tags=["integrations"])
    def notify_health() -> dict[str, Any]:
        """Paging worker state: deliveries sent and failed, last error, subscriptions."""
        return service.health()
