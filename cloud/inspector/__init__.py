"""The inspectors' phone page, its live event stream and identity check, mounted by :func:`install`.

Plain HTML/CSS/JS shipped in ``static/`` (no CDN, no tile server: the map is the bundled river
centerlines drawn as SVG). Live updates come from ``/inspector/events`` (Server-Sent Events fed
by the core's event bus); actions go to the core's work-order API with the inspector's token.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import Gauge

from cloud.inspector.views import page_config, rivers_geojson, sse_frame
from cloud.segments import bundled_segments

log = logging.getLogger("riverpatrol.cloud.inspector")
STATIC = Path(__file__).parent / "static"
#: Seconds between SSE keep-alive comments (proxies drop idle streams after ~60 s).
KEEPALIVE_S = 15.0
#: A stream ends after this long and the browser reconnects (and re-reads the open list), so a
#: server shutdown never waits on phones that keep a page open.
STREAM_MAX_S = 60.0
NO_CACHE = {"Cache-Control": "no-cache"}


def install(app: FastAPI) -> None:
    """Serve ``/inspector/`` (page, service worker, rivers, config, whoami, SSE events)."""
    settings = app.state.settings
    streams = Gauge(
        "riverpatrol_inspector_streams", "Open inspector live streams.", registry=app.state.metrics.registry
    )

    @app.get("/inspector", include_in_schema=False)
    def inspector_root() -> RedirectResponse:
        return RedirectResponse("/inspector/")

    @app.get("/inspector/", include_in_schema=False)
    def inspector_page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=NO_CACHE)

    @app.get("/inspector/sw.js", include_in_schema=False)
    def service_worker() -> FileResponse:
        # Served from /inspector/ (not /static/) so its scope covers the page.
        return FileResponse(STATIC / "sw.js", media_type="text/javascript", headers=NO_CACHE)

    app.mount("/inspector/static", StaticFiles(directory=STATIC), name="inspector-static")

    @app.get("/inspector/rivers.geojson", tags=["inspector"])
    def rivers() -> JSONResponse:
        """River centerlines (WGS84) for the page's map: bundled rivers, configured segments on top."""
        configured = {s.id: s for s in app.state.segments.segments}
        lines = [configured.pop(s.id, s) for s in bundled_segments()] + list(configured.values())
        return JSONResponse(rivers_geojson(lines), media_type="application/geo+json")

    @app.get("/inspector/config.json", tags=["inspector"])
    def config() -> dict[str, Any]:
        """Inspectors and segment names known to this cloud."""
        return page_config(settings.segments, [*app.state.segments.segments, *bundled_segments()])

    @app.get("/inspector/whoami", tags=["inspector"])
    def whoami(request: Request) -> dict[str, Any]:
        """The inspector behind the bearer token, the stretches they answer for, and those they supervise."""
        who = request.app.state.auth.resolve(request, "inspector")
        return {
            "name": who.name,
            "segments": [s.id for s in settings.segments if who.name in s.inspectors],
            "supervises": [s.id for s in settings.segments if who.name in s.supervisors],
        }

    @app.get("/inspector/events", tags=["inspector"])
    async def events(request: Request) -> StreamingResponse:
        """Server-Sent Events: every ``alert.*`` and ``workorder.changed`` bus event, live."""
        sub = app.state.bus.subscribe(maxsize=1000)

        async def stream() -> AsyncIterator[str]:
            streams.inc()
            seq = 0
            loop = asyncio.get_running_loop()
            end = loop.time() + STREAM_MAX_S
            try:
                yield "retry: 2000\n: connected\n\n"
                while loop.time() < end and not await request.is_disconnected():
                    try:  # asyncio.timeout, not wait_for: see cloud.sync.worker (gh-86296)
                        async with asyncio.timeout(min(KEEPALIVE_S, max(0.0, end - loop.time()))):
                            event = await sub.get()
                    except TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                    seq += 1
                    yield sse_frame(event, seq)
            finally:
                sub.close()
                streams.dec()

        return StreamingResponse(
            stream(), media_type="text/event-stream", headers={**NO_CACHE, "X-Accel-Buffering": "no"}
        )
