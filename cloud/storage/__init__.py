"""Storage of the cloud service: :func:`open_store` picks the engine from the DB URL."""

from __future__ import annotations

from cloud.storage.base import IngestPolicy, IngestResult, ItemQuery, PreparedAlert, Store


def open_store(url: str, pool_size: int = 4) -> Store:
    """A migrated store for ``sqlite:///path`` or ``postgresql://...``; ``ValueError`` otherwise."""
    if url.startswith("sqlite:///"):
        from cloud.storage.sqlite import SqliteStore

        return SqliteStore(url[len("sqlite:///") :])
    if url.startswith(("postgresql://", "postgres://")):
        from cloud.storage.postgres import PostgresStore

        return PostgresStore(url, pool_size=pool_size)
    raise ValueError(f"database URL {url!r} must start with sqlite:/// or postgresql://")


__all__ = ["IngestPolicy", "IngestResult", "ItemQuery", "PreparedAlert", "Store", "open_store"]
