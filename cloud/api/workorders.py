"""``/api/v1/workorders``: list, inspect and move work orders (inspector bearer token)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from cloud.api import auth
from cloud.api.features import feature, iso, thumbnail_url
from cloud.api.models import (
    DONE_AT_MAX_AGE_S,
    DONE_AT_MAX_AHEAD_S,
    ActionBody,
    ErrorResponse,
    WorkOrderOut,
    WorkOrderPage,
)
from cloud.api.params import ParamError, parse_list
from cloud.api.responses import FastJSON, problem
from cloud.events import EventBus
from cloud.storage.base import Row, Store
from cloud.storage.items import decode_jpeg
from cloud.workorders import ACTIONS, STATUSES, AlreadyDone, Command, InvalidTransition, decide

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/workorders", tags=["work orders"])
_ERR = {"model": ErrorResponse}
_TIME_FIELDS = (
    "created_at", "updated_at", "reviewed_at", "dispatched_at", "first_dispatched_at", "arrived_at",
    "cleared_at", "at",
)  # fmt: skip


def order_json(o: Row) -> dict[str, Any]:
    """A work order with RFC 3339 times, a boolean review flag and its photo's URL."""
    out = {k: (iso(v) if k in _TIME_FIELDS else v) for k, v in o.items()}
    if "review_required" in out:
        out["review_required"] = bool(out["review_required"])
    if "cleared_photo_sha" in out:
        out["cleared_photo"] = thumbnail_url(out.pop("cleared_photo_sha"))
    return out


class WorkOrderService:
    """Applies one transition atomically, then announces it on the bus (any thread)."""

    def __init__(
        self,
        store: Store,
        bus: EventBus,
        metrics: Any,
        base_url: str = "",
        supervisors_of: Callable[[str | None], Collection[str]] = lambda segment_id: (),
    ) -> None:
        self.store, self.bus, self.metrics, self.base_url = store, bus, metrics, base_url
        #: A stretch's supervisors, who may send someone else to a find another inspector holds.
        self.supervisors_of = supervisors_of

    def act(self, wo_id: str, cmd: Command, photo: tuple[str, bytes] | None = None) -> tuple[Row, Row]:
        """(order, primary item) after ``cmd``; ``KeyError`` if unknown, ``InvalidTransition`` if refused.
        ``photo`` is ``cmd.photo_sha``'s JPEG, stored in the same transaction.

        A retry of an action already applied (``AlreadyDone``) answers the order as it is: no second
        history row, no second event.
        """
        history: dict[str, Row] = {}

        def _decide(order: Row) -> tuple[Row, Row]:
            new, hist = decide(order, cmd, self.supervisors_of(order.get("segment_id")))
            history["h"], history["before"] = hist, order
            return new, hist

        try:
            order, item = self.store.apply_transition(wo_id, _decide, cmd.at, [photo] if photo else ())
        except AlreadyDone:
            log.info(
                "work order action repeated",
                extra={"workorder": wo_id, "action": cmd.action, "actor": cmd.actor},
            )
            current = self.store.get_workorder(wo_id)
            if current is None:
                raise KeyError(wo_id) from None
            return current, self.store.get_item(wo_id) or {}
        self.metrics.transitions.labels(cmd.action).inc()
        h = history["h"]
        log.info(
            "work order transition",
            extra={
                "workorder": wo_id,
                "action": cmd.action,
                "actor": cmd.actor,
                "from": h["from_status"],
                "to": h["to_status"],
            },
        )
        if item:
            self.bus.publish(
                {
                    "type": "workorder.changed",
                    "feature": feature(item, self.base_url),
                    "segment_id": item["segment_id"],
                    "merged_into": None,
                    "workorder": {
                        **order_json(order),
                        "from_status": h["from_status"],
                        "action": cmd.action,
                        "actor": cmd.actor,
                        "at": iso(cmd.at),
                        "note": cmd.note,
                        # whose it was: a find sent to someone else tells them they need not go
                        "previous_assignee": history["before"].get("assignee"),
                    },
                }
            )
        return order, item


@router.get("", summary="List work orders", response_model=WorkOrderPage, responses={400: _ERR})
def list_orders(
    request: Request,
    status: Annotated[
        str | None, Query(description="Comma-separated statuses.", examples=["new,dispatched"])
    ] = None,
    segment: Annotated[str | None, Query(description="Segment id.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    try:
        sts = parse_list(status, STATUSES, "status")
    except ParamError as e:
        return problem(400, str(e))
    rows, total = request.app.state.store.list_workorders(sts, segment, limit, offset)
    return FastJSON(
        {"items": [order_json(r) for r in rows], "total": total, "limit": limit, "offset": offset}
    )


@router.get(
    "/{wo_id}", summary="One work order with its history", response_model=WorkOrderOut, responses={404: _ERR}
)
def get_order(request: Request, wo_id: str) -> Response:
    store = request.app.state.store
    order = store.get_workorder(wo_id)
    if order is None:
        return problem(404, f"work order {wo_id} not found")
    return FastJSON({**order_json(order), "history": [order_json(h) for h in store.workorder_history(wo_id)]})


def decode_photo(b64: str, action: str, max_bytes: int) -> tuple[str, bytes]:
    """(sha256 hex, JPEG bytes) of an action's ``photo_jpeg``; ``ValueError`` naming what is wrong."""
    if action != "clear":
        raise ValueError(f"photo_jpeg goes with clear, not with {action}")
    return decode_jpeg(b64, "photo_jpeg", max_bytes)


def action_time(done_at: datetime | None, now: float) -> float:
    """When an action happened: ``now``, or the phone's ``done_at`` if it is plausible."""
    if done_at is None:
        return now
    if done_at.tzinfo is None:
        raise ValueError("done_at needs a time zone, e.g. 2026-12-06T08:30:00Z")
    at = done_at.timestamp()
    if at > now + DONE_AT_MAX_AHEAD_S:
        raise ValueError(f"done_at {done_at.isoformat()} is in the future")
    if at < now - DONE_AT_MAX_AGE_S:
        raise ValueError(f"done_at {done_at.isoformat()} is more than {DONE_AT_MAX_AGE_S // 86400} days ago")
    return min(at, now)


@router.post(
    "/{wo_id}/{action}",
    summary="Move a work order",
    description=(
        "`confirm`/`reject` (review), `dispatch` (to `assignee`) or `claim` (dispatch to yourself), "
        "`arrive` (on site), `clear` (`outcome` cleared or false_alarm, `photo_jpeg` of the spot), "
        "`release` (its assignee hands a dispatched order back: open to anyone again); `dispatch` of a "
        "claimed order sends someone else (its assignee or a supervisor of its stretch). Invalid moves "
        "answer 409 naming the current status. Needs an inspector bearer token."
    ),
    response_model=WorkOrderOut,
    responses={401: _ERR, 403: _ERR, 404: _ERR, 409: _ERR},
)
async def act(
    request: Request,
    wo_id: str,
    action: Annotated[
        str, Path(description="One of " + ", ".join(ACTIONS), pattern="^(" + "|".join(ACTIONS) + ")$")
    ],
    who: Annotated[auth.Principal, Depends(auth.inspector)],
    body: ActionBody | None = None,
) -> Response:
    body = body or ActionBody()
    if body.actor and body.actor != who.name:
        return problem(403, f"actor {body.actor!r} does not match the token of inspector {who.name!r}")
    try:
        at = action_time(body.done_at, time.time())
        max_photo = request.app.state.settings.max_photo_bytes
        photo = decode_photo(body.photo_jpeg, action, max_photo) if body.photo_jpeg else None
    except ValueError as e:
        return problem(422, str(e))
    cmd = Command(
        action=action,
        actor=who.name,
        at=at,
        note=body.note,
        assignee=body.assignee,
        outcome=body.outcome,
        photo_sha=photo[0] if photo else None,
    )
    svc: WorkOrderService = request.app.state.workorders
    try:
        order, _ = await run_in_threadpool(svc.act, wo_id, cmd, photo)
    except KeyError:
        return problem(404, f"work order {wo_id} not found")
    except InvalidTransition as e:
        return problem(409, str(e))
    return FastJSON(order_json(order))
