"""Outbox: insertion order, durability across reopen, and the documented policy when full."""

from __future__ import annotations

import json
import uuid

import pytest

from edge.outbox import (
    HeldAlerts,
    Limits,
    Outbox,
    OutboxFull,
    RowMeta,
    parse_meta,
    plan_room,
    strip_pictures,
)


def payload(aid: str, rev: int, event: str, ctx: int = 0, thumb: int = 0, pad: int = 0) -> bytes:
    return json.dumps(
        {
            "alert_id": aid,
            "revision": rev,
            "event": event,
            "context_jpeg": "C" * ctx or None,
            "thumbnail_jpeg": "T" * thumb or None,
            "pad": "x" * pad,
        },
        separators=(",", ":"),
    ).encode()


def meta(rid, aid, rev, event, size=100, ctx=0, thumb=0) -> RowMeta:
    return RowMeta(rid, aid, rev, event, size, ctx, thumb)


# ---------------------------------------------------------------- pure policy


def test_superseded_updates_go_first_and_nothing_else_is_touched():
    q = [meta(1, "A", 0, "new"), meta(2, "A", 1, "update"), meta(3, "B", 0, "new"), meta(4, "A", 2, "update")]
    plan = plan_room(q, meta(5, "C", 0, "new"), Limits(max_rows=4, max_bytes=10**6))
    assert plan.drop == [2] and not plan.strip_context and not plan.refuse


def test_bytes_bound_strips_context_pictures_oldest_first_before_dropping_updates():
    q = [meta(1, "A", 0, "new", 400, ctx=300), meta(2, "B", 1, "update", 400, ctx=300)]
    plan = plan_room(q, meta(3, "C", 0, "new", 400, ctx=300), Limits(max_rows=100, max_bytes=1000))
    assert plan.strip_context == [1] and plan.drop == []


def test_then_updates_then_crops_then_ends_and_news_are_never_dropped():
    q = [
        meta(1, "A", 0, "new", 300, thumb=200),
        meta(2, "B", 3, "update", 300, thumb=200),
        meta(3, "C", 1, "end", 300, thumb=200),
    ]
    plan = plan_room(q, meta(4, "D", 0, "new", 300, thumb=200), Limits(max_rows=100, max_bytes=600))
    assert plan.drop == [2] and plan.strip_thumb == [1, 3] and not plan.refuse
    plan = plan_room(q, meta(4, "D", 0, "new", 100), Limits(max_rows=2, max_bytes=10**6))
    assert plan.drop == [2, 3] and not plan.refuse
    only_news = [meta(1, "A", 0, "new"), meta(2, "B", 0, "new")]
    plan = plan_room(only_news, meta(3, "C", 1, "end"), Limits(max_rows=2, max_bytes=10**6))
    assert plan.refuse and "new" in plan.refuse and plan.drop == []
    assert "exceeds max_bytes" in plan_room([], meta(1, "A", 0, "new", 5000), Limits(10, 1000)).refuse


def test_parse_meta_and_strip_pictures():
    data = payload("A", 2, "update", ctx=10, thumb=7)
    m = parse_meta(data)
    assert (m.alert_id, m.revision, m.event, m.size, m.context_bytes, m.thumb_bytes) == (
        "A",
        2,
        "update",
        len(data),
        10,
        7,
    )
    stripped = json.loads(strip_pictures(data, context=True, thumbnail=False))
    assert stripped["context_jpeg"] is None and stripped["thumbnail_jpeg"] == "T" * 7
    for bad, why in [(b"{", "not JSON"), (b"[]", "not a JSON object"), (b'{"event":"new"}', "lacks")]:
        with pytest.raises(ValueError, match=why):
            parse_meta(bad)


# ---------------------------------------------------------------- SQLite shell


def test_pending_is_in_insertion_order_and_survives_reopen(tmp_path):
    ob = Outbox(tmp_path / "o.db")
    ids = [ob.put(payload(f"A{i}", 0, "new")) for i in range(6)]
    assert [json.loads(p)["alert_id"] for _, p in ob.pending(10)] == [f"A{i}" for i in range(6)]
    assert [rid for rid, _ in ob.pending(2, after_id=ids[2])] == ids[3:5]
    assert ob.mark_sent([ids[0], ids[2]]) == 2 and ob.mark_sent([ids[0]]) == 0
    ob.close()
    ob = Outbox(tmp_path / "o.db")
    assert [rid for rid, _ in ob.pending(10)] == [ids[1], *ids[3:]]
    assert ob.depth() == 4 and ob.queued_bytes() == sum(len(p) for _, p in ob.pending(10))
    nxt = ob.put(payload("B", 0, "new"))
    assert nxt > ids[-1]  # AUTOINCREMENT: ids never go back, order holds across restarts
    with sqlite_conn(tmp_path / "o.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def sqlite_conn(path):
    import contextlib
    import sqlite3

    return contextlib.closing(sqlite3.connect(path))


def test_full_outbox_applies_the_policy_and_counts_it(tmp_path):
    ob = Outbox(tmp_path / "o.db", Limits(max_rows=4, max_bytes=10**6))
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    ob.put(payload(a, 0, "new"))
    ob.put(payload(a, 1, "update"))
    ob.put(payload(a, 2, "end"))
    ob.put(payload(b, 0, "new"))
    ob.put(payload(a, 3, "update"))  # re-sighting: row count full, nothing superseded yet
    assert [(json.loads(p)["revision"], json.loads(p)["event"]) for _, p in ob.pending(10)] == [
        (0, "new"),
        (2, "end"),
        (0, "new"),
        (3, "update"),
    ]
    assert ob.stats.dropped["update"] == 1
    ob.put(payload(str(uuid.uuid4()), 0, "new"))  # drops rev 3 (update) first, not the end
    ob.put(payload(str(uuid.uuid4()), 0, "new"))  # then the end
    assert ob.stats.dropped == {"update": 2, "end": 1}
    assert [json.loads(p)["event"] for _, p in ob.pending(10)] == ["new"] * 4
    with pytest.raises(OutboxFull, match="unsent `new`"):
        ob.put(payload(str(uuid.uuid4()), 0, "new"))
    assert ob.stats.refused == 1 and ob.depth() == 4


def test_byte_bound_strips_pictures_in_the_database(tmp_path):
    one = len(payload("X" * 36, 0, "new", ctx=3000, thumb=1000))
    limit = 4 * one - (3000 - 2)  # one stripped context picture ("C..." -> null) makes it fit
    ob = Outbox(tmp_path / "o.db", Limits(max_rows=100, max_bytes=limit))
    ids = [ob.put(payload(str(uuid.uuid4()), 0, "new", ctx=3000, thumb=1000)) for _ in range(4)]
    rows = dict(ob.pending(10))
    assert json.loads(rows[ids[0]])["context_jpeg"] is None
    assert json.loads(rows[ids[0]])["thumbnail_jpeg"] == "T" * 1000
    assert json.loads(rows[ids[3]])["context_jpeg"] == "C" * 3000
    assert ob.stats.stripped_context == 1 and ob.queued_bytes() == limit
    ob.close()
    assert Outbox(tmp_path / "o.db").queued_bytes() == ob.queued_bytes()


def test_invalid_payload_is_refused_and_counted(tmp_path):
    ob = Outbox(tmp_path / "o.db")
    with pytest.raises(ValueError, match="not JSON"):
        ob.put(b"garbage")
    assert ob.stats.invalid == 1 and ob.depth() == 0


# ---------------------------------------------------------------- a disk that will not take a write


def _disk_full(ob: Outbox) -> None:
    """SQLite's own page cap on the outbox's connection: the error a full SD card gives."""
    (pages,) = ob._db.execute("PRAGMA page_count").fetchone()
    ob._db.execute(f"PRAGMA max_page_count = {pages}")


def test_alerts_the_disk_will_not_take_are_held_in_order_and_written_when_it_does(tmp_path):
    ob = Outbox(tmp_path / "o.db")
    held = HeldAlerts(ob.put)
    _disk_full(ob)
    sent = [payload(str(uuid.uuid4()), 0, "new", pad=2000) for _ in range(12)]
    written = sum(held.put(p) for p in sent)
    assert 0 < written < len(sent) and len(held) == len(sent) - written
    assert held.error is not None and "full" in held.error  # SQLite's own words, not a rollback error
    assert ob.depth() == written and held.retry() == 0  # still full: nothing lost, nothing written
    ob._db.execute("PRAGMA max_page_count = 1073741823")
    assert held.retry() == len(sent) - written and len(held) == 0 and held.error is None
    assert [p for _, p in ob.pending(100)] == sent  # in the order they came
    ob.close()
    assert Outbox(tmp_path / "o.db").depth() == len(sent)


def test_refusals_a_retry_cannot_change_are_not_held(tmp_path):
    ob = Outbox(tmp_path / "o.db", Limits(max_rows=1, max_bytes=10**6))
    held = HeldAlerts(ob.put)
    assert held.put(payload(str(uuid.uuid4()), 0, "new")) == 1
    assert held.put(payload(str(uuid.uuid4()), 0, "new")) == 0  # OutboxFull: only `new` events left
    assert held.put(b"garbage") == 0
    assert len(held) == 0 and held.refused == 2 and held.error is None


def test_a_landed_flights_record_rides_the_queue_in_order_and_is_never_dropped(tmp_path):
    """The drone's flight records share the alerts' queue (one order, one durability); when the
    outbox is full they are kept like a find's ``new``: updates and ends go first."""
    flight = json.dumps({"schema_version": 1, "flight_id": "d1-20261207T080000Z", "track": [[1, 2]] * 50})
    assert parse_meta(flight.encode()).event == "flight"
    ob = Outbox(tmp_path / "o.db", Limits(max_rows=3, max_bytes=10**6))
    a = str(uuid.uuid4())
    ob.put(payload(a, 0, "new"))
    ob.put(flight)
    ob.put(payload(a, 1, "update"))
    ob.put(payload(a, 2, "end"))  # full: the update goes, the flight stays
    assert [event for _, event, _ in ob.pending_events(10)] == ["new", "flight", "end"]
    ob.put(payload(str(uuid.uuid4()), 0, "new"))  # then the end
    assert [event for _, event, _ in ob.pending_events(10)] == ["new", "flight", "new"]
    with pytest.raises(OutboxFull):
        ob.put(flight.replace("080000", "090000"))  # only finds and flights left: refused, not dropped
    ob.close()
    again = Outbox(tmp_path / "o.db", Limits(max_rows=3, max_bytes=10**6))  # a restart keeps it
    assert [json.loads(p).get("flight_id") for _, p in again.pending(10)][1] == "d1-20261207T080000Z"
