"""``/api/v1/stats``: the figures of :mod:`cloud.stats` over the stored work orders, over HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from cloud.api.params import ParamError, parse_period
from cloud.api.responses import FastJSON, problem
from cloud.stats import compute_stats

router = APIRouter(prefix="/api/v1", tags=["stats"])


@router.get(
    "/stats",
    summary="Patrol statistics",
    description=(
        "Finds per river km (segment centerline length), median/mean time from find to cleared, "
        "false-alarm rate among closed orders, counts by class and status; per stretch how many are "
        "cleared, open and unclaimed and how soon they were claimed and cleared; per inspector what "
        "they claimed, cleared, handed back and hold now; per stretch the patrol flights over it and "
        "the last. `since`/`until` select orders by creation time and flights by take-off."
    ),
)
def stats(
    request: Request,
    since: Annotated[str | None, Query(description="RFC 3339.")] = None,
    until: Annotated[str | None, Query(description="RFC 3339.")] = None,
) -> Response:
    try:
        t0, t1 = parse_period(since, until)
    except ParamError as e:
        return problem(400, str(e))
    st = request.app.state
    segs = {s.id: (s.river, s.length_m) for s in st.segments.segments}
    store = st.store
    return FastJSON(
        compute_stats(
            store.all_workorders(),
            segs,
            t0,
            t1,
            store.all_workorder_events(),
            store.list_flights(with_track=False),
        )
    )
