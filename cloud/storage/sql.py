"""SQL shared by both engines: schema migrations, idempotent batch ingest, queries.

Engines differ only in connection handling, placeholders and DDL types, so the statements live
here once (written with ``?`` placeholders) and ``SqliteStore``/``PostgresStore`` adapt them.
Idempotency is the ``alert_events`` primary key plus ``INSERT ... ON CONFLICT DO NOTHING``:
whichever transaction inserts ``(alert_id, revision)`` first owns it; every repeat is a duplicate.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar

from cloud.flights import FlightKept, keep_one, track_bbox
from cloud.storage.base import IngestPolicy, IngestResult, ItemQuery, PreparedAlert, Row
from cloud.storage.items import ITEM_COLUMNS, LOOK_NOT_FOUND, LookRefused, look_open, merge_item, new_item
from cloud.workorders import OPEN_STATUSES, WORKORDER_COLUMNS, OrderGrid, nearest_open, new_order, search_box

log = logging.getLogger(__name__)

#: Work-order columns joined onto every item row we serve.
JOINED_ORDER_COLUMNS: tuple[str, ...] = (
    "status",
    "assignee",
    "review_required",
    "reviewed_at",
    "reviewed_by",
    "dispatched_at",
    "arrived_at",
    "cleared_at",
    "cleared_by",
    "cleared_photo_sha",
    "cleared_note",
    "finds",
)
#: What an open work order takes from the find that opened it when that find changes.
FOLLOWED: tuple[str, ...] = ("debris_class", "lat", "lon")
_JOIN_SELECT = (
    "SELECT i.*, "
    + ", ".join(f"w.{c} AS {c}" for c in JOINED_ORDER_COLUMNS)
    + " FROM items i JOIN workorders w ON w.id = i.workorder_id"
)

#: Numbered migrations; ``{real}``, ``{blob}``, ``{serial}`` are filled per engine.
MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (
        1,
        "initial schema",
        [
            "CREATE TABLE thumbnails (sha256 TEXT PRIMARY KEY, data {blob} NOT NULL, size INTEGER NOT "
            "NULL, created_at {real} NOT NULL)",
            "CREATE TABLE alert_events (alert_id TEXT NOT NULL, revision INTEGER NOT NULL, event TEXT "
            "NOT NULL, station TEXT NOT NULL, received_at {real} NOT NULL, PRIMARY KEY (alert_id, "
            "revision))",
            "CREATE TABLE items (alert_id TEXT PRIMARY KEY, revision INTEGER NOT NULL, event TEXT NOT "
            "NULL, drone_id TEXT NOT NULL, mission_id TEXT NOT NULL, station TEXT NOT NULL, "
            "debris_class TEXT NOT NULL, confidence {real} NOT NULL, lat {real} NOT NULL, lon {real} "
            "NOT NULL, uncertainty_m {real} NOT NULL, first_seen {real} NOT NULL, last_seen {real} NOT "
            "NULL, captured_at {real} NOT NULL, published_at {real} NOT NULL, received_at {real} NOT "
            "NULL, updated_at {real} NOT NULL, sightings INTEGER NOT NULL, passes INTEGER NOT NULL, "
            "top_score {real} NOT NULL, median_score {real} NOT NULL, thumbnail_sha TEXT, "
            "thumbnail_score {real}, context_sha TEXT, segment_id TEXT, river TEXT, workorder_id TEXT "
            "NOT NULL, merged_into TEXT, ended INTEGER NOT NULL)",
            "CREATE INDEX items_first_seen ON items (first_seen, alert_id)",
            "CREATE INDEX items_lat_lon ON items (lat, lon)",
            "CREATE INDEX items_workorder ON items (workorder_id)",
            "CREATE TABLE workorders (id TEXT PRIMARY KEY, debris_class TEXT NOT NULL, lat {real} NOT "
            "NULL, lon {real} NOT NULL, segment_id TEXT, river TEXT, status TEXT NOT NULL, "
            "review_required INTEGER NOT NULL, created_at {real} NOT NULL, updated_at {real} NOT NULL, "
            "finds INTEGER NOT NULL, reviewed_at {real}, reviewed_by TEXT, dispatched_at {real}, "
            "dispatched_by TEXT, assignee TEXT, arrived_at {real}, arrived_by TEXT, cleared_at {real}, "
            "cleared_by TEXT)",
            "CREATE INDEX workorders_near ON workorders (debris_class, lat)",
            "CREATE INDEX workorders_status ON workorders (status)",
            "CREATE TABLE workorder_events (id {serial}, workorder_id TEXT NOT NULL, action TEXT NOT "
            "NULL, from_status TEXT NOT NULL, to_status TEXT NOT NULL, actor TEXT NOT NULL, at {real} "
            "NOT NULL, note TEXT NOT NULL)",
            "CREATE INDEX workorder_events_wo ON workorder_events (workorder_id)",
            "CREATE TABLE api_tokens (token_hash TEXT PRIMARY KEY, role TEXT NOT NULL, principal TEXT "
            "NOT NULL, created_at {real} NOT NULL)",
        ],
    ),
    (
        2,
        "the closing inspector's photo and note",
        [
            "ALTER TABLE workorders ADD COLUMN cleared_photo_sha TEXT",
            "ALTER TABLE workorders ADD COLUMN cleared_note TEXT",
        ],
    ),
    (
        3,
        "patrol flights: which stretches were flown when",
        [
            "CREATE TABLE flights (flight_id TEXT PRIMARY KEY, station TEXT NOT NULL, vehicle TEXT NOT "
            "NULL, armed_at {real} NOT NULL, disarmed_at {real} NOT NULL, distance_m {real} NOT NULL, "
            "max_alt_m {real}, battery_used_pct {real}, mission_count INTEGER NOT NULL, waypoints_reached "
            "INTEGER NOT NULL, segments TEXT NOT NULL, track TEXT NOT NULL, received_at {real} NOT NULL, "
            "min_lon {real} NOT NULL, min_lat {real} NOT NULL, max_lon {real} NOT NULL, "
            "max_lat {real} NOT NULL)",
            "CREATE INDEX flights_armed_at ON flights (armed_at)",
        ],
    ),
    (
        4,
        "what the autopilot warned of in each flight (fence breaches, failsafes)",
        ["ALTER TABLE flights ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]'"],
    ),
    (
        5,
        "when each order was first claimed (a reassignment moves dispatched_at, not this)",
        [
            "ALTER TABLE workorders ADD COLUMN first_dispatched_at {real}",
            "UPDATE workorders SET first_dispatched_at = (SELECT MIN(e.at) FROM workorder_events e"
            " WHERE e.workorder_id = workorders.id AND e.action IN ('dispatch', 'claim'))",
        ],
    ),
    (
        6,
        "the flight modes flown in each flight (how it came home: its mission, a return, a landing)",
        ["ALTER TABLE flights ADD COLUMN modes TEXT NOT NULL DEFAULT '[]'"],
    ),
    (
        7,
        "which drone took each item's photo (that drone's later choice replaces it: a closer look)",
        ["ALTER TABLE items ADD COLUMN thumbnail_drone TEXT"],
    ),
    (
        8,
        "an inspector's request for a closer look at each item (open till a photo after a station read it)",
        [
            "ALTER TABLE items ADD COLUMN look_asked_at {real}",
            "ALTER TABLE items ADD COLUMN look_asked_by TEXT",
            "ALTER TABLE items ADD COLUMN look_note TEXT",
            "ALTER TABLE items ADD COLUMN look_done_at {real}",
            "ALTER TABLE items ADD COLUMN look_seen_at {real}",
            "ALTER TABLE items ADD COLUMN look_seen_by TEXT",
            "ALTER TABLE items ADD COLUMN look_outcome TEXT",
            "ALTER TABLE items ADD COLUMN look_answer TEXT",
            # the stations' poll reads the open ones every half minute: never a scan of every find
            "CREATE INDEX items_looks_open ON items (station, look_asked_at)"
            " WHERE look_asked_at IS NOT NULL AND look_done_at IS NULL",
        ],
    ),
    (
        9,
        "each item's drift on the water when last seen (NULL where no drone could tell)",
        [
            "ALTER TABLE items ADD COLUMN drift_east_mps {real}",
            "ALTER TABLE items ADD COLUMN drift_north_mps {real}",
            "ALTER TABLE items ADD COLUMN drift_sigma_mps {real}",
            "ALTER TABLE items ADD COLUMN drift_over_s {real}",
        ],
    ),
]

#: Columns of a stored flight (``segments`` and ``track`` are JSON text; the track's box is kept
#: beside it, so extents and bbox filters never parse a track).
FLIGHT_COLUMNS: tuple[str, ...] = (
    "flight_id", "station", "vehicle", "armed_at", "disarmed_at", "distance_m", "max_alt_m",
    "battery_used_pct", "mission_count", "waypoints_reached", "segments", "track", "received_at",
    "min_lon", "min_lat", "max_lon", "max_lat", "warnings", "modes",
)  # fmt: skip
_FLIGHT_NO_TRACK = ", ".join(c for c in FLIGHT_COLUMNS if c != "track")


def _flights_where(
    since: float | None, until: float | None, bbox: tuple[float, float, float, float] | None
) -> tuple[str, list[float]]:
    """The WHERE of flights that took off in [since, until] and whose track box meets ``bbox``
    (min lon, min lat, max lon, max lat): the stored box columns, no track parsed."""
    cond, params = [], []
    if since is not None:
        cond.append("armed_at >= ?")
        params.append(since)
    if until is not None:
        cond.append("armed_at <= ?")
        params.append(until)
    if bbox is not None:
        cond.append(_BOX_MEETS)
        params += _box_params(bbox)
    return (" WHERE " + " AND ".join(cond)) if cond else "", params


#: A stored flight's track box meets the box of the params ``_box_params`` gives.
_BOX_MEETS = "max_lon >= ? AND min_lon <= ? AND max_lat >= ? AND min_lat <= ?"


def _box_params(bbox: tuple[float, float, float, float]) -> list[float]:
    """(min lon, min lat, max lon, max lat) in ``_BOX_MEETS``'s order."""
    return [bbox[0], bbox[2], bbox[1], bbox[3]]


_OPEN_IN = "(" + ", ".join(f"'{s}'" for s in OPEN_STATUSES) + ")"


class _RolledBack(Exception):
    """Raised inside a transaction to undo it and carry out what it found (a dry run)."""

    def __init__(self, result: Any) -> None:
        super().__init__("rolled back")
        self.result = result


def _chunks(seq: Sequence[Any], n: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def _upsert_sql(table: str, cols: Sequence[str], key: str) -> str:
    sets = ", ".join(f"{c} = excluded.{c}" for c in cols if c != key)
    return (
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        f" ON CONFLICT ({key}) DO UPDATE SET {sets}"
    )


class SqlStore:
    """Engine-neutral implementation of :class:`cloud.storage.base.Store`."""

    kind = "sql"
    ddl_types: ClassVar[dict[str, str]] = {}
    for_update = ""

    # -- engine hooks -------------------------------------------------------------------------
    def _tx(self) -> contextlib.AbstractContextManager[Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _read(self) -> contextlib.AbstractContextManager[Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _sql(self, sql: str) -> str:
        return sql

    def _lock_ingest(self, cur: Any) -> None:
        """Serialise the merge decision between concurrent ingests (no-op where writes are serial)."""

    # -- helpers --------------------------------------------------------------------------------
    def _put_images(self, cur: Any, images: dict[str, bytes], now: float) -> None:
        """JPEGs by content hash (drone pictures, inspectors' photos); one stored once."""
        self._many(
            cur,
            "INSERT INTO thumbnails (sha256, data, size, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            [(sha, data, len(data), now) for sha, data in images.items()],
        )

    def _exec(self, cur: Any, sql: str, params: Sequence[Any] = ()) -> Any:
        cur.execute(self._sql(sql), params)
        return cur

    def _many(self, cur: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            cur.executemany(self._sql(sql), rows)

    def _all(self, cur: Any, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return [dict(r) for r in self._exec(cur, sql, params).fetchall()]

    def _one(self, cur: Any, sql: str, params: Sequence[Any] = ()) -> Row | None:
        r = self._exec(cur, sql, params).fetchone()
        return dict(r) if r is not None else None

    def _joined(self, cur: Any, alert_id: str) -> Row | None:
        """One item with its work order's columns (``_JOIN_SELECT``), as every item read serves it."""
        return self._one(cur, f"{_JOIN_SELECT} WHERE i.alert_id = ?", (alert_id,))

    def migrate(self) -> list[int]:
        """Apply missing migrations in order; returns the versions applied now."""
        applied: list[int] = []
        with self._tx() as cur:
            self._exec(
                cur,
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
                f" name TEXT NOT NULL, applied_at {self.ddl_types['real']} NOT NULL)",
            )
        for version, name, statements in MIGRATIONS:
            with self._tx() as cur:
                self._lock_ingest(cur)
                if self._one(cur, "SELECT version FROM schema_migrations WHERE version = ?", (version,)):
                    continue
                for st in statements:
                    self._exec(cur, st.format(**self.ddl_types))
                import time

                self._exec(
                    cur,
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, time.time()),
                )
                applied.append(version)
                log.info("applied schema migration", extra={"version": version, "migration": name})
        return applied

    def schema_version(self) -> int:
        with self._read() as cur:
            r = self._one(cur, "SELECT max(version) AS v FROM schema_migrations")
        return int(r["v"] or 0) if r else 0

    # -- ingest ---------------------------------------------------------------------------------
    def ingest(self, alerts: Sequence[PreparedAlert], policy: IngestPolicy, now: float) -> IngestResult:
        res = IngestResult()
        if not alerts:
            return res
        with self._tx() as cur:
            self._lock_ingest(cur)
            fresh: set[tuple[str, int]] = set()
            for chunk in _chunks(alerts, 400):
                sql = (
                    "INSERT INTO alert_events (alert_id, revision, event, station, received_at) VALUES "
                    + ", ".join(["(?, ?, ?, ?, ?)"] * len(chunk))
                    + " ON CONFLICT DO NOTHING RETURNING alert_id, revision"
                )
                params: list[Any] = []
                for a in chunk:
                    r = a.row
                    params += (r["alert_id"], r["revision"], r["event"], r["station"], now)
                fresh.update((x["alert_id"], x["revision"]) for x in self._all(cur, sql, params))
            accepted: list[PreparedAlert] = []
            for a in alerts:
                key = (a.row["alert_id"], a.row["revision"])
                if key in fresh:
                    fresh.discard(key)
                    accepted.append(a)
                else:
                    res.duplicates += 1
            res.accepted = len(accepted)
            if not accepted:
                return res
            thumbs: dict[str, bytes] = {}
            for a in accepted:
                for t in (a.thumbnail, a.context):
                    if t:
                        thumbs[t[0]] = t[1]
            self._put_images(cur, thumbs, now)
            ids = list(dict.fromkeys(a.row["alert_id"] for a in accepted))
            items: dict[str, Row] = {}
            for chunk in _chunks(ids, 500):
                marks = ", ".join("?" * len(chunk))
                for r in self._all(
                    cur, f"SELECT * FROM items WHERE alert_id IN ({marks}){self.for_update}", chunk
                ):
                    items[r["alert_id"]] = r
            orders: dict[str, Row] = {}  # orders created or changed in this batch
            grid = OrderGrid(policy.merge_radius_m)
            created: set[str] = set()
            dirty: dict[str, Row] = {}
            changed: list[tuple[str, str]] = []
            for a in accepted:
                row = a.row
                aid = row["alert_id"]
                existing = items.get(aid)
                if existing is None:
                    seg, river = policy.segment_for(row["lat"], row["lon"])
                    order = self._nearby_open(cur, grid, orders.keys(), row, policy.merge_radius_m)
                    if order is not None:
                        order = dict(order, finds=order["finds"] + 1, updated_at=now)
                        orders[order["id"]] = order
                        grid.add(order)
                        item = new_item(row, seg, river, order["id"], merged_into=order["id"])
                        changed.append(("alert.updated", aid))
                        res.merged += 1
                    else:
                        item = new_item(row, seg, river, aid, merged_into=None)
                        orders[aid] = new_order(aid, item, policy.review_required(seg), now)
                        grid.add(orders[aid])
                        created.add(aid)
                        changed.append(("alert.new", aid))
                        res.new_items += 1
                else:
                    merged = merge_item(existing, row)
                    if merged is None:
                        res.stale += 1
                        continue
                    item = merged
                    changed.append(("alert.updated", aid))
                    if item["workorder_id"] == aid and any(item[c] != existing[c] for c in FOLLOWED):
                        self._follow_find(cur, orders, grid, item, now)
                items[aid] = dirty[aid] = item
            self._many(
                cur,
                _upsert_sql("items", ITEM_COLUMNS, "alert_id"),
                [tuple(it[c] for c in ITEM_COLUMNS) for it in dirty.values()],
            )
            self._many(
                cur,
                f"INSERT INTO workorders ({', '.join(WORKORDER_COLUMNS)}) VALUES"
                f" ({', '.join('?' * len(WORKORDER_COLUMNS))})",
                [tuple(o[c] for c in WORKORDER_COLUMNS) for i, o in orders.items() if i in created],
            )
            self._many(
                cur,
                "UPDATE workorders SET finds = ?, debris_class = ?, lat = ?, lon = ?, updated_at = ?"
                " WHERE id = ?",
                [
                    (o["finds"], o["debris_class"], o["lat"], o["lon"], o["updated_at"], i)
                    for i, o in orders.items()
                    if i not in created
                ],
            )
            need = {items[aid]["workorder_id"] for _, aid in changed} - orders.keys()
            for chunk in _chunks(sorted(need), 500):
                marks = ", ".join("?" * len(chunk))
                for o in self._all(cur, f"SELECT * FROM workorders WHERE id IN ({marks})", chunk):
                    orders[o["id"]] = o
            for kind, aid in changed:
                it = items[aid]
                o = orders[it["workorder_id"]]
                res.changes.append((kind, {**it, **{c: o[c] for c in JOINED_ORDER_COLUMNS}}))
        return res

    def _follow_find(self, cur: Any, orders: dict[str, Row], grid: OrderGrid, item: Row, now: float) -> None:
        """The order a find opened takes the find's new name and place (a closer look named or
        placed it better; it drifted) while it is open: the crew goes where the item is now, later
        finds of that class beside it join it, and the order list says what is there. A closed
        order keeps where and what it was when it was closed."""
        wo_id = item["workorder_id"]
        order = orders.get(wo_id) or self._one(cur, "SELECT * FROM workorders WHERE id = ?", (wo_id,))
        if order is None or order["status"] not in OPEN_STATUSES:
            return
        orders[wo_id] = order = dict(order, **{c: item[c] for c in FOLLOWED}, updated_at=now)
        grid.add(order)

    def ask_look(self, alert_id: str, actor: str, note: str, now: float) -> tuple[Row, bool]:
        """(joined item, whether this asked anew): ``actor`` asks for a closer look at the item.
        An open request is kept as it is (the first asker's); ``KeyError`` for an unknown item,
        ``LookRefused`` when its work order is closed (nothing left to look at)."""
        with self._tx() as cur:
            self._lock_ingest(cur)  # an ingest merging this item at once must not write it back stale
            item = self._joined(cur, alert_id)
            if item is None:
                raise KeyError(alert_id)
            if item["status"] not in OPEN_STATUSES:
                raise LookRefused(
                    f"alert {alert_id}: its work order {item['workorder_id']} is {item['status']};"
                    " a closer look is asked of an open find"
                )
            if look_open(item):
                return item, False
            self._exec(
                cur,
                "UPDATE items SET look_asked_at = ?, look_asked_by = ?, look_note = ?, look_done_at = NULL,"
                " look_seen_at = NULL, look_seen_by = NULL, look_outcome = NULL, look_answer = NULL"
                " WHERE alert_id = ?",
                (now, actor, note, alert_id),
            )
            item = self._joined(cur, alert_id)
        return item or {}, True

    def look_missed(self, alert_id: str, station: str, answer: str, now: float) -> Row:
        """The operators flew there and did not find it (it drifted on, it sank): the open request is
        done without a photo, with their words; ``KeyError`` for an unknown item, ``LookRefused``
        when no request of it is open."""
        with self._tx() as cur:
            self._lock_ingest(cur)
            item = self._joined(cur, alert_id)
            if item is None:
                raise KeyError(alert_id)
            if not look_open(item):
                raise LookRefused(f"alert {alert_id}: no closer look of it is open")
            self._exec(
                cur,
                "UPDATE items SET look_done_at = ?, look_outcome = ?, look_answer = ?,"
                " look_seen_at = coalesce(look_seen_at, ?), look_seen_by = coalesce(look_seen_by, ?)"
                " WHERE alert_id = ?",
                (now, LOOK_NOT_FOUND, answer, now, station, alert_id),
            )
            return self._joined(cur, alert_id) or {}

    def open_looks(self, station: str | None = None) -> list[Row]:
        with self._read() as cur:
            where = " AND i.station = ?" if station is not None else ""
            return self._all(
                cur,
                f"{_JOIN_SELECT} WHERE i.look_asked_at IS NOT NULL AND i.look_done_at IS NULL"
                f" AND w.status IN {_OPEN_IN}{where} ORDER BY i.look_asked_at, i.alert_id",
                (station,) if station is not None else (),
            )

    def looks_seen(self, alert_ids: Sequence[str], station: str, now: float) -> list[Row]:
        """Mark these open requests read by ``station`` (the inspector's receipt: the operators have
        it); returns the joined items marked now, not those it had read before."""
        if not alert_ids:
            return []
        with self._tx() as cur:
            self._lock_ingest(cur)
            marks = ", ".join("?" * len(alert_ids))
            self._exec(
                cur,
                f"UPDATE items SET look_seen_at = ?, look_seen_by = ? WHERE alert_id IN ({marks})"
                " AND look_asked_at IS NOT NULL AND look_done_at IS NULL AND look_seen_at IS NULL",
                (now, station, *alert_ids),
            )
            return self._all(
                cur,
                f"{_JOIN_SELECT} WHERE i.alert_id IN ({marks}) AND i.look_seen_at = ?",
                (*alert_ids, now),
            )

    def _nearby_open(
        self, cur: Any, batch: OrderGrid, batch_ids: set[str], row: Row, radius: float
    ) -> Row | None:
        lat0, lat1, lon0, lon1 = search_box(row["lat"], row["lon"], radius)
        found = self._all(
            cur,
            f"SELECT * FROM workorders WHERE debris_class = ? AND lat BETWEEN ? AND ? AND lon BETWEEN ? AND ?"
            f" AND status IN {_OPEN_IN}",
            (row["debris_class"], lat0, lat1, lon0, lon1),
        )
        # this batch's view of an order (finds, new orders) wins over the stored one
        cands = [o for o in found if o["id"] not in batch_ids] + batch.near(row["lat"], row["lon"])
        return nearest_open(cands, row["lat"], row["lon"], row["debris_class"], radius)

    # -- reads ----------------------------------------------------------------------------------
    def get_item(self, alert_id: str) -> Row | None:
        with self._read() as cur:
            return self._joined(cur, alert_id)

    @staticmethod
    def _where(q: ItemQuery) -> tuple[str, list[Any]]:
        cond: list[str] = []
        params: list[Any] = []
        if q.bbox:
            cond.append("i.lon BETWEEN ? AND ? AND i.lat BETWEEN ? AND ?")
            params += [q.bbox[0], q.bbox[2], q.bbox[1], q.bbox[3]]
        if q.start is not None:
            cond.append("i.last_seen >= ?")
            params.append(q.start)
        if q.end is not None:
            cond.append("i.first_seen <= ?")
            params.append(q.end)
        if q.status:
            cond.append(f"w.status IN ({', '.join('?' * len(q.status))})")
            params += list(q.status)
        if q.classes:
            cond.append(f"i.debris_class IN ({', '.join('?' * len(q.classes))})")
            params += list(q.classes)
        if q.river:
            cond.append("i.river = ?")
            params.append(q.river)
        if q.segment:
            cond.append("i.segment_id = ?")
            params.append(q.segment)
        return (" WHERE " + " AND ".join(cond)) if cond else "", params

    def query_items(self, q: ItemQuery) -> tuple[list[Row], int]:
        where, params = self._where(q)
        with self._read() as cur:
            total = self._one(
                cur,
                f"SELECT count(*) AS n FROM items i JOIN workorders w ON w.id = i.workorder_id{where}",
                params,
            )
            rows = self._all(
                cur,
                f"{_JOIN_SELECT}{where} ORDER BY i.first_seen, i.alert_id LIMIT ? OFFSET ?",
                [*params, q.limit, q.offset],
            )
        return rows, int(total["n"]) if total else 0

    def extent(self) -> tuple[tuple[float, float, float, float] | None, tuple[float, float] | None]:
        with self._read() as cur:
            r = self._one(
                cur,
                "SELECT min(lon) AS x0, min(lat) AS y0, max(lon) AS x1, max(lat) AS y1,"
                " min(first_seen) AS t0, max(last_seen) AS t1 FROM items",
            )
        if not r or r["x0"] is None:
            return None, None
        return (r["x0"], r["y0"], r["x1"], r["y1"]), (r["t0"], r["t1"])

    def count_events(self) -> int:
        with self._read() as cur:
            r = self._one(cur, "SELECT count(*) AS n FROM alert_events")
        return int(r["n"]) if r else 0

    def expire_photos(self, closed_before: float, dry_run: bool = False) -> tuple[int, int, list[str]]:
        """Drop the pictures of finds whose orders closed (cleared, false alarm) before
        ``closed_before``: their items and orders forget them, then every stored picture from
        before then that nothing refers to any more goes (an open order's are never touched).
        Returns (pictures deleted, bytes freed, the items that lost a picture); ``dry_run`` says
        the same and rolls it all back."""
        closed = f"status NOT IN {_OPEN_IN} AND updated_at < ?"
        with_pictures = (
            f"SELECT id FROM workorders w WHERE {closed} AND (cleared_photo_sha IS NOT NULL OR EXISTS"
            " (SELECT 1 FROM items i WHERE i.workorder_id = w.id AND (i.thumbnail_sha IS NOT NULL"
            " OR i.context_sha IS NOT NULL)))"
        )
        kept = (
            "SELECT thumbnail_sha FROM items WHERE thumbnail_sha IS NOT NULL"
            " UNION SELECT context_sha FROM items WHERE context_sha IS NOT NULL"
            " UNION SELECT cleared_photo_sha FROM workorders WHERE cleared_photo_sha IS NOT NULL"
        )
        gone = f"FROM thumbnails WHERE created_at < ? AND sha256 NOT IN ({kept})"
        try:
            with self._tx() as cur:
                touched = self._all(
                    cur,
                    f"SELECT alert_id FROM items WHERE workorder_id IN ({with_pictures})",
                    (closed_before,),
                )
                self._exec(
                    cur,
                    "UPDATE items SET thumbnail_sha = NULL, context_sha = NULL WHERE (thumbnail_sha IS NOT"
                    " NULL OR context_sha IS NOT NULL)"
                    f" AND workorder_id IN (SELECT id FROM workorders WHERE {closed})",
                    (closed_before,),
                )
                self._exec(
                    cur,
                    "UPDATE workorders SET cleared_photo_sha = NULL"
                    f" WHERE cleared_photo_sha IS NOT NULL AND {closed}",
                    (closed_before,),
                )
                row = self._one(
                    cur, f"SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS bytes {gone}", (closed_before,)
                )
                self._exec(cur, f"DELETE {gone}", (closed_before,))
                assert row is not None
                result = int(row["n"]), int(row["bytes"]), [str(r["alert_id"]) for r in touched]
                if dry_run:
                    raise _RolledBack(result)
        except _RolledBack as undone:
            return undone.result
        return result

    def get_thumbnail(self, sha256: str) -> bytes | None:
        with self._read() as cur:
            r = self._one(cur, "SELECT data FROM thumbnails WHERE sha256 = ?", (sha256,))
        return bytes(r["data"]) if r else None

    # -- tokens ---------------------------------------------------------------------------------
    def add_token(self, token_hash: str, role: str, principal: str, now: float) -> None:
        with self._tx() as cur:
            self._exec(
                cur,
                "INSERT INTO api_tokens (token_hash, role, principal, created_at) VALUES (?, ?, ?, ?)",
                (token_hash, role, principal, now),
            )

    def lookup_token(self, token_hash: str) -> tuple[str, str] | None:
        with self._read() as cur:
            r = self._one(cur, "SELECT role, principal FROM api_tokens WHERE token_hash = ?", (token_hash,))
        return (r["role"], r["principal"]) if r else None

    def list_tokens(self) -> list[Row]:
        with self._read() as cur:
            return self._all(
                cur, "SELECT token_hash, role, principal, created_at FROM api_tokens ORDER BY created_at", ()
            )

    def revoke_tokens(self, token_hashes: Sequence[str]) -> int:
        with self._tx() as cur:
            n = 0
            for h in token_hashes:
                n += self._exec(cur, "DELETE FROM api_tokens WHERE token_hash = ?", (h,)).rowcount
        return n

    # -- work orders ----------------------------------------------------------------------------
    def get_workorder(self, wo_id: str) -> Row | None:
        with self._read() as cur:
            return self._one(cur, "SELECT * FROM workorders WHERE id = ?", (wo_id,))

    def list_workorders(
        self, status: Sequence[str] = (), segment: str | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[list[Row], int]:
        cond, params = [], []
        if status:
            cond.append(f"status IN ({', '.join('?' * len(status))})")
            params += list(status)
        if segment:
            cond.append("segment_id = ?")
            params.append(segment)
        where = (" WHERE " + " AND ".join(cond)) if cond else ""
        with self._read() as cur:
            total = self._one(cur, f"SELECT count(*) AS n FROM workorders{where}", params)
            rows = self._all(
                cur,
                f"SELECT * FROM workorders{where} ORDER BY created_at, id LIMIT ? OFFSET ?",
                [*params, limit, offset],
            )
        return rows, int(total["n"]) if total else 0

    def workorder_history(self, wo_id: str) -> list[Row]:
        with self._read() as cur:
            return self._all(
                cur,
                "SELECT workorder_id, action, from_status, to_status, actor, at, note"
                " FROM workorder_events WHERE workorder_id = ? ORDER BY id",
                (wo_id,),
            )

    def apply_transition(
        self,
        wo_id: str,
        decide: Callable[[Row], tuple[Row, Row]],
        now: float,
        photos: Sequence[tuple[str, bytes]] = (),
    ) -> tuple[Row, Row]:
        with self._tx() as cur:
            order = self._one(cur, f"SELECT * FROM workorders WHERE id = ?{self.for_update}", (wo_id,))
            if order is None:
                raise KeyError(wo_id)
            new, hist = decide(order)
            self._put_images(cur, dict(photos), now)
            cols = [c for c in WORKORDER_COLUMNS if c != "id"]
            self._exec(
                cur,
                f"UPDATE workorders SET {', '.join(f'{c} = ?' for c in cols)} WHERE id = ?",
                [*(new[c] for c in cols), wo_id],
            )
            self._exec(
                cur,
                "INSERT INTO workorder_events (workorder_id, action, from_status, to_status, actor,"
                " at, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    hist[c]
                    for c in ("workorder_id", "action", "from_status", "to_status", "actor", "at", "note")
                ],
            )
            item = self._joined(cur, wo_id)
        return new, item or {}

    def all_workorders(self) -> list[Row]:
        with self._read() as cur:
            return self._all(cur, "SELECT * FROM workorders")

    def all_workorder_events(self) -> list[Row]:
        with self._read() as cur:
            return self._all(
                cur,
                "SELECT workorder_id, action, from_status, to_status, actor, at, note"
                " FROM workorder_events ORDER BY id",
            )

    def add_flight(self, row: Row) -> FlightKept:
        with self._tx() as cur:
            self._lock_ingest(cur)  # two stations posting two records of one flight at once
            twins = self._all(
                cur,
                "SELECT flight_id, armed_at, disarmed_at FROM flights WHERE flight_id = ?"
                f" OR (vehicle = ? AND armed_at < ? AND disarmed_at > ? AND {_BOX_MEETS})",
                [
                    row["flight_id"],
                    row["vehicle"],
                    row["disarmed_at"],
                    row["armed_at"],
                    *_box_params(track_bbox(row)),
                ],
            )
            kept = keep_one(row, twins)
            if kept.new:
                for gone in kept.replaces:
                    self._exec(cur, "DELETE FROM flights WHERE flight_id = ?", (gone,))
                self._exec(
                    cur,
                    f"INSERT INTO flights ({', '.join(FLIGHT_COLUMNS)})"
                    f" VALUES ({', '.join('?' * len(FLIGHT_COLUMNS))})",
                    [row[c] for c in FLIGHT_COLUMNS],
                )
            return kept

    def get_flight(self, flight_id: str) -> Row | None:
        with self._read() as cur:
            return self._one(cur, "SELECT * FROM flights WHERE flight_id = ?", (flight_id,))

    def list_flights(
        self,
        since: float | None = None,
        until: float | None = None,
        limit: int = 10_000,
        with_track: bool = True,
        bbox: tuple[float, float, float, float] | None = None,
        offset: int = 0,
    ) -> list[Row]:
        where, params = _flights_where(since, until, bbox)
        cols = "*" if with_track else _FLIGHT_NO_TRACK
        with self._read() as cur:
            return self._all(
                cur,
                f"SELECT {cols} FROM flights{where} ORDER BY armed_at, flight_id LIMIT ? OFFSET ?",
                [*params, limit, offset],
            )

    def flights_extent(self) -> Row | None:
        with self._read() as cur:
            row = self._one(
                cur,
                "SELECT MIN(min_lon) AS min_lon, MIN(min_lat) AS min_lat, MAX(max_lon) AS max_lon,"
                " MAX(max_lat) AS max_lat, MIN(armed_at) AS armed_at, MAX(disarmed_at) AS disarmed_at"
                " FROM flights",
            )
        return row if row and row["armed_at"] is not None else None

    def count_flights(
        self,
        since: float | None = None,
        until: float | None = None,
        bbox: tuple[float, float, float, float] | None = None,
    ) -> int:
        where, params = _flights_where(since, until, bbox)
        with self._read() as cur:
            row = self._one(cur, f"SELECT COUNT(*) AS n FROM flights{where}", params)
            return int(row["n"]) if row else 0

    def open_workorders(self, limit: int = 10_000) -> list[Row]:
        with self._read() as cur:
            return self._all(
                cur,
                "SELECT w.*, COALESCE((SELECT max(e.at) FROM workorder_events e WHERE e.workorder_id ="
                f" w.id AND e.action = 'release'), w.created_at) AS open_since FROM workorders w"
                f" WHERE w.status IN {_OPEN_IN} ORDER BY w.created_at, w.id LIMIT ?",
                (limit,),
            )
