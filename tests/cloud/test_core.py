"""Pure core of the cloud: merge rules, work-order machine, segments, parameters, stats."""

from __future__ import annotations

import pytest

from cloud.api.params import ParamError, parse_bbox, parse_datetime, parse_list
from cloud.api.validation import BatchError, field_path, parse_batch
from cloud.segments import (
    Segment,
    SegmentIndex,
    bundled_segments,
    line_length_m,
    point_line_distance_m,
    resolve_segments,
    segments_from_geojson,
    split_line,
)
from cloud.stats import compute_stats
from cloud.storage.items import ThumbnailError, decode_jpeg, merge_item
from cloud.workorders import AlreadyDone, Command, InvalidTransition, decide, nearest_open, new_order
from contract.geo import distance_m, offset


def _row(**kw):
    base = dict(
        revision=0,
        event="new",
        drone_id="d",
        mission_id="m",
        station="s",
        debris_class="bottle",
        confidence=0.5,
        lat=1.0,
        lon=2.0,
        uncertainty_m=1.0,
        captured_at=10.0,
        published_at=11.0,
        updated_at=12.0,
        first_seen=5.0,
        last_seen=10.0,
        sightings=2,
        passes=1,
        top_score=0.5,
        median_score=0.4,
        thumbnail_sha="a",
        thumbnail_score=0.5,
        context_sha=None,
        ended=0,
    )
    return {**base, **kw}


def test_merge_never_regresses_and_keeps_best_thumbnail() -> None:
    cur = _row()
    assert merge_item(cur, _row(revision=0)) is None
    new = merge_item(
        cur,
        _row(
            revision=1,
            confidence=0.4,
            top_score=0.45,
            sightings=1,
            first_seen=3.0,
            last_seen=8.0,
            thumbnail_sha="b",
            thumbnail_score=0.4,
            event="end",
            ended=1,
        ),
    )
    assert new["top_score"] == 0.5 and new["sightings"] == 2
    assert (new["first_seen"], new["last_seen"]) == (3.0, 10.0)
    assert new["thumbnail_sha"] == "a"  # less confident view does not replace the thumbnail
    assert new["ended"] == 1 and new["confidence"] == 0.4
    better = merge_item(new, _row(revision=2, thumbnail_sha="c", thumbnail_score=0.9, ended=0))
    assert better["thumbnail_sha"] == "c" and better["ended"] == 1


def test_decode_jpeg_names_field() -> None:
    with pytest.raises(ThumbnailError, match=r"alerts\[2\]\.thumbnail_jpeg: not valid base64"):
        decode_jpeg("***", "alerts[2].thumbnail_jpeg", 1000)
    with pytest.raises(ThumbnailError, match="exceeds the limit"):
        decode_jpeg("/9j/" + "A" * 2000, "x", 100)


def _order(status="new", review=False):
    o = new_order("wo1", {"debris_class": "bag", "lat": 1.0, "lon": 2.0}, review, 0.0)
    o["status"] = status
    return o


@pytest.mark.parametrize(
    ("status", "action", "to"),
    [
        ("new", "confirm", "confirmed"),
        ("new", "reject", "false_alarm"),
        ("new", "dispatch", "dispatched"),
        ("confirmed", "claim", "dispatched"),
        ("dispatched", "arrive", "on_site"),
        ("on_site", "clear", "cleared"),
        ("on_site", "reject", "false_alarm"),
    ],
)
def test_valid_transitions(status, action, to) -> None:
    new, hist = decide(_order(status), Command(action, "alice", 50.0))
    assert new["status"] == to and hist["from_status"] == status and hist["actor"] == "alice"
    assert new["updated_at"] == 50.0


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("cleared", "arrive"),
        ("false_alarm", "confirm"),
        ("new", "arrive"),
        ("cleared", "dispatch"),
        ("confirmed", "confirm"),
        ("new", "fly"),
    ],
)
def test_invalid_transitions(status, action) -> None:
    with pytest.raises(InvalidTransition):
        decide(_order(status), Command(action, "alice", 1.0))


@pytest.mark.parametrize(
    ("status", "action", "outcome"),
    [
        ("new", "claim", "cleared"),
        ("new", "confirm", "cleared"),
        ("new", "reject", "cleared"),
        ("dispatched", "arrive", "cleared"),
        ("on_site", "clear", "cleared"),
        ("on_site", "clear", "false_alarm"),
    ],
)
def test_the_same_action_sent_again_by_the_same_person_changes_nothing(status, action, outcome) -> None:
    """A phone that lost the answer, or its offline queue, sends an action again: no second move."""
    once, _ = decide(_order(status), Command(action, "alice", 50.0, outcome=outcome))
    with pytest.raises(AlreadyDone):
        decide(once, Command(action, "alice", 60.0, outcome=outcome))
    if action in ("claim", "reject", "clear"):  # someone else doing the same is a conflict, not a retry
        with pytest.raises(InvalidTransition):
            decide(once, Command(action, "bob", 60.0, outcome=outcome))


def test_an_action_done_before_the_order_last_changed_is_recorded_at_that_change() -> None:
    """History never runs backwards: a queued action's done_at before the last change is moved up."""
    claimed, _ = decide(_order(), Command("claim", "alice", 100.0))
    cleared, hist = decide(claimed, Command("clear", "alice", 90.0))  # the phone's clock is behind
    assert cleared["cleared_at"] == hist["at"] == cleared["updated_at"] == 100.0
    later, hist = decide(claimed, Command("clear", "alice", 130.0))
    assert later["cleared_at"] == hist["at"] == 130.0


def test_a_claimed_find_is_sent_to_someone_else_by_its_assignee_or_a_supervisor_only() -> None:
    """A river chief takes a find off an inspector who cannot go (sick, the far bank) and sends
    another; the inspector may pass it on themselves; nobody else can take it from them."""
    on_site, _ = decide(_order(), Command("claim", "li", 10.0))
    on_site, _ = decide(on_site, Command("arrive", "li", 20.0))
    with pytest.raises(InvalidTransition, match="is li's: only li or a supervisor of its stretch"):
        decide(on_site, Command("dispatch", "bob", 30.0), supervisors=("zhou",))
    with pytest.raises(InvalidTransition, match="is li's"):
        decide(on_site, Command("dispatch", "bob", 30.0, assignee="wang"))
    sent, hist = decide(on_site, Command("dispatch", "zhou", 30.0, assignee="wang"), supervisors=("zhou",))
    assert (sent["status"], sent["assignee"], sent["dispatched_by"], sent["dispatched_at"]) == (
        "dispatched", "wang", "zhou", 30.0,
    )  # fmt: skip
    assert sent["arrived_at"] is None and sent["arrived_by"] is None  # wang has not arrived
    assert (hist["from_status"], hist["to_status"]) == ("on_site", "dispatched")
    with pytest.raises(AlreadyDone):  # the supervisor's phone sends it again
        decide(sent, Command("dispatch", "zhou", 40.0, assignee="wang"), supervisors=("zhou",))
    with pytest.raises(InvalidTransition, match="already wang's"):
        decide(sent, Command("dispatch", "li", 40.0, assignee="wang"), supervisors=("li",))
    passed, _ = decide(sent, Command("dispatch", "wang", 50.0, assignee="chen"))  # wang passes it on
    assert (passed["assignee"], passed["dispatched_by"]) == ("chen", "wang")
    with pytest.raises(InvalidTransition, match="claim"):  # claiming is only for a find nobody holds
        decide(passed, Command("claim", "wang", 60.0))


def test_review_required_blocks_dispatch_and_clear_records_who() -> None:
    with pytest.raises(InvalidTransition, match="confirm it before"):
        decide(_order("new", review=True), Command("claim", "bob", 1.0))
    done, _ = decide(_order("on_site"), Command("clear", "bob", 9.0, outcome="false_alarm", note="a swan"))
    assert (done["status"], done["cleared_at"], done["cleared_by"]) == ("false_alarm", 9.0, "bob")
    assert done["cleared_note"] == "a swan"
    with pytest.raises(InvalidTransition, match="actor"):
        decide(_order(), Command("confirm", " ", 1.0))


def test_an_order_handed_back_is_open_to_anyone_again_and_only_its_assignee_can() -> None:
    claimed, _ = decide(_order(), Command("claim", "alice", 10.0))
    arrived, _ = decide(claimed, Command("arrive", "alice", 20.0))
    with pytest.raises(InvalidTransition, match="is alice's: only alice can hand it back"):
        decide(arrived, Command("release", "bob", 30.0))
    back, hist = decide(arrived, Command("release", "alice", 30.0, note="needs a boat"))
    assert back["status"] == "new" and back["assignee"] is back["dispatched_by"] is back["arrived_at"] is None
    assert (hist["from_status"], hist["to_status"], hist["note"]) == ("on_site", "new", "needs a boat")
    with pytest.raises(AlreadyDone):  # the phone sends it again
        decide(back, Command("release", "alice", 31.0))
    bobs, _ = decide(back, Command("claim", "bob", 40.0))
    assert bobs["assignee"] == "bob"
    reviewed, _ = decide(_order("new", review=True), Command("confirm", "lead", 1.0))
    took, _ = decide(reviewed, Command("claim", "alice", 2.0))
    assert decide(took, Command("release", "alice", 3.0))[0]["status"] == "confirmed"  # stays reviewed
    with pytest.raises(InvalidTransition, match="cannot release"):
        decide(_order("cleared"), Command("release", "alice", 1.0))


def test_a_photo_goes_with_clear_and_is_kept_on_the_order() -> None:
    done, _ = decide(_order("dispatched"), Command("clear", "bob", 9.0, photo_sha="ab" * 32))
    assert (done["status"], done["cleared_photo_sha"]) == ("cleared", "ab" * 32)
    with pytest.raises(InvalidTransition, match="a photo goes with clear, not with claim"):
        decide(_order(), Command("claim", "bob", 1.0, photo_sha="ab" * 32))


def test_nearest_open_respects_radius_class_and_status() -> None:
    lat, lon = 22.52, 114.06
    a = {**_order(), "id": "a", "lat": offset(lat, lon, 4, 0)[0], "lon": lon}
    b = {**_order(), "id": "b", "lat": offset(lat, lon, 2, 0)[0], "lon": lon}
    c = {**_order("cleared"), "id": "c", "lat": lat, "lon": lon}
    assert nearest_open([a, b, c], lat, lon, "bag", 5.0)["id"] == "b"
    assert nearest_open([a, b, c], lat, lon, "foam", 5.0) is None
    assert nearest_open([a], lat, lon, "bag", 3.0) is None


def test_segment_geometry() -> None:
    line = [(114.0, 22.5), (114.01, 22.5), (114.02, 22.5)]
    total = line_length_m(line)
    assert total == pytest.approx(distance_m(22.5, 114.0, 22.5, 114.02), rel=1e-9)
    parts = split_line(line, 3)
    assert len(parts) == 3 and sum(line_length_m(p) for p in parts) == pytest.approx(total, rel=1e-9)
    assert all(line_length_m(p) == pytest.approx(total / 3, rel=1e-6) for p in parts)
    n, _ = offset(22.5, 114.005, 30.0, 0.0)
    assert point_line_distance_m(n, 114.005, line) == pytest.approx(30.0, abs=0.01)
    assert point_line_distance_m(22.5, 113.99, line) == pytest.approx(distance_m(22.5, 113.99, 22.5, 114.0))


def test_bundled_rivers_map_finds_to_segments() -> None:
    segs = bundled_segments()
    ids = {s.id for s in segs}
    assert {"shenzhen-1", "xinzhou-5"} <= ids
    idx = SegmentIndex(segs, 300.0)
    sid, river = idx.locate(22.5205, 114.0632)
    assert river == "shenzhen" and sid.startswith("shenzhen-")
    assert idx.locate(22.70, 114.30) == (None, None)


def test_resolve_segments_config_overrides_and_missing() -> None:
    class Cfg:
        def __init__(self, id, river="", name=""):
            self.id, self.river, self.name = id, river, name

    bundled = [Segment("s1", "r", "R 1", ((0.0, 0.0), (0.0, 0.01)))]
    segs, missing = resolve_segments(
        [Cfg("s1"), Cfg("own", "r2"), Cfg("ghost")], {"own": [(1.0, 1.0), (1.0, 1.01)]}, bundled
    )
    assert [s.id for s in segs] == ["s1", "own"] and missing == ["ghost"]
    assert segs[1].river == "r2"
    fc = {
        "features": [
            {
                "geometry": {"type": "LineString", "coordinates": [[0, 0], [0, 0.02]]},
                "properties": {"id": "r", "segments": ["a", "b"]},
            }
        ]
    }
    assert [s.id for s in segments_from_geojson(fc)] == ["a", "b"]


def test_params() -> None:
    assert parse_bbox("1,2,3,4") == (1, 2, 3, 4)
    assert parse_bbox("1,2,0,3,4,9") == (1, 2, 3, 4)
    for bad in ("1,2,3", "a,b,c,d", "3,2,1,4", "1,2,3,400"):
        with pytest.raises(ParamError, match="bbox"):
            parse_bbox(bad)
    s, e = parse_datetime("2026-05-01T00:00:00Z/..")
    assert s == 1777593600.0 and e is None
    assert parse_datetime("../2026-05-01T00:00:00+08:00") == (None, 1777564800.0)
    assert parse_datetime("2026-05-01T00:00:00Z") == (1777593600.0, 1777593600.0)
    for bad in ("../..", "2026-05-02T00:00:00Z/2026-05-01T00:00:00Z", "soon"):
        with pytest.raises(ParamError, match="datetime"):
            parse_datetime(bad)
    assert parse_list("new, cleared", ("new", "cleared"), "status") == ("new", "cleared")
    with pytest.raises(ParamError, match="'lost'"):
        parse_list("lost", ("new",), "status")


def test_validation_paths() -> None:
    assert field_path((3, "track", "sightings"), bare_list=True) == "alerts[3].track.sightings"
    assert field_path(("alerts", 0, "lat"), bare_list=False) == "alerts[0].lat"
    with pytest.raises(BatchError) as e:
        parse_batch(b'{"alerts": [{"schema_version": 9}]}', 10)
    assert e.value.status == 422 and "unsupported schema_version 9" in e.value.errors[0]
    assert parse_batch(b"[]", 10) == []


def test_compute_stats() -> None:
    def o(status, seg, created, cleared=None, cls="bag", finds=1):
        return {
            **_order(status),
            "segment_id": seg,
            "created_at": created,
            "cleared_at": cleared,
            "debris_class": cls,
            "finds": finds,
        }

    orders = [
        {**o("cleared", "a", 0, 100), "cleared_photo_sha": "ab" * 32},
        o("cleared", "a", 0, 300, finds=3),
        {**o("false_alarm", "b", 10, 20), "cleared_note": "a swan"},
        o("new", None, 50, cls="foam"),
    ]
    st = compute_stats(orders, {"a": ("r", 2000.0), "b": ("r", 500.0)})
    assert (st["finds"], st["alerts"], st["unmapped_finds"]) == (4, 6, 1)
    assert st["per_segment"]["a"]["finds_per_km"] == 1.0 and st["per_segment"]["b"]["finds_per_km"] == 2.0
    assert st["per_river"]["r"] == {"length_km": 2.5, "finds": 3, "finds_per_km": 1.2}
    assert st["time_to_clear_s"] == {"count": 2, "median": 200.0, "mean": 200.0}
    assert st["cleared_with_photo"] == 1 and st["false_alarm_reasons"] == {"a swan": 1}
    assert st["false_alarm_rate"] == pytest.approx(1 / 3)
    assert st["by_class"] == {"bag": 3, "foam": 1}
    assert compute_stats(orders, {}, since=40)["finds"] == 1
    assert compute_stats([], {})["false_alarm_rate"] is None


def test_stats_per_stretch_and_per_inspector_follow_the_orders_history() -> None:
    """Orders moved by the real life cycle (:func:`decide`), their history rows kept as the store does."""
    orders, events = {}, []

    def run(wo: str, seg: str, *cmds: Command) -> None:
        o = new_order(wo, {"debris_class": "bag", "lat": 1.0, "lon": 2.0, "segment_id": seg}, False, 0.0)
        for c in cmds:
            o, hist = decide(o, c)
            events.append(hist)
        orders[wo] = o

    run("o1", "a", Command("claim", "li", 600.0), Command("clear", "li", 1800.0))
    run(
        "o2",
        "a",
        Command("claim", "li", 100.0),
        Command("release", "li", 200.0, note="needs a boat"),
        Command("claim", "wang", 900.0),
        Command("clear", "wang", 1000.0, outcome="false_alarm"),
    )
    run("o3", "a")
    run("o4", "b", Command("dispatch", "zhou", 300.0, assignee="wang"))
    st = compute_stats(orders.values(), {"a": ("r", 1000.0), "b": ("r", 1000.0)}, events=events)
    a = st["per_segment"]["a"]
    assert (a["finds"], a["cleared"], a["false_alarms"], a["open"], a["unclaimed"]) == (3, 1, 1, 1, 1)
    # o2 counts from li's claim at 100 s, before the hand-back: the find was taken on then
    assert (a["median_to_claim_s"], a["median_to_clear_s"]) == (350.0, 1800.0)
    b = st["per_segment"]["b"]
    assert (b["open"], b["unclaimed"], b["median_to_claim_s"], b["median_to_clear_s"]) == (1, 0, 300.0, None)
    li, wang = st["per_inspector"]["li"], st["per_inspector"]["wang"]
    assert (li["claimed"], li["cleared"], li["false_alarms"], li["handed_back"], li["holding"]) == (
        2,
        1,
        0,
        1,
        0,
    )
    assert li["median_claim_to_clear_s"] == 1200.0
    assert (wang["claimed"], wang["cleared"], wang["false_alarms"], wang["handed_back"], wang["holding"]) == (
        2, 0, 1, 0, 1,
    )  # fmt: skip
    assert wang["median_claim_to_clear_s"] is None
    assert st["per_inspector"]["zhou"]["claimed"] == 0  # dispatching is not taking it on


def test_a_find_sent_to_someone_else_still_counts_from_its_first_claim() -> None:
    """A river chief's reassignment moves ``dispatched_at`` (the new inspector's reminders count
    from it), not how soon the find was first taken on."""
    o = new_order("o5", {"debris_class": "bag", "lat": 1.0, "lon": 2.0, "segment_id": "c"}, False, 0.0)
    o, first = decide(o, Command("dispatch", "zhou", 300.0, assignee="wang"))
    o, second = decide(o, Command("dispatch", "zhou", 1200.0, assignee="li"), supervisors=("zhou",))
    assert (o["assignee"], o["dispatched_at"], o["first_dispatched_at"]) == ("li", 1200.0, 300.0)
    st = compute_stats([o], {"c": ("r", 1000.0)}, events=[first, second])
    assert st["per_segment"]["c"]["median_to_claim_s"] == 300.0


@pytest.mark.parametrize("lat", [0.0, 22.52, 60.0, -75.0])
def test_order_grid_finds_every_order_within_radius(lat) -> None:
    from cloud.workorders import OrderGrid

    grid = OrderGrid(5.0)
    lon = 114.06
    pts = []
    for i in range(200):
        n, e = (i % 20 - 10) * 0.9, (i // 20 - 5) * 1.3
        plat, plon = offset(lat, lon, n, e)
        pts.append({"id": str(i), "lat": plat, "lon": plon})
        grid.add(pts[-1])
    for p in pts[::7]:
        want = {q["id"] for q in pts if distance_m(p["lat"], p["lon"], q["lat"], q["lon"]) <= 5.0}
        got = {q["id"] for q in grid.near(p["lat"], p["lon"])}
        assert want <= got


def test_order_grid_moves_an_order_that_moved() -> None:
    """An order re-added at its find's new place is found there and no longer at the old one."""
    from cloud.workorders import OrderGrid

    grid = OrderGrid(5.0)
    grid.add({"id": "o", "lat": 22.5, "lon": 114.0})
    far = offset(22.5, 114.0, 200.0, 0.0)
    grid.add({"id": "o", "lat": far[0], "lon": far[1]})
    assert [o["id"] for o in grid.near(*far)] == ["o"]
    assert grid.near(22.5, 114.0) == []
