"""A durable outbox: one SQLite file per connector, so a CIM outage or a crash loses nothing.

Entries are appended in the order events happened. Delivery is ordered *per item* (``key``):
only the oldest pending entry of each key is ever due, so a status change can never overtake
the creation of the same debris item, while one stuck item does not hold back the others.
SQLite runs with WAL and ``synchronous=FULL``: an entry acknowledged by :meth:`Outbox.enqueue`
survives ``kill -9`` and power loss.
"""

from __future__ import annotations

import json
import sqlite3
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
        conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        self.db = sqlite_utils.Database(conn)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS pending (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL,"
            " kind TEXT NOT NULL, payload TEXT NOT NULL, enqueued_at REAL NOT NULL,"
            " attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL, last_error TEXT)"
        )
        self.db.execute("CREATE INDEX IF NOT EXISTS pending_key ON pending(key, seq)")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS dead (seq INTEGER PRIMARY KEY, key TEXT, kind TEXT, payload TEXT,"
            " attempts INTEGER, error TEXT, dead_at REAL)"
        )
        self.db.execute("CREATE TABLE IF NOT EXISTS remote_ids (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self.db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")

    def enqueue(self, key: str, kind: str, payload: dict[str, Any], now: float) -> int:
        """Append a delivery of ``payload`` for item ``key``; returns its sequence number."""
        cur = self.db.execute(
            "INSERT INTO pending (key, kind, payload, enqueued_at, next_at) VALUES (?, ?, ?, ?, ?)",
            [key, kind, json.dumps(payload, separators=(",", ":")), now, now],
        )
        return int(cur.lastrowid)

    def due(self, now: float, limit: int = 100) -> list[Entry]:
        """Head entry of every item whose retry time has come, oldest first."""
        rows = self.db.execute(
            "SELECT p.seq, p.key, p.kind, p.payload, p.attempts, p.next_at FROM pending p"
            " JOIN (SELECT key, min(seq) AS head FROM pending GROUP BY key) h ON p.seq = h.head"
            " WHERE p.next_at <= ? ORDER BY p.seq LIMIT ?",
            [now, limit],
        ).fetchall()
        return [Entry(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5]) for r in rows]

    def next_due_at(self) -> float | None:
        """Earliest retry time among item heads (None when nothing is pending)."""
        row = self.db.execute(
            "SELECT min(p.next_at) FROM pending p"
            " JOIN (SELECT key, min(seq) AS head FROM pending GROUP BY key) h ON p.seq = h.head"
        ).fetchone()
        return row[0]

    def done(self, seq: int) -> None:
        """Delivered: drop the entry and count it."""
        self.db.execute("DELETE FROM pending WHERE seq = ?", [seq])
        self._bump("delivered")

    def retry_later(self, seq: int, error: str, next_at: float) -> None:
        """A transient failure: try again at ``next_at``."""
        self.db.execute(
            "UPDATE pending SET attempts = attempts + 1, last_error = ?, next_at = ? WHERE seq = ?",
            [error[:500], next_at, seq],
        )

    def dead_letter(self, entry: Entry, error: str, now: float) -> None:
        """The receiver rejected the entry for good: park it for a person, unblock its item."""
        self.db.execute(
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
        self.db.execute("DELETE FROM pending WHERE seq = ?", [entry.seq])

    def backlog(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM pending").fetchone()[0])

    def dead_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM dead").fetchone()[0])

    def delivered_count(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE name = 'delivered'").fetchone()
        return int(row[0]) if row else 0

    def last_error(self) -> str | None:
        row = self.db.execute(
            "SELECT last_error FROM pending WHERE last_error IS NOT NULL ORDER BY seq LIMIT 1"
        ).fetchone()
        return row[0] if row else None

    def remember(self, name: str, value: str) -> None:
        """Keep a remote entity id (e.g. a SensorThings @iot.id) across restarts."""
        self.db.execute("INSERT OR REPLACE INTO remote_ids (name, value) VALUES (?, ?)", [name, value])

    def recall(self, name: str) -> str | None:
        row = self.db.execute("SELECT value FROM remote_ids WHERE name = ?", [name]).fetchone()
        return row[0] if row else None

    def forget(self, name: str) -> None:
        self.db.execute("DELETE FROM remote_ids WHERE name = ?", [name])

    def _bump(self, name: str) -> None:
        self.db.execute(
            "INSERT INTO meta (name, value) VALUES (?, 1) ON CONFLICT(name) DO UPDATE SET value = value + 1",
            [name],
        )

    def close(self) -> None:
        self.db.conn.close()
