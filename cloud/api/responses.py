"""Fast JSON responses (pydantic-core's Rust serializer) with the right media types."""

from __future__ import annotations

from typing import Any

import pydantic_core
from fastapi.responses import JSONResponse

GEOJSON = "application/geo+json"


class FastJSON(JSONResponse):
    """``application/json`` rendered by pydantic-core (several times faster than ``json``)."""

    def render(self, content: Any) -> bytes:
        return pydantic_core.to_json(content)


class GeoJSON(FastJSON):
    """``application/geo+json`` (RFC 7946) for features and feature collections."""

    media_type = GEOJSON


def problem(status: int, detail: str, errors: list[str] | None = None, **extra: Any) -> FastJSON:
    """A JSON error body: ``{"detail": ..., "errors": [...]}``."""
    body: dict[str, Any] = {"detail": detail}
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return FastJSON(body, status_code=status)
