"""Paging policy: only the responsible inspectors, once per item, cooldown and hourly cap per segment."""

from __future__ import annotations

from cloud.integrations_config import SegmentConfig
from cloud.notify.policy import PagingPolicy

SEGS = [
    SegmentConfig(id="sz-1", name="Shenzhen River 1", inspectors=["li", "wang"]),
    SegmentConfig(id="xz-1", name="Xinzhou River 1", inspectors=["chen"]),
    SegmentConfig(id="quiet", name="Unmanned"),
]


def ev(alert: str, seg: str | None = "sz-1", kind: str = "alert.new", merged: str | None = None) -> dict:
    return {"type": kind, "feature": {"id": alert}, "segment_id": seg, "merged_into": merged}


def test_pages_only_the_segments_inspectors():
    p = PagingPolicy(SEGS, cooldown_s=300, per_segment_per_hour=6)
    d = p.decide(ev("a", "sz-1"), now=0)
    assert d.page and d.inspectors == ("li", "wang") and d.segment.id == "sz-1"
    d = p.decide(ev("b", "xz-1"), now=1)
    assert d.page and d.inspectors == ("chen",)


def test_nobody_for_unknown_or_unstaffed_segments():
    p = PagingPolicy(SEGS, 300, 6)
    assert p.decide(ev("a", None), 0).reason == "no_segment"
    assert p.decide(ev("b", "elsewhere"), 0).reason == "no_segment"
    assert p.decide(ev("c", "quiet"), 0).reason == "no_inspectors"


def test_updates_merges_and_repeats_do_not_page():
    p = PagingPolicy(SEGS, cooldown_s=0, per_segment_per_hour=100)
    assert p.decide(ev("a"), 0).page
    assert p.decide(ev("a"), 10).reason == "already_paged"
    assert p.decide(ev("a", kind="alert.updated"), 20).reason == "not_new"
    assert p.decide(ev("b", merged="a"), 30).reason == "merged"
    assert p.decide(ev("c", kind="workorder.changed"), 40).reason == "not_new"


def test_a_cluster_pages_once_then_counts_the_rest():
    p = PagingPolicy(SEGS, cooldown_s=300, per_segment_per_hour=6)
    assert p.decide(ev("a"), 0).page
    for i, t in enumerate((10, 50, 299)):
        assert p.decide(ev(f"n{i}"), t).reason == "cooldown"
    # Another stretch is not held back by this one's cooldown.
    assert p.decide(ev("x", "xz-1"), 100).page
    d = p.decide(ev("later"), 300)
    assert d.page and d.held_back == 3
    assert p.decide(ev("later2"), 900).held_back == 0


def test_hourly_cap_is_a_sliding_window():
    p = PagingPolicy(SEGS, cooldown_s=60, per_segment_per_hour=3)
    times = [0, 60, 120]
    for i, t in enumerate(times):
        assert p.decide(ev(f"a{i}"), t).page
    assert p.decide(ev("capped"), 200).reason == "rate_cap"
    assert p.decide(ev("capped2"), 3599).reason == "rate_cap"
    d = p.decide(ev("free"), 3600)  # the page at t=0 left the window
    assert d.page and d.held_back == 2


def test_zero_cap_silences_a_segment():
    p = PagingPolicy(SEGS, cooldown_s=0, per_segment_per_hour=0)
    assert p.decide(ev("a"), 0).reason == "rate_cap"


def test_a_find_handed_back_pages_the_segments_other_inspectors_at_once():
    p = PagingPolicy(SEGS, cooldown_s=300, per_segment_per_hour=1)
    assert p.decide(ev("a"), 0).page  # the find itself; the segment is now cooling down and capped

    def back(alert: str, seg: str, actor: str, action: str = "release") -> dict:
        return {**ev(alert, seg, kind="workorder.changed"), "workorder": {"action": action, "actor": actor}}

    d = p.decide(back("a", "sz-1", "li"), 1)
    assert (d.page, d.reason, d.inspectors, d.handed_back_by) == (True, "handed_back", ("wang",), "li")
    assert p.decide(back("a", "sz-1", "li", action="claim"), 2).reason == "not_new"
    assert p.decide(back("b", "xz-1", "chen"), 3).reason == "no_inspectors"  # nobody else on it
    assert p.decide(back("c", None, "li"), 4).reason == "no_segment"


def test_an_inspector_sent_to_a_find_is_paged_at_once_wherever_it_is():
    p = PagingPolicy(SEGS, cooldown_s=300, per_segment_per_hour=1)
    assert p.decide(ev("a"), 0).page  # the segment is now cooling down and capped: a dispatch is not

    def sent(alert: str, seg: str | None, actor: str, assignee: str) -> dict:
        order = {"action": "dispatch", "actor": actor, "assignee": assignee}
        return {**ev(alert, seg, kind="workorder.changed"), "workorder": order}

    d = p.decide(sent("a", "sz-1", "zhou", "wang"), 1)
    assert (d.page, d.reason, d.inspectors, d.dispatched_by, d.segment.id) == (
        True, "dispatched", ("wang",), "zhou", "sz-1",
    )  # fmt: skip
    assert p.decide(sent("b", "sz-1", "li", "li"), 2).reason == "dispatched_self"  # they know
    off = p.decide(sent("c", None, "zhou", "chen"), 3)  # off every stretch: still chen's to clear
    assert (off.page, off.inspectors, off.segment.id) == (True, ("chen",), "")


def test_whoever_held_a_find_sent_to_someone_else_is_told_unless_they_passed_it_on():
    p = PagingPolicy(SEGS, cooldown_s=300, per_segment_per_hour=1)

    def moved(actor: str, assignee: str, held_by: str | None) -> dict:
        order = {"action": "dispatch", "actor": actor, "assignee": assignee, "previous_assignee": held_by}
        return {**ev("a", "sz-1", kind="workorder.changed"), "workorder": order}

    d = p.taken_off(moved("zhou", "wang", "li"))
    assert (d.page, d.reason, d.inspectors, d.dispatched_by, d.reassigned_to, d.segment.id) == (
        True, "reassigned", ("li",), "zhou", "wang", "sz-1",
    )  # fmt: skip
    assert p.taken_off(moved("li", "wang", "li")).reason == "reassigned_self"  # li passed it on
    assert p.taken_off(moved("zhou", "wang", None)).reason == "not_reassigned"  # nobody held it
    assert p.taken_off(ev("b")).reason == "not_reassigned"


def test_a_claim_left_open_is_reminded_of_once_and_a_new_claim_again():
    from cloud.notify.policy import reminders_due

    def order(i: str, status: str = "dispatched", at: float | None = 0.0, who: str | None = "li") -> dict:
        return {"id": i, "status": status, "dispatched_at": at, "assignee": who}

    orders = [order("a"), order("b", at=3000.0), order("c", status="cleared"), order("d", who=None)]
    reminded: set = set()
    assert [o["id"] for o in reminders_due(orders, 3600.0, 3600.0, reminded)] == ["a"]
    assert reminders_due(orders, 7200.0, 3600.0, reminded) == [orders[1]]  # b's hour is up now
    assert reminders_due(orders, 9999.0, 3600.0, reminded) == []  # each claim once
    again = [order("a", at=8000.0)]  # handed back and claimed again: a new claim
    assert reminders_due(again, 11600.0, 3600.0, reminded) == again


def test_a_find_nobody_claims_escalates_once_per_wait_and_a_hand_back_starts_a_new_wait():
    from cloud.notify.policy import escalations_due

    def order(i: str, status: str = "new", since: float = 0.0) -> dict:
        return {"id": i, "status": status, "created_at": 0.0, "open_since": since}

    orders = [
        order("a"),
        order("b", "confirmed", since=3000.0),
        order("c", "dispatched"),
        order("d", "cleared"),
    ]
    done: set = set()
    assert [o["id"] for o in escalations_due(orders, 3600.0, 3600.0, done)] == ["a"]
    assert [o["id"] for o in escalations_due(orders, 7200.0, 3600.0, done)] == ["b"]
    assert escalations_due(orders, 9999.0, 3600.0, done) == []  # each wait once
    assert done == {("a", 0.0), ("b", 3000.0)}
    back = [order("a", since=8000.0)]  # claimed, then handed back at 8000: a new wait
    assert escalations_due(back, 11000.0, 3600.0, done) == [] and done == set()  # b is gone: forgotten
    assert escalations_due(back, 11600.0, 3600.0, done) == back


def test_a_stretch_not_flown_in_its_schedule_is_overdue_once_per_wait():
    from cloud.notify.policy import patrols_overdue

    every = {"a": 100.0, "b": 100.0, "c": 0.0}  # c has no schedule
    paged: set = set()
    assert patrols_overdue(every, {"a": 50.0}, 0.0, 120.0, paged) == [("b", None)]  # never flown since 0
    assert patrols_overdue(every, {"a": 50.0}, 0.0, 160.0, paged) == [("a", 50.0)]
    assert patrols_overdue(every, {"a": 50.0}, 0.0, 999.0, paged) == []  # each wait once
    assert patrols_overdue(every, {"a": 500.0, "b": 480.0}, 0.0, 560.0, paged) == []  # flown: new waits
    assert patrols_overdue(every, {"a": 500.0, "b": 480.0}, 0.0, 600.0, paged) == [("a", 500.0), ("b", 480.0)]


def test_an_inspector_who_asked_for_a_closer_look_is_paged_once_when_it_comes_in():
    p = PagingPolicy(SEGS, cooldown_s=300, per_segment_per_hour=1)
    assert p.decide(ev("a"), 0).page  # the segment is now cooling down and capped: this is not

    def taken(alert: str, asker: str | None, asked_at: str = "2026-12-07T10:00:00Z") -> dict:
        props = {"look_asked_by": asker, "look_asked_at": asked_at}
        return {
            **ev(alert, kind="alert.updated"),
            "feature": {"id": alert, "properties": props},
            "look_taken": True,
        }

    d = p.decide(taken("a", "wang"), 1)
    assert (d.page, d.reason, d.inspectors, d.look_taken, d.segment.id) == (
        True,
        "look_taken",
        ("wang",),
        True,
        "sz-1",
    )
    assert p.decide(taken("a", "wang"), 2).reason == "already_paged"  # two events of one batch
    assert p.decide(taken("a", "li", "2026-12-07T11:00:00Z"), 3).inspectors == ("li",)  # asked anew
    assert p.decide({**taken("b", "wang"), "look_taken": False}, 4).reason == "not_new"
    assert p.decide(taken("c", None), 5).reason == "no_asker"
    missed = {**taken("d", "wang"), "look_taken": False, "look_missed": True}
    d = p.decide(missed, 6)
    assert (d.page, d.reason, d.inspectors, d.look_missed, d.look_taken) == (
        True,
        "look_missed",
        ("wang",),
        True,
        False,
    )
