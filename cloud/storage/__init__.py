"""Storage of the cloud service: :func:`open_store` picks the engine from the DB URL."""

from __future__ import annotations

import functools
import sqlite3
from urllib.parse import urlsplit, urlunsplit

from cloud.storage.base import IngestPolicy, IngestResult, ItemQuery, PreparedAlert, Store


@functools.cache
def storage_errors() -> tuple[type[Exception], ...]:
    """What either engine raises when the database itself fails (disk full, server gone): the API
    answers 503 with the reason, and a relay retries. A function, so ``except storage_errors()``
    imports psycopg only when an error is being handled, not at start-up."""
    try:
        import psycopg
    except ImportError:  # SQLite only: the cloud extra is not installed
        return (sqlite3.Error,)
    return (sqlite3.Error, psycopg.Error)


class StoreUnavailable(ConnectionError):
    """The database cannot be opened or reached; the message names it (password hidden) and why."""


def redacted(url: str) -> str:
    """``url`` with any password replaced by ``***``, fit for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{netloc}"))


def open_store(url: str, pool_size: int = 4) -> Store:
    """A migrated store for ``sqlite:///path`` or ``postgresql://...``.

    ``ValueError`` for any other URL; :class:`StoreUnavailable` when the database cannot be
    opened (a SQLite path that is a folder or unwritable, a PostgreSQL server that refuses).
    """
    if url.startswith("sqlite:///"):
        from cloud.storage.sqlite import SqliteStore

        path = url[len("sqlite:///") :]
        try:
            return SqliteStore(path)
        except (OSError, sqlite3.Error) as e:
            raise StoreUnavailable(f"cannot open the SQLite database {path}: {e}") from e
    if url.startswith(("postgresql://", "postgres://")):
        import psycopg

        from cloud.storage.postgres import PostgresStore

        try:
            return PostgresStore(url, pool_size=pool_size)
        except psycopg.OperationalError as e:
            why = " ".join(str(e).split())  # libpq's message spans lines
            raise StoreUnavailable(f"cannot connect to the database {redacted(url)}: {why}") from e
    raise ValueError(f"database URL {url!r} must start with sqlite:/// or postgresql://")


__all__ = [
    "IngestPolicy",
    "IngestResult",
    "ItemQuery",
    "PreparedAlert",
    "Store",
    "StoreUnavailable",
    "open_store",
    "redacted",
    "storage_errors",
]
