"""The relay's durable queue (SQLite): every alert event received, until the cloud acknowledges it.

An event is keyed by ``(alert_id, revision)``; a repeat from the broker (QoS 1 is at-least-once)
is absorbed by the unique key. Delivered events leave the queue but the latest revision of each
alert is kept in ``alerts`` so operators can list recent finds (``gcs alerts``) offline, for as
many days as the relay is told to keep them (:meth:`RelayOutbox.forget_delivered`).

A payload the relay refuses (it breaks the contract) is kept in ``rejected`` with why, not
dropped: a drone newer than its relay sends what an upgraded relay takes (``gcs alerts
--rejected`` lists them; the relay takes each again at its next start).

The inspectors' open requests for a closer look (``look_requests``) are the cloud's list as the
relay last read it, replaced whole each time, so ``gcs alerts`` shows them with the cloud away.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

from contract.messages import LookRequest

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    drone_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    UNIQUE (alert_id, revision)
);
CREATE TABLE IF NOT EXISTS dead_letter (
    alert_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    payload TEXT NOT NULL,
    reason TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (alert_id, revision)
);
CREATE TABLE IF NOT EXISTS alerts (
    alert_id TEXT PRIMARY KEY,
    revision INTEGER NOT NULL,
    drone_id TEXT NOT NULL,
    event TEXT NOT NULL,
    debris_class TEXT NOT NULL,
    confidence REAL NOT NULL,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    captured_at TEXT NOT NULL,
    delivered INTEGER NOT NULL DEFAULT 0,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS rejected (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    reason TEXT NOT NULL,
    received_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS look_requests (
    alert_id TEXT PRIMARY KEY,
    asked_at TEXT NOT NULL,
    payload TEXT NOT NULL
);
"""

#: The refused payloads kept: the newest this many, and this many bytes in all (a publisher
#: sending garbage without end must not fill the ground station's disk), each at most
#: ``MAX_REJECTED_BYTES`` (the rest is cut, and said).
MAX_REJECTED = 10_000
MAX_REJECTED_TOTAL = 100 << 20
MAX_REJECTED_BYTES = 1 << 20


@dataclass(frozen=True)
class Pending:
    seq: int
    alert_id: str
    revision: int
    payload: str
    received_at: float
    attempts: int


@dataclass(frozen=True)
class Rejected:
    """A payload the relay refused, as it came, with why."""

    seq: int
    topic: str
    payload: bytes
    reason: str
    received_at: float


@dataclass(frozen=True)
class DeadLetter:
    """An alert event the cloud refused (4xx), with its answer: not retried until offered again."""

    alert_id: str
    revision: int
    reason: str
    at: float


@dataclass(frozen=True)
class Backlog:
    count: int
    oldest_age_s: float | None
    dead_letters: int
    delivered: int
    refused: int = 0  #: payloads the relay refused, kept (``gcs alerts --rejected``)


class OutboxOpenError(OSError):
    """The relay's outbox file cannot be opened or created; the message names it and why."""


class RelayOutbox:
    """Thread-safe SQLite queue; every write is committed before the call returns."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: the broker drops its copy once we PUBACK, so our commit must be on disk by then.
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as e:
            raise OutboxOpenError(f"cannot open the relay outbox {self.path}: {e}") from e
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the lock: committed as the block ends, rolled back if it
        raises (SQLite has rolled back by itself on a full disk)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def put(self, alert: dict, raw: str) -> bool:
        """Queue one alert event (already validated); ``False`` if it (or a newer revision) was seen."""
        return self.put_many([(alert, raw)])[0]

    def put_many(self, items: list[tuple[dict, str]]) -> list[bool]:
        """Queue several events in ONE transaction (one fsync): group commit for bursts."""
        with self._write():
            return [self._put_one(alert, raw) for alert, raw in items]

    def _put_one(self, alert: dict, raw: str) -> bool:
        key = (str(alert["alert_id"]), int(alert["revision"]))
        known = self._db.execute("SELECT revision FROM alerts WHERE alert_id = ?", (key[0],)).fetchone()
        if known is not None and known[0] >= key[1]:
            return False  # queued or delivered already; a late lower revision is stale
        cur = self._db.execute(
            "INSERT OR IGNORE INTO queue (alert_id, revision, drone_id, payload, received_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (*key, alert["drone_id"], raw, time.time()),
        )
        if cur.rowcount != 1:
            return False
        self._db.execute(
            "INSERT INTO alerts (alert_id, revision, drone_id, event, debris_class, confidence, "
            "lat, lon, captured_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (alert_id) DO UPDATE SET revision=excluded.revision, event=excluded.event, "
            "confidence=excluded.confidence, lat=excluded.lat, lon=excluded.lon, "
            "captured_at=excluded.captured_at, payload=excluded.payload, delivered=0 "
            "WHERE excluded.revision > alerts.revision",
            (
                *key, alert["drone_id"], alert["event"], alert["debris_class"], alert["confidence"],
                alert["lat"], alert["lon"], str(alert["captured_at"]), raw,
            ),
        )  # fmt: skip
        return True

    def pending(self, limit: int) -> list[Pending]:
        """Oldest queued events first (the order the fleet published them in)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, alert_id, revision, payload, received_at, attempts FROM queue "
                "ORDER BY seq LIMIT ?",
                (limit,),
            ).fetchall()
        return [Pending(*r) for r in rows]

    def delivered(self, seqs: list[int]) -> None:
        """The cloud acknowledged these: drop them from the queue in one transaction."""
        if not seqs:
            return
        with self._write() as db:
            marks = ",".join("?" * len(seqs))
            db.execute(
                f"UPDATE alerts SET delivered=1 WHERE (alert_id, revision) IN "
                f"(SELECT alert_id, revision FROM queue WHERE seq IN ({marks}))",
                seqs,
            )
            db.execute(f"DELETE FROM queue WHERE seq IN ({marks})", seqs)
            self._bump("delivered", len(seqs))

    def failed_attempt(self, seqs: list[int]) -> None:
        if not seqs:
            return
        with self._lock:
            marks = ",".join("?" * len(seqs))
            self._db.execute(f"UPDATE queue SET attempts = attempts + 1 WHERE seq IN ({marks})", seqs)

    def dead_letter(self, item: Pending, reason: str) -> None:
        """The cloud refused this event as invalid (4xx): park it with the reason, out of the queue
        until :meth:`requeue_dead` offers it again."""
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO dead_letter VALUES (?, ?, ?, ?, ?)",
                (item.alert_id, item.revision, item.payload, reason, time.time()),
            )
            db.execute("DELETE FROM queue WHERE seq = ?", (item.seq,))

    def requeue_dead(self) -> int:
        """Offer the cloud again the events it refused (a cloud upgraded since may take what it
        did not know): back into the queue, out of the dead letters; how many. Refused again,
        they come back."""
        with self._write() as db:
            rows = db.execute("SELECT alert_id, revision, payload FROM dead_letter").fetchall()
            for alert_id, revision, payload in rows:
                db.execute(
                    "INSERT OR IGNORE INTO queue (alert_id, revision, drone_id, payload, received_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (alert_id, revision, json.loads(payload).get("drone_id", ""), payload, time.time()),
                )
            db.execute("DELETE FROM dead_letter")
        return len(rows)

    def dead_letters(self) -> list[DeadLetter]:
        """The events the cloud refused, newest first (until :meth:`requeue_dead` offers them again)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT alert_id, revision, reason, at FROM dead_letter ORDER BY at DESC"
            ).fetchall()
        return [DeadLetter(*r) for r in rows]

    def keep_rejected(self, items: list[tuple[str, bytes, str]]) -> list[bool]:
        """Keep refused payloads (topic, payload, why) in ONE transaction: the newest
        ``MAX_REJECTED`` of them and ``MAX_REJECTED_TOTAL`` bytes in all, the oldest going first;
        a payload over ``MAX_REJECTED_BYTES`` keeps its first bytes."""
        with self._write() as db:
            for topic, payload, why in items:
                if len(payload) > MAX_REJECTED_BYTES:
                    why = f"{why}; kept its first {MAX_REJECTED_BYTES:,} of {len(payload):,} bytes"
                db.execute(
                    "INSERT INTO rejected (topic, payload, reason, received_at) VALUES (?, ?, ?, ?)",
                    (topic, bytes(payload[:MAX_REJECTED_BYTES]), why, time.time()),
                )
            db.execute(  # newest first: how many, and how many bytes, up to and with each
                "DELETE FROM rejected WHERE seq IN (SELECT seq FROM (SELECT seq,"
                " row_number() OVER newest AS n, sum(length(payload)) OVER newest AS bytes"
                " FROM rejected WINDOW newest AS (ORDER BY seq DESC)) WHERE n > ? OR bytes > ?)",
                (MAX_REJECTED, MAX_REJECTED_TOTAL),
            )
        return [True] * len(items)

    def rejected(self, limit: int = MAX_REJECTED) -> list[Rejected]:
        """The refused payloads kept, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, topic, payload, reason, received_at FROM rejected ORDER BY seq LIMIT ?", (limit,)
            ).fetchall()
        return [Rejected(seq, topic, bytes(payload), reason, at) for seq, topic, payload, reason, at in rows]

    def forget_rejected(self, seqs: list[int]) -> None:
        """These refused payloads were taken after all (or are to go)."""
        if seqs:
            with self._lock:
                self._db.execute(f"DELETE FROM rejected WHERE seq IN ({','.join('?' * len(seqs))})", seqs)

    def replace_look_requests(self, items: list[LookRequest], now: float | None = None) -> None:
        """The cloud's open closer-look requests, in place of those read before, in one transaction
        (a reader never sees half a list); and when they were read."""
        with self._write() as db:
            db.execute("DELETE FROM look_requests")
            db.executemany(
                "INSERT OR REPLACE INTO look_requests (alert_id, asked_at, payload) VALUES (?, ?, ?)",
                [
                    (str(r.alert_id), r.asked_at.astimezone(UTC).isoformat(), r.model_dump_json())
                    for r in items
                ],
            )
            db.execute(
                "INSERT OR REPLACE INTO counters VALUES ('looks_read_at', ?)",
                (int(time.time() if now is None else now),),
            )

    def look_requests(self) -> list[LookRequest]:
        """The open closer-look requests as the relay last read them, oldest asked first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT payload FROM look_requests ORDER BY asked_at, alert_id"
            ).fetchall()
        return [LookRequest.model_validate_json(p) for (p,) in rows]

    def look_requests_read_at(self) -> float | None:
        """When the relay last read the requests from the cloud (Unix time); None: never."""
        with self._lock:
            row = self._db.execute("SELECT value FROM counters WHERE name='looks_read_at'").fetchone()
        return float(row[0]) if row else None

    def _bump(self, name: str, n: int) -> None:
        self._db.execute(
            "INSERT INTO counters VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
            (name, n),
        )

    def backlog(self, now: float | None = None) -> Backlog:
        now = time.time() if now is None else now
        with self._lock:
            count, oldest = self._db.execute("SELECT count(*), min(received_at) FROM queue").fetchone()
            dead = self._db.execute("SELECT count(*) FROM dead_letter").fetchone()[0]
            row = self._db.execute("SELECT value FROM counters WHERE name='delivered'").fetchone()
            refused = self._db.execute("SELECT count(*) FROM rejected").fetchone()[0]
        age = None if oldest is None else max(0.0, now - oldest)
        return Backlog(count, age, dead, row[0] if row else 0, refused)

    def forget_delivered(self, older_than_s: float, now: float | None = None) -> int:
        """Drop from the ``gcs alerts`` history every alert captured over ``older_than_s`` ago
        whose latest revision the cloud has; returns how many. Queued and dead-lettered events
        stay. A forgotten alert the fleet sends again is relayed again: the cloud's ingest is
        idempotent, so that costs a request, never a second find."""
        cutoff = (time.time() if now is None else now) - older_than_s
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM alerts WHERE delivered = 1 AND alert_id NOT IN (SELECT alert_id FROM queue) "
                "AND julianday(captured_at) < julianday(?, 'unixepoch')",
                (cutoff,),
            )
        return cur.rowcount

    def recent(
        self,
        limit: int = 50,
        drone_id: str | None = None,
        debris_class: str | None = None,
        id_prefix: str | None = None,
    ) -> list[tuple[dict, bool]]:
        """Latest revision of recent alerts, newest capture first, as the contract's JSON dicts,
        each with whether the cloud has that revision; ``id_prefix``: only the alerts whose id
        starts so (as ``gcs alerts`` shows 8 characters of it; ``%`` and ``_`` are an id's
        characters, not a pattern)."""
        sql, args = "SELECT payload, delivered FROM alerts WHERE 1=1", []
        if drone_id:
            sql, args = sql + " AND drone_id = ?", [*args, drone_id]
        if debris_class:
            sql, args = sql + " AND debris_class = ?", [*args, debris_class]
        if id_prefix is not None:
            escaped = id_prefix.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            sql, args = sql + " AND alert_id LIKE ? ESCAPE '\\'", [*args, escaped + "%"]
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY captured_at DESC LIMIT ?", [*args, limit]).fetchall()
        return [(json.loads(payload), bool(delivered)) for payload, delivered in rows]

    def recent_alerts(
        self, limit: int = 50, drone_id: str | None = None, debris_class: str | None = None
    ) -> list[dict]:
        """:meth:`recent`'s alerts alone."""
        return [a for a, _ in self.recent(limit, drone_id, debris_class)]
