"""``/api/v1/flights``: the stations post each patrol flight; the office and the CIM map read them."""

from __future__ import annotations

import json
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from cloud.api import auth
from cloud.api.models import ErrorResponse
from cloud.api.params import ParamError, parse_period
from cloud.api.responses import FastJSON, GeoJSON, problem
from cloud.flights import covered_segments, flight_feature, flight_row
from contract.messages import Flight

router = APIRouter(prefix="/api/v1", tags=["flights"])
_ERR = {"model": ErrorResponse}


@router.post(
    "/flights",
    summary="Record a patrol flight",
    description=(
        "A contract `Flight` (a logbook entry: the drone's own record, or a ground station's). The"
        " stretches its track flew along are worked out here. Idempotent on `flight_id`: a repeat"
        " answers 200 with `new: false`. One flight is kept once: a record of a vehicle in the air at"
        " the same time as a stored one is the same flight, and the longer record is kept (`new:"
        " false, same_as: ID` for a shorter one; `replaces: [ID]` where it took a shorter one's"
        " place). Needs a station bearer token."
    ),
    responses={401: _ERR, 403: _ERR, 422: _ERR},
)
async def post_flight(
    request: Request, flight: Flight, who: Annotated[auth.Principal, Depends(auth.station)]
) -> Response:
    st = request.app.state
    segments = covered_segments(flight.track, st.segments.locate)
    row = flight_row(flight, who.name, segments, time.time())
    kept = await run_in_threadpool(st.store.add_flight, row)
    answer: dict = {"flight_id": flight.flight_id, "new": kept.new, "segments": segments}
    if kept.same_as not in (None, flight.flight_id):
        answer["same_as"] = kept.same_as
    if kept.replaces:
        answer["replaces"] = list(kept.replaces)
    return FastJSON(answer)


@router.get(
    "/flights",
    summary="Patrol flights as GeoJSON",
    description=(
        "A FeatureCollection of flight tracks (LineStrings) that took off in [`since`, `until`], each"
        " with the stretches it patrolled; `segment` keeps the flights over one stretch."
    ),
    responses={400: _ERR},
)
def list_flights(
    request: Request,
    since: Annotated[str | None, Query(description="RFC 3339.")] = None,
    until: Annotated[str | None, Query(description="RFC 3339.")] = None,
    segment: Annotated[str | None, Query(description="A segment id.")] = None,
) -> Response:
    try:
        t0, t1 = parse_period(since, until)
    except ParamError as e:
        return problem(400, str(e))
    rows = request.app.state.store.list_flights(t0, t1)
    if segment:
        rows = [r for r in rows if segment in json.loads(r["segments"])]
    return GeoJSON({"type": "FeatureCollection", "features": [flight_feature(r) for r in rows]})
