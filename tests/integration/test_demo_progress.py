"""Off a terminal the demo prints what happens as it happens: a status line on a timer, each find once."""

from __future__ import annotations

from types import SimpleNamespace

from riverpatrol.demo.progress import PlainProgress, find_line, status_line


def _vehicle(**kw):
    base = {"mission_seq": 6, "mode": "AUTO", "alt_rel_m": 30.04, "battery_remaining_pct": 87}
    return SimpleNamespace(**(base | kw))


def test_status_line_says_where_the_patrol_is_and_how_far_the_finds_got() -> None:
    line = status_line(42.4, _vehicle(), 28, frames=412, alerts=5, backlog=1, finds=3)
    assert line == (
        "t+42 s: mission item 6/28 (21% of route), AUTO, alt 30.0 m, battery 87 %; "
        "412 frames detected, 5 alert messages, relay backlog 1, 3 debris items in the cloud"
    )
    unknown = _vehicle(mission_seq=None, mode=None, alt_rel_m=None, battery_remaining_pct=None)
    early = status_line(0.0, unknown, 0, frames=0, alerts=0, backlog=0, finds=0)
    assert early.startswith("t+0 s: mission item 0/0 (0% of route), —, alt —, battery —;")


def test_each_find_is_printed_once_oldest_first_and_the_status_on_its_timer() -> None:
    p = PlainProgress(every_s=30)
    calls: list[float] = []

    def status() -> str:
        calls.append(1)
        return "STATUS"

    a = {"id": "a", "class": "bottle", "top_score": 0.9912, "lat": 22.5, "lon": 114.06, "first_seen": "2",
         "segment": "shenzhen-4"}  # fmt: skip
    b = {"id": "b", "class": "foam", "top_score": None, "lat": 22.51, "lon": 114.07, "first_seen": "1"}
    assert p.lines(0.5, status, []) == ["STATUS"]
    assert p.lines(1.0, status, [a, b]) == [
        "find in the cloud: foam at 22.510000, 114.070000",
        "find in the cloud: bottle 0.991 at 22.500000, 114.060000 (shenzhen-4)",
    ]
    assert p.lines(29.0, status, [a, b]) == []
    assert p.lines(30.5, status, [a, b]) == ["STATUS"]
    assert len(calls) == 2
    assert find_line(a) == "find in the cloud: bottle 0.991 at 22.500000, 114.060000 (shenzhen-4)"
