"""Store-and-forward queue of serialised alerts on the drone: SQLite, durable, bounded.

Durability: WAL journal with ``synchronous=FULL``. In WAL mode ``NORMAL`` survives a process
crash (kill -9) but may lose the last commits on power loss, and a drone's power loss (battery
swap, crash landing) is exactly when the last alerts matter. Alerts arrive a few per second at
most, so an fsync per commit (~1-5 ms on eMMC/SD) is affordable. :meth:`Outbox.put` returns
only after its commit, so an accepted alert is on disk.

Delivery: rows leave in insertion order (``pending``) and are deleted only on the broker's
PUBACK (``mark_sent``). Rows sent but not acknowledged before a crash are sent again on
restart: at-least-once, the consumer dedups by ``(alert_id, revision)``.

Bounds (``max_rows``, ``max_bytes`` of payload) and the policy when full, in this order,
each step only while still over a bound (:func:`plan_room`, pure):

1. drop the oldest ``update`` events already superseded by a later queued event of the same
   alert (the later one carries everything: nothing is lost but an intermediate revision);
2. strip the context picture from the oldest rows (bytes bound only);
3. drop the oldest remaining ``update`` events (the item's ``new`` stays queued);
4. strip the crop picture from the oldest rows (bytes bound only);
5. drop the oldest ``end`` events (the cloud then sees the item as still open);
6. refuse the incoming alert (:class:`OutboxFull`): only ``new`` events are left, and older
   finds are kept over newer ones, so what was accepted stays accepted.

``new`` events are never dropped. Every drop, strip and refusal is counted and logged.

The drone's record of each landed flight (a contract ``Flight``, ``edge.telemetry.logbook``) rides
the same queue as event ``flight``, in order with the alerts: like a ``new``, it is never dropped.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

_COLUMNS = "alert_id, revision, event, size, context_bytes, thumb_bytes"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    event TEXT NOT NULL,
    size INTEGER NOT NULL,
    context_bytes INTEGER NOT NULL,
    thumb_bytes INTEGER NOT NULL,
    payload BLOB NOT NULL
)
"""


class OutboxFull(RuntimeError):
    """The outbox is at its bounds and only ``new`` events are left to keep."""


class OutboxOpenError(OSError):
    """The outbox file cannot be opened or created; the message names it and why."""


@dataclass(frozen=True, slots=True)
class Limits:
    max_rows: int = 10_000
    max_bytes: int = 64 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.max_rows < 1 or self.max_bytes < 1:
            raise ValueError(f"outbox limits must be positive, got {self}")


@dataclass(frozen=True, slots=True)
class RowMeta:
    """What the bounds policy needs to know about a queued alert (no payload)."""

    id: int
    alert_id: str
    revision: int
    event: str
    size: int
    context_bytes: int
    thumb_bytes: int


@dataclass(slots=True)
class Plan:
    """What to do to fit an incoming row: ids to delete, ids to strip pictures from, or refuse."""

    drop: list[int] = field(default_factory=list)
    strip_context: list[int] = field(default_factory=list)
    strip_thumb: list[int] = field(default_factory=list)
    refuse: str = ""


def parse_meta(payload: bytes, row_id: int = 0) -> RowMeta:
    """Metadata of a serialised alert; ``ValueError`` says what is missing."""
    try:
        obj = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"outbox: payload is not JSON: {e}") from None
    if not isinstance(obj, dict):
        raise ValueError("outbox: payload is not a JSON object")
    if "flight_id" in obj and "event" not in obj:  # the drone's record of a landed flight
        return RowMeta(row_id, f"flight:{obj['flight_id']}", 0, "flight", len(payload), 0, 0)
    missing = [k for k in ("alert_id", "revision", "event") if k not in obj]
    if missing:
        raise ValueError(f"outbox: payload lacks {', '.join(missing)}")
    if obj["event"] not in ("new", "update", "end") or not isinstance(obj["revision"], int):
        raise ValueError(f"outbox: bad event/revision {obj['event']!r}/{obj['revision']!r}")
    return RowMeta(
        id=row_id,
        alert_id=str(obj["alert_id"]),
        revision=obj["revision"],
        event=obj["event"],
        size=len(payload),
        context_bytes=len(obj.get("context_jpeg") or ""),
        thumb_bytes=len(obj.get("thumbnail_jpeg") or ""),
    )


def plan_room(queued: Sequence[RowMeta], incoming: RowMeta, limits: Limits) -> Plan:
    """Steps (see the module doc) that bring ``queued`` + ``incoming`` within ``limits``."""
    plan = Plan()
    if incoming.size > limits.max_bytes:
        plan.refuse = f"alert of {incoming.size} B exceeds max_bytes={limits.max_bytes}"
        return plan
    rows = {r.id: r for r in queued}  # insertion order = id order
    sizes = {r.id: r.size for r in queued}
    ctx = {r.id: r.context_bytes for r in queued}
    thumb = {r.id: r.thumb_bytes for r in queued}

    def over_rows() -> bool:
        return len(rows) + 1 > limits.max_rows

    def over_bytes() -> bool:
        return sum(sizes.values()) + incoming.size > limits.max_bytes

    def over() -> bool:
        return over_rows() or over_bytes()

    def drop(rid: int) -> None:
        plan.drop.append(rid)
        del rows[rid], sizes[rid]

    last_row_of = {r.alert_id: r.id for r in queued}
    last_row_of[incoming.alert_id] = incoming.id  # incoming is newer than everything queued
    for r in list(rows.values()):  # 1: superseded updates
        if not over():
            return plan
        if r.event == "update" and last_row_of[r.alert_id] != r.id:
            drop(r.id)
    for rid in list(rows):  # 2: context pictures
        if not over_bytes():
            break
        if ctx[rid]:
            plan.strip_context.append(rid)
            sizes[rid] -= _saving(ctx[rid])
    for r in list(rows.values()):  # 3: any update
        if not over():
            return plan
        if r.event == "update":
            drop(r.id)
    for rid in list(rows):  # 4: crop pictures
        if not over_bytes():
            break
        if thumb[rid]:
            plan.strip_thumb.append(rid)
            sizes[rid] -= _saving(thumb[rid])
    for r in list(rows.values()):  # 5: ends
        if not over():
            return plan
        if r.event == "end":
            drop(r.id)
    if over():
        plan.refuse = (
            f"outbox full of {len(rows)} unsent `new` alerts "
            f"({sum(sizes.values())} B; max_rows={limits.max_rows}, max_bytes={limits.max_bytes})"
        )
    return plan


def _meta_values(m: RowMeta) -> tuple[str, int, str, int, int, int]:
    return m.alert_id, m.revision, m.event, m.size, m.context_bytes, m.thumb_bytes


def strip_pictures(payload: bytes, context: bool, thumbnail: bool) -> bytes:
    """The alert JSON with its context and/or crop picture replaced by ``null``.

    A byte-level replacement of the quoted base64 string (base64 needs no JSON escaping), so the
    rest of the payload stays byte-identical and the saving is exactly ``len(picture) - 2``.
    """
    obj = json.loads(payload)
    for key, wanted in (("context_jpeg", context), ("thumbnail_jpeg", thumbnail)):
        value = obj.get(key)
        if wanted and value:
            payload = payload.replace(json.dumps(value).encode(), b"null", 1)
    return payload


def _saving(picture_bytes: int) -> int:
    """Bytes saved by replacing a quoted picture string of this length with ``null``."""
    return max(picture_bytes - 2, 0)


@dataclass(slots=True)
class OutboxStats:
    queued: int = 0
    sent: int = 0
    dropped: dict[str, int] = field(default_factory=lambda: {"update": 0, "end": 0})
    stripped_context: int = 0
    stripped_thumbnail: int = 0
    refused: int = 0
    invalid: int = 0


class Outbox:
    """The SQLite shell around :func:`plan_room`. Thread-safe: the MQTT thread acks, the agent puts."""

    def __init__(self, path: Path | str, limits: Limits | None = None) -> None:
        self.path = Path(path)
        self.limits = limits or Limits()
        self.stats = OutboxStats()
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
        except (sqlite3.Error, OSError) as e:
            raise OutboxOpenError(f"cannot open the outbox {self.path}: {e}") from e
        self._rows, self._bytes = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM outbox"
        ).fetchone()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def depth(self) -> int:
        """Alerts waiting for a broker acknowledgement."""
        return self._rows

    def queued_bytes(self) -> int:
        return self._bytes

    def put(self, payload: bytes | str) -> int:
        """Queue one serialised alert durably; its row id. ``OutboxFull``/``ValueError`` when refused."""
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        try:
            meta = parse_meta(data)
        except ValueError:
            self.stats.invalid += 1
            raise
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                if self._rows + 1 > self.limits.max_rows or self._bytes + meta.size > self.limits.max_bytes:
                    self._make_room(cur, meta)
                cur.execute(
                    f"INSERT INTO outbox ({_COLUMNS}, payload) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (*_meta_values(meta), data),
                )
                row_id = cur.lastrowid
                cur.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:  # SQLite has rolled back itself on a full disk
                    cur.execute("ROLLBACK")
                self._rows, self._bytes = self._db.execute(
                    "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM outbox"
                ).fetchone()
                raise
            self._rows, self._bytes = cur.execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM outbox"
            ).fetchone()
        self.stats.queued += 1
        assert row_id is not None
        return row_id

    def _make_room(self, cur: sqlite3.Cursor, meta: RowMeta) -> None:
        queued = [RowMeta(*r) for r in cur.execute(f"SELECT id, {_COLUMNS} FROM outbox ORDER BY id")]
        incoming = RowMeta(
            id=(queued[-1].id + 1) if queued else 1,
            alert_id=meta.alert_id,
            revision=meta.revision,
            event=meta.event,
            size=meta.size,
            context_bytes=meta.context_bytes,
            thumb_bytes=meta.thumb_bytes,
        )
        plan = plan_room(queued, incoming, self.limits)
        if plan.refuse:
            self.stats.refused += 1
            log.error("outbox: refused alert %s rev %d: %s", meta.alert_id, meta.revision, plan.refuse)
            raise OutboxFull(plan.refuse)
        by_id = {r.id: r for r in queued}
        for rid in plan.drop:
            r = by_id[rid]
            cur.execute("DELETE FROM outbox WHERE id = ?", (rid,))
            self.stats.dropped[r.event] = self.stats.dropped.get(r.event, 0) + 1
            log.warning("outbox: full, dropped %s of alert %s rev %d", r.event, r.alert_id, r.revision)
        ctx, thumb = set(plan.strip_context), set(plan.strip_thumb)
        for rid in sorted(ctx | thumb):
            (payload,) = cur.execute("SELECT payload FROM outbox WHERE id = ?", (rid,)).fetchone()
            new = strip_pictures(payload, rid in ctx, rid in thumb)
            cur.execute(
                "UPDATE outbox SET payload = ?, size = ?, context_bytes = ?, thumb_bytes = ? WHERE id = ?",
                (
                    new,
                    len(new),
                    0 if rid in ctx else by_id[rid].context_bytes,
                    0 if rid in thumb else by_id[rid].thumb_bytes,
                    rid,
                ),
            )
        self.stats.stripped_context += len(ctx)
        self.stats.stripped_thumbnail += len(thumb)
        if ctx or thumb:
            log.warning(
                "outbox: full, stripped %d context and %d crop pictures from queued alerts",
                len(ctx),
                len(thumb),
            )

    def pending(self, limit: int = 100, after_id: int = 0) -> list[tuple[int, bytes]]:
        """Up to ``limit`` queued (row id, payload) with id > ``after_id``, oldest first."""
        return [(rid, p) for rid, _, p in self.pending_events(limit, after_id)]

    def pending_events(self, limit: int = 100, after_id: int = 0) -> list[tuple[int, str, bytes]]:
        """As :meth:`pending`, with each row's event (``new`` ... ``flight``: where it is published)."""
        with self._lock:
            return [
                (rid, event, bytes(p))
                for rid, event, p in self._db.execute(
                    "SELECT id, event, payload FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
                    (after_id, limit),
                )
            ]

    def mark_sent(self, ids: Iterable[int]) -> int:
        """Forget rows the broker acknowledged (one commit); how many were still queued."""
        ids = list(ids)
        if not ids:
            return 0
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            n = 0
            for chunk in range(0, len(ids), 500):
                part = ids[chunk : chunk + 500]
                cur.execute(f"DELETE FROM outbox WHERE id IN ({','.join('?' * len(part))})", part)
                n += cur.rowcount
            cur.execute("COMMIT")
            self._rows, self._bytes = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM outbox"
            ).fetchone()
        self.stats.sent += n
        return n


class HeldAlerts:
    """Alerts the outbox could not write yet (disk full, I/O error), held in memory in order.

    The outbox is the only copy of an unsent alert, so an alert it cannot write now must not be
    dropped: it waits here, ahead of every later one, and :meth:`retry` (each frame) writes them
    once the disk takes them again. Refusals that a retry cannot change (``OutboxFull``, an
    invalid alert) are not held: they are counted where the outbox counts them, and logged.
    The memory held is a patrol's alerts at most: a few per item found. Thread-safe.
    """

    def __init__(self, write: Callable[[bytes], object]) -> None:
        self._write = write
        self._lock = threading.Lock()
        self._held: deque[bytes] = deque()
        self.error: str | None = None  # why the last write failed, while alerts are held
        self.refused = 0  # alerts the outbox refused for good

    def __len__(self) -> int:
        return len(self._held)

    def put(self, payload: bytes) -> int:
        """Write ``payload`` after any held ones; how many were written now."""
        with self._lock:
            self._held.append(payload)
            return self._write_held()

    def retry(self) -> int:
        """Write held alerts, oldest first, until one fails again; how many were written."""
        with self._lock:
            return self._write_held()

    def _write_held(self) -> int:
        written = 0
        while self._held:
            try:
                self._write(self._held[0])
            except (OutboxFull, ValueError) as e:  # full of `new` events, or not an alert: for good
                self.refused += 1
                log.error("alert not queued: %s", e)
            except (sqlite3.Error, OSError) as e:
                if self.error is None:
                    log.error("outbox cannot be written (%s): holding %d alert(s) in memory", e, len(self))
                self.error = str(e)
                return written
            else:
                written += 1
            self._held.popleft()
        if self.error is not None:
            log.warning("outbox writable again: held alerts queued")
            self.error = None
        return written
