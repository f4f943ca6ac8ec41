"""Who gets paged for a bus event, and when paging would only be noise.

Pure and clock-injected. A find its inspector handed back (``release``) pages the segment's
other inspectors at once: someone else must go; an inspector someone sent to a find
(``dispatch``) is paged at once, and one who held it before is told (:meth:`PagingPolicy.taken_off`);
an inspector who asked for a closer look at a find is paged when it comes in.
Otherwise, in order: only a find that opened a
new work order pages (updates and finds merged into an open order never do, nor does an item
paged before); the
find's river segment names the inspectors responsible for it, and only they are paged; after a
page a segment stays quiet for ``cooldown_s`` (a cluster of debris pages once) and never pages
more than ``per_segment_per_hour`` times in any sliding hour. Held-back finds are counted so the
next page can say "and N more".

Two clocks run over the open orders, each paging once per wait: a claim left open reminds its
inspector (:func:`reminders_due`), and a find nobody claims escalates to the stretch's supervisors
(:func:`escalations_due`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cloud.integrations_config import SegmentConfig
from cloud.workorders import CLAIMED_STATUSES, UNCLAIMED_STATUSES

T = TypeVar("T")
HOUR_S = 3600.0
#: Alert ids remembered as "already paged"; older ones are forgotten first.
MAX_REMEMBERED = 100_000


@dataclass(frozen=True)
class Decision:
    """The policy's answer for one event; ``reason`` is a short label for logs and metrics."""

    page: bool
    reason: str
    inspectors: tuple[str, ...] = ()
    segment: SegmentConfig | None = None
    held_back: int = 0
    #: Who handed the find back, and why (their note), for a ``handed_back`` page.
    handed_back_by: str | None = None
    handed_back_why: str = ""
    #: Who sent the paged inspector to it (a supervisor's ``dispatch``), for a ``dispatched`` page.
    dispatched_by: str | None = None
    #: Whom it was sent to instead, for a ``reassigned`` page to the inspector who held it.
    reassigned_to: str | None = None
    #: A closer look the paged inspector asked for came in (``look_taken``), or the operators did
    #: not find the find there (``look_missed``).
    look_taken: bool = False
    look_missed: bool = False


@dataclass
class _SegmentState:
    pages: deque[float] = field(default_factory=deque)
    held_back: int = 0


class PagingPolicy:
    """Stateful decider; feed it every bus event in order with the current time."""

    def __init__(
        self, segments: Iterable[SegmentConfig], cooldown_s: float, per_segment_per_hour: int
    ) -> None:
        self.segments = {s.id: s for s in segments}
        self.cooldown_s = cooldown_s
        self.cap = per_segment_per_hour
        self._state: dict[str, _SegmentState] = {}
        self._paged: dict[str, None] = {}
        self._looks_paged: dict[tuple[Any, Any], None] = {}

    def decide(self, event: dict[str, Any], now: float) -> Decision:
        order = event.get("workorder") or {}
        if event.get("type") == "workorder.changed" and order.get("action") == "release":
            return self._handed_back(event, str(order.get("actor") or ""), str(order.get("note") or ""))
        if event.get("type") == "workorder.changed" and order.get("action") == "dispatch":
            return self._dispatched(event, str(order.get("actor") or ""), str(order.get("assignee") or ""))
        if event.get("type") == "alert.updated" and (event.get("look_taken") or event.get("look_missed")):
            return self._look_answered(event)
        if event.get("type") != "alert.new":
            return Decision(False, "not_new")
        if event.get("merged_into"):
            return Decision(False, "merged")
        alert_id = str((event.get("feature") or {}).get("id") or "")
        if not alert_id:
            return Decision(False, "no_id")
        if alert_id in self._paged:
            return Decision(False, "already_paged")
        seg = self.segments.get(event.get("segment_id") or "")
        if seg is None:
            return Decision(False, "no_segment")
        if not seg.inspectors:
            return Decision(False, "no_inspectors", segment=seg)
        st = self._state.setdefault(seg.id, _SegmentState())
        while st.pages and st.pages[0] <= now - HOUR_S:
            st.pages.popleft()
        if st.pages and now - st.pages[-1] < self.cooldown_s:
            st.held_back += 1
            return Decision(False, "cooldown", segment=seg)
        if len(st.pages) >= self.cap:
            st.held_back += 1
            return Decision(False, "rate_cap", segment=seg)
        st.pages.append(now)
        held, st.held_back = st.held_back, 0
        self._paged[alert_id] = None
        if len(self._paged) > MAX_REMEMBERED:
            self._paged.pop(next(iter(self._paged)))
        return Decision(True, "page", tuple(seg.inspectors), seg, held)

    def _handed_back(self, event: dict[str, Any], actor: str, why: str) -> Decision:
        """A hand-back is a person's decision, rare and urgent: no cooldown, no cap, all but them."""
        seg = self.segments.get(event.get("segment_id") or "")
        if seg is None:
            return Decision(False, "no_segment")
        others = tuple(i for i in seg.inspectors if i != actor)
        if not others:
            return Decision(False, "no_inspectors", segment=seg)
        return Decision(True, "handed_back", others, seg, handed_back_by=actor, handed_back_why=why)

    def taken_off(self, event: dict[str, Any]) -> Decision:
        """A find someone held, sent to someone else: tell them they need not go (not when they
        passed it on themselves). The new assignee's page is :meth:`decide`'s."""
        order = event.get("workorder") or {}
        held_by, actor = str(order.get("previous_assignee") or ""), str(order.get("actor") or "")
        if event.get("type") != "workorder.changed" or order.get("action") != "dispatch" or not held_by:
            return Decision(False, "not_reassigned")
        if held_by in (actor, order.get("assignee")):
            return Decision(False, "reassigned_self")
        return Decision(
            True, "reassigned", (held_by,), self._segment_of(event), dispatched_by=actor,
            reassigned_to=str(order.get("assignee")),
        )  # fmt: skip

    def _look_answered(self, event: dict[str, Any]) -> Decision:
        """The closer look an inspector asked for came in, or the operators did not find the find:
        page them, once per request, at once (they asked and are waiting: no cooldown, no cap)."""
        props = (event.get("feature") or {}).get("properties") or {}
        asker, key = props.get("look_asked_by"), (event["feature"].get("id"), props.get("look_asked_at"))
        if not asker:
            return Decision(False, "no_asker")
        if key in self._looks_paged:
            return Decision(False, "already_paged")
        self._looks_paged[key] = None
        if len(self._looks_paged) > MAX_REMEMBERED:
            self._looks_paged.pop(next(iter(self._looks_paged)))
        if event.get("look_missed"):
            return Decision(True, "look_missed", (str(asker),), self._segment_of(event), look_missed=True)
        return Decision(True, "look_taken", (str(asker),), self._segment_of(event), look_taken=True)

    def _dispatched(self, event: dict[str, Any], actor: str, assignee: str) -> Decision:
        """Someone sent an inspector to a find: page that inspector at once (not one who sent
        themselves: they know)."""
        if not assignee or assignee == actor:
            return Decision(False, "dispatched_self")
        return Decision(True, "dispatched", (assignee,), self._segment_of(event), dispatched_by=actor)

    def _segment_of(self, event: dict[str, Any]) -> SegmentConfig:
        """The find's stretch, or a bare one off every stretch: a find sent to someone is still
        theirs to clear wherever it is."""
        sid = event.get("segment_id") or ""
        return self.segments.get(sid) or SegmentConfig(id=sid)


def reminders_due(
    orders: Iterable[dict[str, Any]], now: float, after_s: float, reminded: set[tuple[str, float]]
) -> list[dict[str, Any]]:
    """Claimed orders still open ``after_s`` after their claim, not yet reminded of for that claim
    (a find handed back and claimed again is a new claim). Adds them to ``reminded``.

    ``orders`` are all the open ones: a remembered claim no longer among them is forgotten."""
    claims = {
        (str(o["id"]), float(o["dispatched_at"])): o
        for o in orders
        if o.get("status") in CLAIMED_STATUSES and o.get("assignee") and o.get("dispatched_at") is not None
    }
    return _due(claims, now, lambda _key: after_s, reminded)


def open_since(order: dict[str, Any]) -> float:
    """When an open order began to wait for someone: found, or handed back last (the store's
    ``open_since``; its creation where a caller has only the order)."""
    return float(order.get("open_since") or order["created_at"])


def escalations_due(
    orders: Iterable[dict[str, Any]], now: float, after_s: float, escalated: set[tuple[str, float]]
) -> list[dict[str, Any]]:
    """Open orders nobody has claimed ``after_s`` after their ``open_since`` (found, or handed back
    last), not yet escalated for that wait. Adds them to ``escalated``; as :func:`reminders_due`,
    ``orders`` are all the open ones."""
    waiting = {(str(o["id"]), open_since(o)): o for o in orders if o.get("status") in UNCLAIMED_STATUSES}
    return _due(waiting, now, lambda _key: after_s, escalated)


def _due(
    candidates: dict[tuple[str, float], T],
    now: float,
    wait_s: Callable[[tuple[str, float]], float],
    done: set[tuple[str, float]],
) -> list[T]:
    """Candidates (keyed by an id and the start of their wait) whose wait has lasted ``wait_s(key)``
    and that are not in ``done``; ``done`` keeps only keys still among the candidates, so it never
    grows past them."""
    done.intersection_update(candidates)
    due = []
    for key, c in candidates.items():
        if now - key[1] >= wait_s(key) and key not in done:
            done.add(key)
            due.append(c)
    return due


def patrols_overdue(
    every_s: dict[str, float],
    last_flown: dict[str, float],
    since: float,
    now: float,
    paged: set[tuple[str, float]],
) -> list[tuple[str, float | None]]:
    """Stretches whose patrol is overdue, each paged once per wait: (segment id, when it was last
    flown, None for never). ``every_s``: the schedule; ``since``: when the schedule began to be
    watched, the start of the wait of a stretch never flown. Adds them to ``paged`` (keyed by
    the last flight, so a new flight starts a new wait)."""
    waits = {(sid, last_flown.get(sid, since)): sid for sid, every in every_s.items() if every > 0}
    return [(sid, last_flown.get(sid)) for sid in _due(waits, now, lambda key: every_s[key[0]], paged)]
