"""PostgreSQL engine (fleets): psycopg 3, a small fixed pool, row locks for read-modify-write.

Concurrent ingests take a transaction-scoped advisory lock so two requests cannot both open a
work order for the same physical item; idempotency itself rests on the primary key.
"""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Iterator
from typing import Any, ClassVar

import psycopg
from psycopg.rows import dict_row

from cloud.storage.sql import SqlStore

_INGEST_LOCK_KEY = 0x52495650  # "RIVP"


class PostgresStore(SqlStore):
    """:class:`cloud.storage.base.Store` on PostgreSQL."""

    kind = "postgresql"
    ddl_types: ClassVar[dict[str, str]] = {
        "real": "DOUBLE PRECISION",
        "blob": "BYTEA",
        "serial": "BIGSERIAL PRIMARY KEY",
    }
    for_update = " FOR UPDATE"

    def __init__(self, url: str, pool_size: int = 4) -> None:
        self.url = url
        self._pool: queue.Queue[psycopg.Connection] = queue.Queue()
        self._all_conns: list[psycopg.Connection] = []
        for _ in range(pool_size):
            conn = psycopg.connect(url, autocommit=True, row_factory=dict_row)
            self._all_conns.append(conn)
            self._pool.put(conn)
        self.migrate()

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def _lock_ingest(self, cur: Any) -> None:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_INGEST_LOCK_KEY,))

    @contextlib.contextmanager
    def _conn(self) -> Iterator[psycopg.Connection]:
        conn = self._pool.get()
        try:
            if conn.closed or conn.broken:
                conn = psycopg.connect(self.url, autocommit=True, row_factory=dict_row)
            yield conn
        finally:
            self._pool.put(conn)

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._conn() as conn, conn.transaction(), conn.cursor() as cur:
            yield cur

    @contextlib.contextmanager
    def _read(self) -> Iterator[Any]:
        with self._conn() as conn, conn.cursor() as cur:
            yield cur

    def close(self) -> None:
        for c in self._all_conns:
            c.close()
