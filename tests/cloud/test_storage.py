"""The storage contract, run identically against SQLite and a real PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest

from cloud.storage import IngestPolicy, ItemQuery, open_store, sql
from cloud.storage.items import prepare
from cloud.storage.sql import MIGRATIONS
from cloud.workorders import Command, InvalidTransition, decide
from contract.geo import offset
from contract.messages import Alert
from tests.cloud.factory import HOME, T0, alert, spread

POLICY = IngestPolicy(merge_radius_m=5.0, segment_for=lambda lat, lon: ("sz-1", "shenzhen"))


def prep(alerts: list[dict[str, Any]], now: float = 1000.0) -> list:
    return [
        prepare(Alert.model_validate(a), "gs1", now, f"alerts[{i}]", 1 << 20) for i, a in enumerate(alerts)
    ]


def test_migrations_are_recorded_and_not_reapplied(store, db_url) -> None:
    latest = MIGRATIONS[-1][0]
    assert store.schema_version() == latest
    again = open_store(db_url, pool_size=1)
    try:
        assert again.schema_version() == latest
        assert again.migrate() == []
    finally:
        again.close()


def test_a_database_of_the_first_schema_is_brought_up_to_date(db_url, monkeypatch) -> None:
    with monkeypatch.context() as m:
        m.setattr(sql, "MIGRATIONS", MIGRATIONS[:1])
        old = open_store(db_url, pool_size=1)
        assert old.schema_version() == 1
        old.close()
    store = open_store(db_url, pool_size=1)  # what a server of this version does when it starts
    try:
        assert store.schema_version() == MIGRATIONS[-1][0]
        assert store.ingest(prep(spread(1)), POLICY, 1000.0).accepted == 1
        assert store.all_workorders()[0]["cleared_photo_sha"] is None
    finally:
        store.close()


def test_orders_claimed_before_the_first_claim_was_kept_get_it_from_their_history(db_url) -> None:
    old = open_store(db_url, pool_size=1)
    assert old.ingest(prep(spread(2)), POLICY, 1000.0).accepted == 2
    claimed, never = (o["id"] for o in old.all_workorders())
    with old._tx() as cur:  # as a server from before migration 5 left it: claimed by wang, sent on to li
        for at, action, actor in ((1100.0, "claim", "wang"), (1500.0, "dispatch", "zhou")):
            old._exec(cur, "INSERT INTO workorder_events (workorder_id, action, from_status, to_status,"
                      " actor, at, note) VALUES (?, ?, 'new', 'dispatched', ?, ?, '')",
                      (claimed, action, actor, at))  # fmt: skip
        old._exec(
            cur,
            "UPDATE workorders SET status = 'dispatched', dispatched_at = 1500.0 WHERE id = ?",
            (claimed,),
        )
        old._exec(cur, "ALTER TABLE workorders DROP COLUMN first_dispatched_at")
        old._exec(cur, "DELETE FROM schema_migrations WHERE version = 5")
    old.close()
    store = open_store(db_url, pool_size=1)  # what the new server does as it starts
    try:
        orders = {o["id"]: o for o in store.all_workorders()}
        assert (orders[claimed]["first_dispatched_at"], orders[claimed]["dispatched_at"]) == (1100.0, 1500.0)
        assert orders[never]["first_dispatched_at"] is None
    finally:
        store.close()


def test_repeat_is_a_duplicate_and_stored_once(store) -> None:
    batch = spread(3)
    r1 = store.ingest(prep(batch), POLICY, 1000.0)
    r2 = store.ingest(prep(batch), POLICY, 1001.0)
    assert (r1.accepted, r1.duplicates, r1.new_items) == (3, 0, 3)
    assert (r2.accepted, r2.duplicates, r2.changes) == (0, 3, [])
    assert store.count_events() == 3
    assert store.query_items(ItemQuery(limit=100))[1] == 3


def test_duplicate_inside_one_batch(store) -> None:
    a = alert()
    r = store.ingest(prep([a, a]), POLICY, 1000.0)
    assert (r.accepted, r.duplicates) == (1, 1)


def test_higher_revision_updates_and_lower_never_regresses(store) -> None:
    aid = alert()["alert_id"]
    store.ingest(
        prep([alert(alert_id=aid, revision=0, confidence=0.6, sightings=2, thumb_seed=1)]), POLICY, 1.0
    )
    later = T0 + timedelta(seconds=30)
    r = store.ingest(
        prep([alert(alert_id=aid, revision=2, confidence=0.9, sightings=9, at=later, thumb_seed=2)]),
        POLICY,
        2.0,
    )
    assert [k for k, _ in r.changes] == ["alert.updated"]
    best = store.get_item(aid)
    old = store.ingest(
        prep([alert(alert_id=aid, revision=1, confidence=0.99, sightings=4, thumb_seed=3)]), POLICY, 3.0
    )
    assert (old.accepted, old.stale, old.changes) == (1, 1, [])
    item = store.get_item(aid)
    assert item == best
    assert (item["revision"], item["sightings"], item["top_score"]) == (2, 9, 0.9)
    assert item["last_seen"] == later.timestamp()
    assert store.get_thumbnail(item["thumbnail_sha"])[:3] == b"\xff\xd8\xff"


def test_the_drone_that_took_the_photo_replaces_it_with_its_closer_look_and_others_need_more(store) -> None:
    """d1's patrol photo (0.996), then its closer look's (0.990: smaller score, the drone's own
    pick); then d2's less sure view is refused, its surer one taken, and d1 must beat that."""
    aid = alert()["alert_id"]

    def send(rev: int, conf: float, seed: int, drone: str) -> str:
        store.ingest(
            prep([alert(alert_id=aid, revision=rev, confidence=conf, thumb_seed=seed, drone=drone)]),
            POLICY,
            rev,
        )
        item = store.get_item(aid)
        assert store.get_thumbnail(item["thumbnail_sha"]) is not None
        return item["thumbnail_sha"]

    patrol = send(0, 0.996, 1, "d1")
    closer = send(1, 0.990, 2, "d1")
    assert closer != patrol
    assert send(2, 0.980, 3, "d2") == closer  # another drone, less sure: not its photo
    other = send(3, 0.995, 4, "d2")
    assert other != closer
    assert send(4, 0.991, 5, "d1") == other  # d1 no longer holds the photo: it must be surer
    assert store.get_item(aid)["thumbnail_drone"] == "d2"


def test_thumbnails_deduplicated_by_hash(store) -> None:
    a, b = alert(thumb_seed=7), alert(thumb_seed=7, lat=HOME[0] + 0.01)
    store.ingest(prep([a, b]), POLICY, 1.0)
    ia, ib = store.get_item(a["alert_id"]), store.get_item(b["alert_id"])
    assert ia["thumbnail_sha"] == ib["thumbnail_sha"]
    assert store.get_thumbnail("0" * 64) is None


def test_find_within_radius_merges_into_open_order(store) -> None:
    first = alert()
    lat, lon = offset(HOME[0], HOME[1], 3.0, 0.0)  # 3 m away, same class
    near = alert(lat=lat, lon=lon, drone="d2")
    lat2, lon2 = offset(HOME[0], HOME[1], 8.0, 0.0)  # 8 m away
    far = alert(lat=lat2, lon=lon2)
    other_class = alert(lat=lat, lon=lon, cls="foam")
    store.ingest(prep([first]), POLICY, 1.0)
    r = store.ingest(prep([near, far, other_class]), POLICY, 2.0)
    kinds = [(k, row["alert_id"], row["merged_into"]) for k, row in r.changes]
    assert kinds == [
        ("alert.updated", near["alert_id"], first["alert_id"]),
        ("alert.new", far["alert_id"], None),
        ("alert.new", other_class["alert_id"], None),
    ]
    assert (r.new_items, r.merged) == (2, 1)
    assert store.get_workorder(first["alert_id"])["finds"] == 2
    assert store.list_workorders()[1] == 3


def test_an_order_takes_its_finds_new_name_while_open(store) -> None:
    """Foam from the patrol, a bag at the closer look: the order it opened says bag, and a bag found
    beside it later joins it. A find renamed after its order closed leaves the order as it was;
    a find that joined another's order does not rename that order."""
    first = alert(cls="foam")
    aid = first["alert_id"]
    store.ingest(prep([first]), POLICY, 1.0)
    r = store.ingest(prep([alert(alert_id=aid, revision=1, cls="bag")]), POLICY, 2.0)
    assert [(k, row["debris_class"]) for k, row in r.changes] == [("alert.updated", "bag")]
    assert store.get_workorder(aid)["debris_class"] == "bag"
    lat, lon = offset(HOME[0], HOME[1], 2.0, 0.0)
    joined = alert(lat=lat, lon=lon, cls="bag", drone="d2")
    r = store.ingest(prep([joined]), POLICY, 3.0)
    assert [(k, row["merged_into"]) for k, row in r.changes] == [("alert.updated", aid)]
    store.ingest(
        prep([alert(alert_id=joined["alert_id"], revision=1, lat=lat, lon=lon, cls="bottle")]), POLICY, 4.0
    )
    assert store.get_workorder(aid)["debris_class"] == "bag"  # the joined find's name is its own
    store.apply_transition(aid, lambda o: decide(o, Command("reject", "alice", 5.0)), 5.0)
    store.ingest(prep([alert(alert_id=aid, revision=2, cls="styrofoam")]), POLICY, 6.0)
    assert store.get_workorder(aid)["debris_class"] == "bag"
    assert store.get_item(aid)["debris_class"] == "styrofoam"


def test_an_open_order_follows_its_find_and_a_closed_one_stays(store) -> None:
    """A find drifting 12 m downstream takes its open order with it: the crew goes where the item is,
    and a find of that class beside the new place joins the order (it would have been 12 m from the
    old one, beyond the merge radius). A find that joined the order does not move it; once the
    order is closed it keeps where it was closed."""
    first = alert()
    aid = first["alert_id"]
    store.ingest(prep([first]), POLICY, 1.0)
    lat, lon = offset(HOME[0], HOME[1], 12.0, 0.0)
    r = store.ingest(prep([alert(alert_id=aid, revision=1, lat=lat, lon=lon)]), POLICY, 2.0)
    assert [k for k, _ in r.changes] == ["alert.updated"]
    wo = store.get_workorder(aid)
    assert (wo["lat"], wo["lon"], wo["updated_at"]) == (pytest.approx(lat), pytest.approx(lon), 2.0)
    jlat, jlon = offset(HOME[0], HOME[1], 14.0, 0.0)
    joined = alert(lat=jlat, lon=jlon, drone="d2")
    r = store.ingest(prep([joined]), POLICY, 3.0)
    assert [(k, row["merged_into"]) for k, row in r.changes] == [("alert.updated", aid)]
    klat, klon = offset(HOME[0], HOME[1], 17.0, 0.0)
    store.ingest(prep([alert(alert_id=joined["alert_id"], revision=1, lat=klat, lon=klon)]), POLICY, 4.0)
    assert store.get_workorder(aid)["lat"] == pytest.approx(lat)  # the joined find moves only itself
    store.apply_transition(aid, lambda o: decide(o, Command("reject", "alice", 5.0)), 5.0)
    store.ingest(prep([alert(alert_id=aid, revision=2, lat=klat, lon=klon)]), POLICY, 6.0)
    assert store.get_workorder(aid)["lat"] == pytest.approx(lat)
    assert store.get_item(aid)["lat"] == pytest.approx(klat)


def test_an_order_follows_its_find_within_one_batch(store) -> None:
    """A new find and its drifted update in one upload: the order opened in the batch moves, and a
    find beside the new place later in the same batch joins it."""
    first = alert()
    aid = first["alert_id"]
    lat, lon = offset(HOME[0], HOME[1], 0.0, 20.0)
    jlat, jlon = offset(HOME[0], HOME[1], 0.0, 22.0)
    r = store.ingest(
        prep(
            [first, alert(alert_id=aid, revision=1, lat=lat, lon=lon), alert(lat=jlat, lon=jlon, drone="d2")]
        ),
        POLICY,
        2.0,
    )
    assert [(k, row["merged_into"]) for k, row in r.changes] == [
        ("alert.new", None),
        ("alert.updated", None),
        ("alert.updated", aid),
    ]
    wo = store.get_workorder(aid)
    assert (wo["lat"], wo["lon"], wo["finds"]) == (pytest.approx(lat), pytest.approx(lon), 2)


def test_closed_order_does_not_absorb_new_finds(store) -> None:
    first = alert()
    store.ingest(prep([first]), POLICY, 1.0)
    cmd = Command("reject", "alice", 5.0)
    store.apply_transition(first["alert_id"], lambda o: decide(o, cmd), 5.0)
    again = alert()
    r = store.ingest(prep([again]), POLICY, 6.0)
    assert [k for k, _ in r.changes] == ["alert.new"]


def test_transitions_persist_with_history(store) -> None:
    a = alert()
    store.ingest(prep([a]), POLICY, 100.0)
    wo = a["alert_id"]
    for i, action in enumerate(["confirm", "claim", "arrive", "clear"]):
        cmd = Command(action, "alice", 200.0 + i)
        order, item = store.apply_transition(wo, lambda o, c=cmd: decide(o, c), cmd.at)
    assert order["status"] == item["status"] == "cleared"
    assert (order["cleared_at"], order["cleared_by"], order["assignee"]) == (203.0, "alice", "alice")
    hist = store.workorder_history(wo)
    assert [(h["from_status"], h["to_status"]) for h in hist] == [
        ("new", "confirmed"),
        ("confirmed", "dispatched"),
        ("dispatched", "on_site"),
        ("on_site", "cleared"),
    ]
    with pytest.raises(InvalidTransition, match="cannot arrive"):
        store.apply_transition(wo, lambda o: decide(o, Command("arrive", "bob", 300.0)), 300.0)
    assert store.get_workorder(wo)["status"] == "cleared"
    with pytest.raises(KeyError):
        store.apply_transition("nope", lambda o: decide(o, Command("arrive", "bob", 1.0)), 1.0)


def test_query_filters_and_paging(store) -> None:
    batch = spread(12)
    batch[3]["debris_class"] = "foam"
    store.ingest(prep(batch), POLICY, 1.0)
    rows, total = store.query_items(ItemQuery(limit=5, offset=10))
    assert (len(rows), total) == (2, 12)
    foam, n = store.query_items(ItemQuery(classes=("foam",), limit=50))
    assert n == 1 and foam[0]["alert_id"] == batch[3]["alert_id"]
    lat, lon = batch[5]["lat"], batch[5]["lon"]
    boxed, n = store.query_items(ItemQuery(bbox=(lon - 1e-5, lat - 1e-5, lon + 1e-5, lat + 1e-5)))
    assert n == 1 and boxed[0]["alert_id"] == batch[5]["alert_id"]
    t = (T0 + timedelta(seconds=8)).timestamp()
    _, n = store.query_items(ItemQuery(start=t, limit=50))  # seen at or after t: items 8..11
    assert n == 4
    _, n = store.query_items(ItemQuery(status=("cleared",)))
    assert n == 0
    _, n = store.query_items(ItemQuery(segment="sz-1", river="shenzhen"))
    assert n == 12
    (x0, y0, x1, y1), (t0, t1) = store.extent()
    assert x0 < x1 and y0 <= y1 and t0 < t1


def test_tokens_round_trip(store) -> None:
    store.add_token("h" * 64, "station", "gs9", 1.0)
    assert store.lookup_token("h" * 64) == ("station", "gs9")
    assert store.lookup_token("x" * 64) is None


def test_concurrent_duplicate_ingest_stores_once(db_url) -> None:
    """Threads, each with its own store (as separate server processes would be), post one batch."""
    batch = prep(spread(40))
    stores = [open_store(db_url, pool_size=1) for _ in range(4)]
    results: list[Any] = []
    barrier = threading.Barrier(len(stores))

    def run(s: Any) -> None:
        barrier.wait()
        results.append(s.ingest(batch, POLICY, time.time()))

    threads = [threading.Thread(target=run, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    try:
        assert sum(r.accepted for r in results) == 40
        assert sum(r.duplicates for r in results) == 40 * (len(stores) - 1)
        assert stores[0].count_events() == 40
        assert stores[0].list_workorders()[1] == 40
    finally:
        for s in stores:
            s.close()


def test_photos_expire_after_the_order_closed_and_never_while_it_is_open(store) -> None:
    kept_open = alert(thumb_seed=11)
    cleared = alert(thumb_seed=12, lat=HOME[0] + 0.01)
    rejected = alert(thumb_seed=13, lat=HOME[0] + 0.02)
    shared = alert(thumb_seed=11, lat=HOME[0] + 0.03)  # the same picture as the open one
    store.ingest(prep([kept_open, cleared, rejected, shared]), POLICY, 100.0)
    photo = b"\xff\xd8inspector's photo of the clean bank\xff\xd9"
    steps = [("confirm", None), ("claim", None), ("arrive", None), ("clear", "c" * 64)]
    for i, (action, sha) in enumerate(steps):
        cmd = Command(action, "alice", 200.0 + i, photo_sha=sha)
        store.apply_transition(
            cleared["alert_id"], lambda o, c=cmd: decide(o, c), cmd.at, photos=[(sha, photo)] if sha else []
        )
    for wo in (rejected["alert_id"], shared["alert_id"]):
        store.apply_transition(wo, lambda o: decide(o, Command("reject", "alice", 300.0)), 300.0)
    pictures = {k: store.get_item(a["alert_id"])["thumbnail_sha"] for k, a in
                (("open", kept_open), ("cleared", cleared), ("rejected", rejected))}  # fmt: skip

    assert store.expire_photos(closed_before=150.0) == (0, 0, [])  # closed after the cutoff: all kept
    n, size, finds = store.expire_photos(closed_before=1000.0)
    assert n == 3 and size > len(photo)  # two drone pictures and the inspector's photo
    assert sorted(finds) == sorted(a["alert_id"] for a in (cleared, rejected, shared))
    assert store.get_thumbnail(pictures["cleared"]) is None and store.get_thumbnail("c" * 64) is None
    assert store.get_thumbnail(pictures["rejected"]) is None
    assert store.get_thumbnail(pictures["open"]) is not None  # an open order's, shared or not
    done = store.get_item(cleared["alert_id"])
    assert done["thumbnail_sha"] is None and done["cleared_photo_sha"] is None and done["status"] == "cleared"
    assert done["cleared_by"] == "alice" and store.get_item(shared["alert_id"])["thumbnail_sha"] is None
    assert store.get_item(kept_open["alert_id"])["thumbnail_sha"] == pictures["open"]
    assert store.expire_photos(closed_before=1000.0) == (0, 0, [])
