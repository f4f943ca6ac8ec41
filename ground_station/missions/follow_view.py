"""What an operator following a patrol sees of its progress.

At a terminal: one progress bar, waypoints reached of the mission's items, the item it flies to,
the battery left and the wind the autopilot reckons, and the time gone by; the flight's mode
changes and the autopilot's warnings print above it.
Elsewhere (a service's journal, a pipe, a test): a line per change, as a log reads.
"""

from __future__ import annotations

import threading

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from ground_station.missions.resume import PatrolProgress


def progress_line(p: PatrolProgress) -> str:
    """One change of a patrol's progress, as a line."""
    return f"item {p.current} of {p.count} current, last reached {p.last_reached}"


class PatrolView:
    """Shows a followed patrol's progress; :meth:`change` is called from the follower's thread."""

    def __init__(self, console: Console, name: str, count: int) -> None:
        self.console, self.name, self.count = console, name, count
        self._lock = threading.Lock()
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._latest: PatrolProgress | None = None
        self._vitals = ""

    def change(self, p: PatrolProgress) -> None:
        """The patrol's progress changed: the bar moves, or (no bar) a line is printed."""
        with self._lock:
            self._latest = p
            bar = self._bar
        if bar is None:
            if p.current or p.last_reached is not None:  # item 0 is home: no mission flown yet
                self.console.print(progress_line(p), highlight=False)
        else:
            self._update(bar, p)

    def show_bar(self) -> None:
        """From now on, at a terminal, a bar instead of lines (once the take-off's own spinner is
        gone: rich shows one live display at a time)."""
        if not self.console.is_terminal or self._bar is not None:
            return
        bar = Progress(
            TextColumn("[bold]{task.description}[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[doing]}"),
            TextColumn("{task.fields[vitals]}"),
            TimeElapsedColumn(),
            console=self.console,
        )
        self._task = bar.add_task(self.name, total=self.count, doing="", vitals=self._vitals)
        bar.start()
        with self._lock:
            self._bar, latest = bar, self._latest
        if latest is not None:
            self._update(bar, latest)

    def vitals(self, battery_pct: int | None, wind: tuple[float, float] | None) -> None:
        """The battery left and the wind (m/s, from), as the vehicle last said them: on the bar."""
        parts = [] if battery_pct is None else [f"battery {battery_pct}%"]
        parts += [] if wind is None else [f"wind {wind[0]:.0f}@{wind[1]:.0f}°"]
        self._vitals = "  ".join(parts)
        with self._lock:
            bar, task = self._bar, self._task
        if bar is not None and task is not None:
            bar.update(task, vitals=self._vitals)

    def close(self) -> None:
        with self._lock:
            bar, self._bar = self._bar, None
        if bar is not None:
            bar.stop()

    def _update(self, bar: Progress, p: PatrolProgress) -> None:
        assert self._task is not None
        doing = f"flying to item {p.current}" if p.current is not None else ""
        bar.update(self._task, completed=p.last_reached or 0, doing=doing)
