"""Work orders: the pure life cycle of one debris clean-up job (no I/O; storage applies it).

AI find -> ``new`` -> (review: ``confirm`` -> ``confirmed`` | ``reject`` -> ``false_alarm``)
-> ``dispatch``/``claim`` -> ``dispatched`` -> ``arrive`` -> ``on_site`` -> ``clear`` ->
``cleared`` (or ``false_alarm`` when the crew finds nothing), with the inspector's photo of the
spot when they took one. Its assignee can ``release`` a dispatched order: open again for anyone;
its assignee or a supervisor of its stretch can ``dispatch`` it to someone else (reassign).
Segments that need review refuse to dispatch a ``new`` order. Every transition records who and
when.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from contract.geo import distance_m

STATUSES: tuple[str, ...] = ("new", "confirmed", "dispatched", "on_site", "cleared", "false_alarm")
OPEN_STATUSES: tuple[str, ...] = ("new", "confirmed", "dispatched", "on_site")
#: Open and someone's: claimed or dispatched to an inspector, not yet closed.
CLAIMED_STATUSES: tuple[str, ...] = ("dispatched", "on_site")
#: Open and nobody's: waiting for someone to claim it (or, on a reviewed stretch, to confirm it).
UNCLAIMED_STATUSES: tuple[str, ...] = tuple(s for s in OPEN_STATUSES if s not in CLAIMED_STATUSES)
ACTIONS: tuple[str, ...] = ("claim", "confirm", "reject", "dispatch", "arrive", "clear", "release")

#: action -> {from status: to status}; ``clear`` can also end as false_alarm (see ``decide``).
_TABLE: dict[str, dict[str, str]] = {
    "confirm": {"new": "confirmed"},
    "reject": {
        "new": "false_alarm",
        "confirmed": "false_alarm",
        "dispatched": "false_alarm",
        "on_site": "false_alarm",
    },
    # from a claimed status: sent to someone else by its assignee or a supervisor (see ``decide``)
    "dispatch": {
        "new": "dispatched",
        "confirmed": "dispatched",
        "dispatched": "dispatched",
        "on_site": "dispatched",
    },
    "claim": {"new": "dispatched", "confirmed": "dispatched"},
    "arrive": {"dispatched": "on_site"},
    "clear": {"on_site": "cleared", "dispatched": "cleared"},
    # handed back by its assignee (claimed by mistake, needs a boat, end of shift): open to all again,
    # ``confirmed`` if it was reviewed (see ``decide``)
    "release": {"dispatched": "new", "on_site": "new"},
}


class InvalidTransition(ValueError):
    """The action is not allowed from the order's current status (HTTP 409)."""


@dataclass(frozen=True)
class Command:
    """One requested transition."""

    action: str
    actor: str
    at: float
    note: str = ""
    assignee: str | None = None
    outcome: str = "cleared"  # for ``clear``: "cleared" or "false_alarm"
    #: For ``clear``: the content hash of the inspector's photo of the spot (stored beside it).
    photo_sha: str | None = None


class AlreadyDone(Exception):
    """The order is already where this same action by this actor put it: a retried request (a phone
    that lost the answer, an action sent again from its offline queue). Nothing changes."""


def already_done(order: dict[str, Any], cmd: Command) -> bool:
    """Whether ``cmd`` was applied already: same action, same actor, and nothing since."""
    s, me = order["status"], cmd.actor
    if cmd.action == "claim":
        return s == "dispatched" and order.get("assignee") == me and order.get("dispatched_by") == me
    if cmd.action == "dispatch":
        return (
            s == "dispatched"
            and order.get("dispatched_by") == me
            and order.get("assignee") == (cmd.assignee or me)
        )
    if cmd.action == "confirm":
        return s == "confirmed" and order.get("reviewed_by") == me
    if cmd.action == "reject":
        return s == "false_alarm" and order.get("cleared_by") == me
    if cmd.action == "arrive":
        return s == "on_site" and order.get("arrived_by") == me
    if cmd.action == "clear":
        return s == cmd.outcome and order.get("cleared_by") == me
    if cmd.action == "release":  # open and nobody's: handed back already, or nothing to hand back
        return s in ("new", "confirmed") and order.get("assignee") is None
    return False


def decide(
    order: dict[str, Any], cmd: Command, supervisors: Collection[str] = ()
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(updated order, history row) for ``cmd`` on ``order``; ``InvalidTransition`` if refused,
    ``AlreadyDone`` if this actor's same action is what put it where it is. ``supervisors``: those
    of the order's stretch, who may send someone else to a find another inspector holds."""
    if cmd.action not in _TABLE:
        raise InvalidTransition(f"unknown action {cmd.action!r}; expected one of {', '.join(ACTIONS)}")
    if not cmd.actor.strip():
        raise InvalidTransition("actor must be a non-empty name")
    if already_done(order, cmd):
        raise AlreadyDone(f"{cmd.action} by {cmd.actor} is already applied to work order {order['id']}")
    status = order["status"]
    to = _TABLE[cmd.action].get(status)
    if to is None:
        allowed = ", ".join(sorted(_TABLE[cmd.action])) or "nowhere"
        raise InvalidTransition(
            f"cannot {cmd.action} work order {order['id']} in status {status!r} (allowed from: {allowed})"
        )
    if cmd.action in ("dispatch", "claim") and status == "new" and order.get("review_required"):
        raise InvalidTransition(
            f"work order {order['id']} is on a reviewed segment: confirm it before {cmd.action}"
        )
    if cmd.action == "dispatch" and status in CLAIMED_STATUSES:
        who, to_whom = order.get("assignee"), cmd.assignee or cmd.actor
        if to_whom == who:
            raise InvalidTransition(f"work order {order['id']} is already {who}'s")
        if who is not None and cmd.actor != who and cmd.actor not in supervisors:
            raise InvalidTransition(
                f"work order {order['id']} is {who}'s: only {who} or a supervisor of its stretch can send"
                " someone else"
            )
    if cmd.photo_sha and cmd.action != "clear":
        raise InvalidTransition(f"a photo goes with clear, not with {cmd.action}")
    if cmd.action == "release":
        if order.get("assignee") not in (None, cmd.actor):
            who = order["assignee"]
            raise InvalidTransition(f"work order {order['id']} is {who}'s: only {who} can hand it back")
        to = "confirmed" if order.get("reviewed_at") is not None else "new"
    if cmd.action == "clear":
        if cmd.outcome not in ("cleared", "false_alarm"):
            raise InvalidTransition(f"clear outcome {cmd.outcome!r} must be 'cleared' or 'false_alarm'")
        to = cmd.outcome
    # An action done earlier than the order's last change (queued on a phone without signal, a
    # phone's clock) is recorded at that change: history never runs backwards.
    at = max(cmd.at, order.get("updated_at") or order.get("created_at") or cmd.at)
    new = dict(order)
    new["status"] = to
    new["updated_at"] = at
    if cmd.action == "confirm" or (cmd.action == "reject" and status in ("new", "confirmed")):
        new.update(reviewed_at=at, reviewed_by=cmd.actor)
    elif cmd.action in ("dispatch", "claim"):
        new.update(
            dispatched_at=at,
            # the find's first claim stays: the office's "how soon claimed" is not reset by a handover
            first_dispatched_at=order.get("first_dispatched_at") or at,
            dispatched_by=cmd.actor,
            assignee=cmd.actor if cmd.action == "claim" else (cmd.assignee or cmd.actor),
            arrived_at=None,  # sent to someone else: they have not arrived yet
            arrived_by=None,
        )
    elif cmd.action == "arrive":
        new.update(arrived_at=at, arrived_by=cmd.actor)
    elif cmd.action == "release":
        new.update(dispatched_at=None, dispatched_by=None, assignee=None, arrived_at=None, arrived_by=None)
    if to in ("cleared", "false_alarm"):
        new.update(cleared_at=at, cleared_by=cmd.actor, cleared_note=cmd.note or None)
    if cmd.action == "clear":
        new["cleared_photo_sha"] = cmd.photo_sha
    history = {
        "workorder_id": order["id"],
        "action": cmd.action,
        "from_status": status,
        "to_status": to,
        "actor": cmd.actor,
        "at": at,
        "note": cmd.note,
    }
    return new, history


def new_order(wo_id: str, item: dict[str, Any], review_required: bool, at: float) -> dict[str, Any]:
    """The order opened by a new find (its id is the find's alert id)."""
    return {
        "id": wo_id,
        "debris_class": item["debris_class"],
        "lat": item["lat"],
        "lon": item["lon"],
        "segment_id": item.get("segment_id"),
        "river": item.get("river"),
        "status": "new",
        "review_required": 1 if review_required else 0,
        "created_at": at,
        "updated_at": at,
        "finds": 1,
        "reviewed_at": None,
        "reviewed_by": None,
        "dispatched_at": None,
        "first_dispatched_at": None,
        "dispatched_by": None,
        "assignee": None,
        "arrived_at": None,
        "arrived_by": None,
        "cleared_at": None,
        "cleared_by": None,
        "cleared_photo_sha": None,
        "cleared_note": None,
    }


WORKORDER_COLUMNS: tuple[str, ...] = tuple(new_order("x", {"debris_class": "", "lat": 0, "lon": 0}, False, 0))


def search_box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """(min lat, max lat, min lon, max lon) bounding a circle, for an index range query."""
    dlat = radius_m / 111_000.0 * 1.01
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def nearest_open(
    orders: Iterable[dict[str, Any]], lat: float, lon: float, debris_class: str, radius_m: float
) -> dict[str, Any] | None:
    """The closest open order of the same class within ``radius_m`` of (lat, lon), if any."""
    best, best_d = None, math.inf
    for o in orders:
        if o["status"] not in OPEN_STATUSES or o["debris_class"] != debris_class:
            continue
        d = distance_m(lat, lon, o["lat"], o["lon"])
        if d <= radius_m and d < best_d:
            best, best_d = o, d
    return best


class OrderGrid:
    """Orders bucketed in cells of about ``radius_m`` so a batch finds its neighbours in O(1)."""

    def __init__(self, radius_m: float) -> None:
        self.cell = max(radius_m, 1.0) / 110_000.0  # degrees; a degree of latitude is >= 110 km
        self._cells: dict[tuple[int, int], dict[str, dict[str, Any]]] = {}
        self._where: dict[str, tuple[int, int]] = {}

    def _key(self, lat: float, lon: float) -> tuple[int, int]:
        return math.floor(lat / self.cell), math.floor(lon / self.cell)

    def add(self, order: dict[str, Any]) -> None:
        """Insert or replace ``order``, in the cell of where it is now (an order follows its find)."""
        key = self._key(order["lat"], order["lon"])
        was = self._where.get(order["id"])
        if was is not None and was != key:
            self._cells[was].pop(order["id"], None)
        self._where[order["id"]] = key
        self._cells.setdefault(key, {})[order["id"]] = order

    def near(self, lat: float, lon: float) -> list[dict[str, Any]]:
        """Orders in the cells around (lat, lon): a superset of those within ``radius_m``.

        A degree of longitude shrinks by cos(lat), so the search widens east-west to match.
        """
        ky, kx = self._key(lat, lon)
        span = min(math.ceil(1.0 / max(math.cos(math.radians(abs(lat) + 0.01)), 1e-3)), 1000)
        out: list[dict[str, Any]] = []
        for dy in (-1, 0, 1):
            for dx in range(-span, span + 1):
                cell = self._cells.get((ky + dy, kx + dx))
                if cell:
                    out.extend(cell.values())
        return out
