"""SQLite engine (default): one file, WAL journal, one writer at a time.

Opened through sqlite-utils (schema inspection, WAL) but the hot path uses the raw connection
with ``executemany`` inside one ``BEGIN IMMEDIATE`` transaction per request. WAL checkpoints run
on a background thread with its own connection (PASSIVE: never blocks writers), so a commit never
pays for copying the WAL into the database file — that copy was the p99 latency spike.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import sqlite_utils

from cloud.storage.sql import SqlStore


class SqliteStore(SqlStore):
    """:class:`cloud.storage.base.Store` on a SQLite file (threads share one locked connection)."""

    kind = "sqlite"
    ddl_types: ClassVar[dict[str, str]] = {
        "real": "REAL",
        "blob": "BLOB",
        "serial": "INTEGER PRIMARY KEY AUTOINCREMENT",
    }

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        conn.row_factory = sqlite3.Row
        self.db = sqlite_utils.Database(conn)
        self.db.enable_wal()
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("PRAGMA wal_autocheckpoint = 0")  # the checkpointer thread does it
        self.conn = conn
        self._lock = threading.RLock()
        self.migrate()
        self._stop = threading.Event()
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop, name="sqlite-checkpoint", daemon=True
        )
        self._checkpointer.start()

    def _checkpoint_loop(self, interval_s: float = 0.5) -> None:
        ck = sqlite3.connect(str(self.path), isolation_level=None)
        ck.execute("PRAGMA busy_timeout = 1000")
        try:
            while not self._stop.wait(interval_s):
                with contextlib.suppress(sqlite3.OperationalError):
                    ck.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            ck.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._lock:
            cur = self.conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                if self.conn.in_transaction:  # SQLite has rolled back itself on a full disk
                    cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")
            finally:
                cur.close()

    @contextlib.contextmanager
    def _read(self) -> Iterator[Any]:
        with self._lock:
            cur = self.conn.cursor()
            try:
                yield cur
            finally:
                cur.close()

    def close(self) -> None:
        self._stop.set()
        self._checkpointer.join(5)
        with self._lock:
            with contextlib.suppress(sqlite3.OperationalError):
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.conn.close()
