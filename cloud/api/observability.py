"""Metrics and health of the cloud service (its log lines: ``contract.logs``).

Each app owns its own Prometheus registry so several apps (tests, benchmarks) can live in one
process without colliding.
"""

from __future__ import annotations

import json
import time

from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class CloudMetrics:
    """The service's Prometheus metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.ingested = Counter("riverpatrol_cloud_alerts_ingested", "Alert events accepted.", registry=r)
        self.duplicates = Counter(
            "riverpatrol_cloud_alerts_duplicate", "Repeated (alert_id, revision).", registry=r
        )
        self.stale = Counter(
            "riverpatrol_cloud_alerts_stale", "Accepted events older than the stored item.", registry=r
        )
        self.rejected = Counter(
            "riverpatrol_cloud_alerts_rejected", "Alert batches rejected.", ["reason"], registry=r
        )
        self.merged = Counter(
            "riverpatrol_cloud_alerts_merged", "New finds merged into an open order.", registry=r
        )
        self.ingest_latency = Histogram(
            "riverpatrol_cloud_ingest_seconds",
            "Time to validate and store one ingest request.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )
        self.transitions = Counter(
            "riverpatrol_cloud_workorder_transitions", "Work-order transitions.", ["action"], registry=r
        )
        self.looks_asked = Counter(
            "riverpatrol_cloud_looks_asked", "Closer looks inspectors asked of finds.", registry=r
        )
        self.bus_subscribers = Gauge(
            "riverpatrol_cloud_bus_subscribers", "Event-bus subscribers.", registry=r
        )
        self.db_ok = Gauge(
            "riverpatrol_cloud_db_up", "1 when the last DB health probe succeeded.", registry=r
        )


router = APIRouter(tags=["service"])


@router.get(
    "/healthz",
    summary="Health indicator",
    description="200 with `status: ok` when the database answers; 503 otherwise.",
)
def healthz(request: Request) -> Response:
    st = request.app.state
    t0 = time.perf_counter()
    try:
        version = st.store.schema_version()
        ok = True
        detail = ""
    except Exception as e:  # health must report, not raise
        version, ok, detail = 0, False, f"{type(e).__name__}: {e}"
    st.metrics.db_ok.set(1 if ok else 0)
    body = {
        "status": "ok" if ok else "degraded",
        "db": st.store.kind,
        "schema_version": version,
        "db_ms": round((time.perf_counter() - t0) * 1000, 2),
        "bus_subscribers": st.bus.subscriber_count,
        "detail": detail,
    }
    return Response(json.dumps(body), status_code=200 if ok else 503, media_type="application/json")


@router.get("/metrics", summary="Prometheus metrics", description="Text exposition format 0.0.4.")
def metrics(request: Request) -> Response:
    st = request.app.state
    st.metrics.bus_subscribers.set(st.bus.subscriber_count)
    return Response(generate_latest(st.metrics.registry), media_type=CONTENT_TYPE_LATEST)
