"""A durable outbox: one SQLite file per connector, so a CIM outage or a crash loses nothing.

Entries are appended in the order events happened. Delivery is ordered *per item* (``key``):
only the oldest pending entry of each key is ever due, so a status change can never overtake
the creation of the same debris item, while one stuck item does not hold back the others.
SQLite runs with WAL and ``synchronous=FULL``: an entry acknowledged by :meth:`Outbox.enqueue`
survives ``kill -9`` and power loss. Every commit is an fsync (a few ms), so callers in an event
loop run these methods in a worker thread; a lock makes that safe and keeps multi-statement
changes atomic.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils


@dataclass(frozen=True)
class Entry:
    """One pending delivery."""

    seq: int
    key: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    next_at: float


class Outbox:
    """Pending deliveries, dead letters and remembered remote ids of one connector."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self.db = sqlite_utils.Database(conn)
        self._x("PRAGMA journal_mode=WAL")
        self._x("PRAGMA synchronous=FULL")
        self._x(
            "CREATE TABLE IF NOT EXISTS pending (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL,"
            " kind TEXT NOT NULL, payload TEXT NOT NULL, enqueued_at REAL NOT NULL,"
            " attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL, last_error TEXT)"
        )
        self._x("CREATE INDEX IF NOT EXISTS pending_key ON pending(key, seq)")
        self._x(
            "CREATE TABLE IF NOT EXISTS dead (seq INTEGER PRIMARY KEY, key TEXT, kind TEXT, payload TEXT,"
            " attempts INTEGER, error TEXT, dead_at REAL)"
        )
        self._x("CREATE TABLE IF NOT EXISTS remote_ids (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._x("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")

    def _x(self, sql: str, params: list[Any] | None = None) -> list[tuple]:
        """Run one statement and fetch its rows, all under the lock."""
        with self._lock:
            return self.db.execute(sql, params or []).fetchall()

    def _one(self, sql: str, params: list[Any] | None = None) -> tuple | None:
        rows = self._x(sql, params)
        return rows[0] if rows else None

    @contextmanager
    def _tx(self) -> Iterator[None]:
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                if self.db.conn.in_transaction:  # SQLite has rolled back itself on a full disk
                    self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def enqueue(self, key: str, kind: str, payload: dict[str, Any], now: float) -> int:
        """Append a delivery of ``payload`` for item ``key``; returns its sequence number."""
        return self.enqueue_many([(key, kind, payload)], now)[0]

    def enqueue_many(self, items: Iterable[tuple[str, str, dict[str, Any]]], now: float) -> list[int]:
        """Append several deliveries in one transaction (one fsync for a burst of events)."""
        seqs = []
        with self._tx():
            for key, kind, payload in items:
                cur = self.db.execute(
                    "INSERT INTO pending (key, kind, payload, enqueued_at, next_at) VALUES (?, ?, ?, ?, ?)",
                    [key, kind, json.dumps(payload, separators=(",", ":")), now, now],
                )
                seqs.append(int(cur.lastrowid))
        return seqs

    def due(self, now: float, limit: int = 100) -> list[Entry]:
        """Head entry of every item whose retry time has come, oldest first."""
        rows = self._x(
            "SELECT p.seq, p.key, p.kind, p.payload, p.attempts, p.next_at FROM pending p"
            " JOIN (SELECT key, min(seq) AS head FROM pending GROUP BY key) h ON p.seq = h.head"
            " WHERE p.next_at <= ? ORDER BY p.seq LIMIT ?",
            [now, limit],
        )
        return [Entry(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5]) for r in rows]

    def next_due_at(self) -> float | None:
        """Earliest retry time among item heads (None when nothing is pending)."""
        row = self._one(
            "SELECT min(p.next_at) FROM pending p"
            " JOIN (SELECT key, min(seq) AS head FROM pending GROUP BY key) h ON p.seq = h.head"
        )
        return row[0] if row else None

    def done(self, seq: int) -> None:
        """Delivered: drop the entry and count it."""
        with self._tx():
            self._x("DELETE FROM pending WHERE seq = ?", [seq])
            self._bump("delivered")

    def retry_later(self, seq: int, error: str, next_at: float) -> None:
        """A transient failure: try again at ``next_at``."""
        self._x(
            "UPDATE pending SET attempts = attempts + 1, last_error = ?, next_at = ? WHERE seq = ?",
            [error[:500], next_at, seq],
        )

    def dead_letter(self, entry: Entry, error: str, now: float) -> None:
        """The receiver rejected the entry for good: park it for a person, unblock its item."""
        self._x(
            "INSERT OR REPLACE INTO dead (seq, key, kind, payload, attempts, error, dead_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                entry.seq,
                entry.key,
                entry.kind,
                json.dumps(entry.payload),
                entry.attempts + 1,
                error[:500],
                now,
            ],
        )
        self._x("DELETE FROM pending WHERE seq = ?", [entry.seq])

    def backlog(self) -> int:
        return int(self._x("SELECT count(*) FROM pending")[0][0])

    def dead_count(self) -> int:
        return int(self._x("SELECT count(*) FROM dead")[0][0])

    def delivered_count(self) -> int:
        row = self._one("SELECT value FROM meta WHERE name = 'delivered'")
        return int(row[0]) if row else 0

    def last_error(self) -> str | None:
        row = self._one("SELECT last_error FROM pending WHERE last_error IS NOT NULL ORDER BY seq LIMIT 1")
        return row[0] if row else None

    def remember(self, name: str, value: str) -> None:
        """Keep a remote entity id (e.g. a SensorThings @iot.id) across restarts."""
        self._x("INSERT OR REPLACE INTO remote_ids (name, value) VALUES (?, ?)", [name, value])

    def recall(self, name: str) -> str | None:
        row = self._one("SELECT value FROM remote_ids WHERE name = ?", [name])
        return row[0] if row else None

    def forget(self, name: str) -> None:
        self._x("DELETE FROM remote_ids WHERE name = ?", [name])

    def _bump(self, name: str) -> None:
        self._x(
            "INSERT INTO meta (name, value) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1",
            [name],
        )

    def close(self) -> None:
        with self._lock:
            self.db.conn.close()
