"""Cloud sync: mounted onto the FastAPI app by :func:`install`."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Add this part's routes and background services to app (see cloud/app.py)."""
