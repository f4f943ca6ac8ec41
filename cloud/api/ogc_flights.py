"""The patrol flights as a second OGC API – Features collection, ``flights``, beside ``debris``.

A CIM map shows where the drones looked as well as what they found: one LineString feature per
flight, with its stretches, time and battery. Same parameters as ``debris`` (``bbox``,
``datetime`` matched on take-off, ``limit``/``offset``, ``crs``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from cloud.api.features import iso
from cloud.api.ogc import (
    _F,
    CRS84,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    TRS,
    _base,
    _check_f,
    format_and_crs,
    item_response,
    items_page,
    transform_for,
)
from cloud.api.params import ParamError, parse_bbox, parse_datetime
from cloud.api.responses import GEOJSON, FastJSON, problem
from cloud.flights import flight_feature, track_bbox

router = APIRouter(prefix="/ogc", tags=["OGC API – Features"])
COLLECTION = "flights"


def flights_collection(request: Request) -> dict[str, Any]:
    """The collection document: extent over every stored flight."""
    b = _base(request)
    ext = request.app.state.store.flights_extent()  # one SQL aggregate, however many flights
    bbox = list(track_bbox(ext)) if ext else [-180.0, -90.0, 180.0, 90.0]
    interval = [iso(ext["armed_at"]), iso(ext["disarmed_at"])] if ext else [None, None]
    return {
        "id": COLLECTION,
        "title": "Patrol flights",
        "description": "One feature per patrol flight: its track and the river stretches it patrolled.",
        "itemType": "feature",
        "crs": [CRS84],
        "extent": {
            "spatial": {"bbox": [bbox], "crs": CRS84},
            "temporal": {"interval": [interval], "trs": TRS},
        },
        "links": [
            {"href": f"{b}/ogc/collections/{COLLECTION}", "rel": "self", "type": "application/json"},
            {"href": f"{b}/ogc/collections/{COLLECTION}/items", "rel": "items", "type": GEOJSON,
             "title": "Flight tracks"},
        ],
    }  # fmt: skip


@router.get(f"/collections/{COLLECTION}", summary="The flights collection", description="Extent, CRS, links.")
def collection(request: Request, f: _F = None) -> Response:
    if (err := _check_f(f)) is not None:
        return err
    return FastJSON(flights_collection(request))


@router.get(
    f"/collections/{COLLECTION}/items",
    summary="Flight features",
    description=(
        "GeoJSON FeatureCollection of flight tracks, ordered by take-off. `bbox` (CRS84) keeps the"
        " flights whose track box meets it; `datetime` matches the take-off; `limit` defaults to 10"
        " and is capped at 10000."
    ),
    responses={200: {"content": {GEOJSON: {}}}, 400: {}},
)
def items(
    request: Request,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat")] = None,
    datetime_: Annotated[str | None, Query(alias="datetime")] = None,
    limit: Annotated[int, Query(ge=1)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0)] = 0,
    crs: Annotated[str | None, Query(description="Output CRS: CRS84 (default), gcj02 or bd09.")] = None,
    f: _F = None,
) -> Response:
    if (err := _check_f(f)) is not None:
        return err
    limit = min(limit, MAX_LIMIT)
    try:
        start, end = parse_datetime(datetime_)
        box = parse_bbox(bbox)
        tf = transform_for(crs)
    except ParamError as e:
        return problem(400, str(e))
    store = request.app.state.store  # the page alone is read, filtered by the stored track boxes
    rows = store.list_flights(start, end, limit, bbox=box, offset=offset)
    page = [flight_feature(r, tf) for r in rows]
    return items_page(request, COLLECTION, page, store.count_flights(start, end, box), offset, limit)


@router.get(f"/collections/{COLLECTION}/items/{{feature_id}}", summary="One flight feature")
def item(request: Request, feature_id: str, crs: str | None = None, f: _F = None) -> Response:
    err, tf = format_and_crs(f, crs)
    if err is not None:
        return err
    row = request.app.state.store.get_flight(feature_id)
    return item_response(request, COLLECTION, feature_id, flight_feature(row, tf) if row else None)
