"""The patrol's progress as plain lines, for a demo whose output is a log, a pipe or a CI job.

At a terminal the demo redraws one live screen; off a terminal rich prints nothing until the
patrol ends, so a person reading the log saw minutes of silence. This prints a status line every
``every_s`` wall seconds and one line per find the moment it reaches the cloud.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


def _v(value: Any, fmt: str, unit: str = "") -> str:
    return "—" if value is None else f"{format(value, fmt)}{unit}"


def status_line(wall_s: float, s: Any, total: int, frames: int, alerts: int, backlog: int, finds: int) -> str:
    """One line: where the patrol is, what the vehicle does, how far the finds have got."""
    seq = s.mission_seq or 0
    return (
        f"t+{wall_s:.0f} s: mission item {seq}/{total} ({100 * seq / max(total, 1):.0f}% of route), "
        f"{s.mode or '—'}, alt {_v(s.alt_rel_m, '.1f', ' m')}, "
        f"battery {_v(s.battery_remaining_pct, 'd', ' %')}; "
        f"{frames} frames detected, {alerts} alert messages, relay backlog {backlog}, "
        f"{finds} debris items in the cloud"
    )


def find_line(item: dict) -> str:
    """One find as the inspector will see it."""
    score = item.get("top_score")
    return (
        f"find in the cloud: {item.get('class')}"
        + (f" {score:.3f}" if isinstance(score, (int, float)) else "")
        + f" at {item['lat']:.6f}, {item['lon']:.6f}"
        + (f" ({item['segment']})" if item.get("segment") else "")
    )


@dataclass
class PlainProgress:
    """Lines to print off a terminal; :meth:`lines` is called on each pass of the demo's loop."""

    every_s: float = 30.0
    _next_s: float = 0.0
    _seen: set[str] = field(default_factory=set)

    def lines(self, wall_s: float, status: Callable[[], str], items: Iterable[dict]) -> list[str]:
        """New finds (oldest first), then the status line when it is due."""
        out = []
        for it in sorted(items, key=lambda i: i.get("first_seen") or ""):
            key = str(it.get("id"))
            if key not in self._seen:
                self._seen.add(key)
                out.append(find_line(it))
        if wall_s >= self._next_s:
            self._next_s = wall_s + self.every_s
            out.append(status())
        return out
