"""The followed patrol's progress: a line per change off a terminal, one bar at a terminal."""

from __future__ import annotations

import io
import re

from rich.console import Console

from ground_station.missions.follow_view import PatrolView, progress_line
from ground_station.missions.resume import PatrolProgress

P = PatrolProgress("river-1", "fp", 28)


def test_off_a_terminal_each_change_is_a_line() -> None:
    out = io.StringIO()
    view = PatrolView(Console(file=out, force_terminal=False, width=120), "river-1", 28)
    view.show_bar()  # a journal or a pipe: no bar
    view.change(P.flying_to(0, _at(0)))  # the vehicle's current item before any mission: not said
    view.change(P.flying_to(3, _at(0)))
    view.change(P.reached(3, _at(1)).flying_to(4, _at(1)))
    view.close()
    assert out.getvalue().splitlines() == [
        "item 3 of 28 current, last reached None",
        progress_line(P.reached(3, _at(1)).flying_to(4, _at(1))),
    ]


def test_at_a_terminal_the_take_off_prints_lines_then_a_bar_moves() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    view = PatrolView(console, "river-1", 28)
    view.change(P.flying_to(1, _at(0)))  # during the take-off's own spinner: a line
    view.show_bar()
    view.vitals(63, (8.2, 45.0))  # what the vehicle last said of its battery and the wind
    for seq in range(1, 15):
        view.change(P.reached(seq, _at(seq)).flying_to(seq + 1, _at(seq)))
    console.print("river-1 is now RTL")  # a mode change prints above the bar
    view.close()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())  # the terminal's codes
    assert text.count("last reached") == 1 and "item 1 of 28 current" in text  # no line per change
    assert "14/28" in text and "flying to item 15" in text and "river-1 is now RTL" in text
    assert "battery 63%  wind 8@45°" in text


def _at(s: int):
    from datetime import UTC, datetime

    return datetime(2026, 12, 7, 10, 0, s, tzinfo=UTC)
