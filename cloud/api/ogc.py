"""The CIM debris layer as OGC API – Features Part 1 (Core, GeoJSON, OpenAPI 3.0) under ``/ogc``.

Any OGC client (QGIS, ArcGIS, a city CIM platform) can page through ``debris`` (and ``flights``,
:mod:`cloud.api.ogc_flights`) with ``bbox``,
``datetime``, ``limit``/``offset``; storage stays WGS84 (CRS84) and ``?crs=gcj02|bd09``
re-projects on the way out for Chinese base maps.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response

from cloud.api.features import Transform, feature, iso
from cloud.api.models import DebrisCollection, DebrisFeature, ErrorResponse
from cloud.api.params import ParamError, parse_bbox, parse_datetime, parse_list
from cloud.api.responses import GEOJSON, FastJSON, GeoJSON, problem
from cloud.storage import ItemQuery
from cloud.workorders import STATUSES
from contract.messages import DEBRIS_CLASSES

router = APIRouter(prefix="/ogc", tags=["OGC API – Features"])

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
COLLECTION = "debris"
DEFAULT_LIMIT, MAX_LIMIT = 10, 10_000
_ERR = {"model": ErrorResponse}
_F = Annotated[str | None, Query(description="Output format; only `json` is offered.")]


def _base(request: Request) -> str:
    return request.app.state.settings.public_url or str(request.base_url).rstrip("/")


def _check_f(f: str | None) -> Response | None:
    if f not in (None, "json", "geojson"):
        return problem(400, f"f: format {f!r} is not offered; use f=json")
    return None


def transform_for(crs: str | None) -> Transform | None:
    """Output transform for ``?crs=``; ``None`` for WGS84. ``ParamError`` for unknown names."""
    if crs is None or crs.lower() in ("", "wgs84", "crs84", CRS84.lower(), "epsg:4326"):
        return None
    from cloud import coords

    name = crs.lower().replace("-", "")
    if name not in coords.FROM_WGS84:
        raise ParamError(f"crs: {crs!r} not one of CRS84, wgs84, gcj02, bd09")
    conv = coords.FROM_WGS84[name]
    return lambda lon, lat: conv(lon, lat)


@router.get("", summary="Landing page", description="Links to the API definition, conformance and data.")
def landing(request: Request, f: _F = None) -> Response:
    if (err := _check_f(f)) is not None:
        return err
    b = _base(request)
    return FastJSON(
        {
            "title": "RiverPatrol CIM debris layer",
            "description": "Floating debris found by patrol drones, with clean-up status.",
            "links": [
                {"href": f"{b}/ogc", "rel": "self", "type": "application/json", "title": "This document"},
                {
                    "href": f"{b}/openapi.json",
                    "rel": "service-desc",
                    "type": "application/vnd.oai.openapi+json;version=3.0",
                    "title": "API definition",
                },
                {
                    "href": f"{b}/docs",
                    "rel": "service-doc",
                    "type": "text/html",
                    "title": "API documentation",
                },
                {
                    "href": f"{b}/ogc/conformance",
                    "rel": "conformance",
                    "type": "application/json",
                    "title": "Conformance classes",
                },
                {
                    "href": f"{b}/ogc/collections",
                    "rel": "data",
                    "type": "application/json",
                    "title": "Collections",
                },
            ],
        }
    )


@router.get("/conformance", summary="Conformance classes")
def conformance(f: _F = None) -> Response:
    if (err := _check_f(f)) is not None:
        return err
    return FastJSON({"conformsTo": CONFORMANCE})


def _collection(request: Request) -> dict[str, Any]:
    b = _base(request)
    spatial, temporal = request.app.state.store.extent()
    return {
        "id": COLLECTION,
        "title": "Floating debris",
        "description": "One feature per debris find; status follows its work order.",
        "itemType": "feature",
        "crs": [CRS84],
        "extent": {
            "spatial": {"bbox": [list(spatial) if spatial else [-180, -90, 180, 90]], "crs": CRS84},
            "temporal": {
                "interval": [[iso(temporal[0]), iso(temporal[1])] if temporal else [None, None]],
                "trs": TRS,
            },
        },
        "links": [
            {"href": f"{b}/ogc/collections/{COLLECTION}", "rel": "self", "type": "application/json"},
            {
                "href": f"{b}/ogc/collections/{COLLECTION}/items",
                "rel": "items",
                "type": GEOJSON,
                "title": "Debris items",
            },
        ],
    }


@router.get("/collections", summary="Feature collections")
def collections(request: Request, f: _F = None) -> Response:
    from cloud.api.ogc_flights import flights_collection  # it builds on this module

    if (err := _check_f(f)) is not None:
        return err
    b = _base(request)
    return FastJSON(
        {
            "links": [{"href": f"{b}/ogc/collections", "rel": "self", "type": "application/json"}],
            "collections": [_collection(request), flights_collection(request)],
        }
    )


@router.get(f"/collections/{COLLECTION}", summary="The debris collection", description="Extent, CRS, links.")
def collection(request: Request, f: _F = None) -> Response:
    if (err := _check_f(f)) is not None:
        return err
    return FastJSON(_collection(request))


@router.get(
    f"/collections/{COLLECTION}/items",
    summary="Debris features",
    description=(
        "GeoJSON FeatureCollection, ordered by first sighting. `bbox` (CRS84), `datetime` (instant, "
        "`a/b`, `../b`, `a/..`) matches items seen in the interval; `limit` defaults to 10 and is "
        "capped at 10000; follow the `next` link to page."
    ),
    response_model=DebrisCollection,
    responses={200: {"content": {GEOJSON: {}}}, 400: _ERR},
)
def items(
    request: Request,
    bbox: Annotated[
        str | None, Query(description="minlon,minlat,maxlon,maxlat", examples=["114.0,22.5,114.1,22.53"])
    ] = None,
    datetime_: Annotated[str | None, Query(alias="datetime", examples=["2026-05-01T00:00:00Z/.."])] = None,
    limit: Annotated[
        int, Query(ge=1, description="Default 10; values above 10000 are treated as 10000.")
    ] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0)] = 0,
    status: Annotated[str | None, Query(description="Comma-separated statuses.")] = None,
    cls: Annotated[str | None, Query(alias="class", description="Comma-separated debris classes.")] = None,
    crs: Annotated[str | None, Query(description="Output CRS: CRS84 (default), gcj02 or bd09.")] = None,
    f: _F = None,
) -> Response:
    if (err := _check_f(f)) is not None:
        return err
    limit = min(limit, MAX_LIMIT)
    try:
        start, end = parse_datetime(datetime_)
        q = ItemQuery(
            bbox=parse_bbox(bbox),
            start=start,
            end=end,
            status=parse_list(status, STATUSES, "status"),
            classes=parse_list(cls, DEBRIS_CLASSES, "class"),
            limit=limit,
            offset=offset,
        )
        tf = transform_for(crs)
    except ParamError as e:
        return problem(400, str(e))
    rows, matched = request.app.state.store.query_items(q)
    pub = request.app.state.settings.public_url
    return items_page(request, COLLECTION, [feature(r, pub, tf) for r in rows], matched, offset, limit)


def items_page(
    request: Request, collection: str, features: list[dict[str, Any]], matched: int, offset: int, limit: int
) -> Response:
    """One page of a collection's items: the FeatureCollection with its counts and self, collection,
    next and prev links (the query's other parameters kept)."""
    b = _base(request)
    base_url = f"{b}/ogc/collections/{collection}/items"
    params = {k: v for k, v in request.query_params.items() if k not in ("offset", "limit")}

    def link(rel: str, off: int) -> dict[str, str]:
        return {
            "href": f"{base_url}?{urlencode({**params, 'limit': limit, 'offset': off})}",
            "rel": rel,
            "type": GEOJSON,
        }

    links = [
        link("self", offset),
        {"href": f"{b}/ogc/collections/{collection}", "rel": "collection", "type": "application/json"},
    ]
    if offset + len(features) < matched:
        links.append(link("next", offset + len(features)))
    if offset > 0:
        links.append(link("prev", max(0, offset - limit)))
    return GeoJSON(
        {
            "type": "FeatureCollection",
            "features": features,
            "numberMatched": matched,
            "numberReturned": len(features),
            "timeStamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "links": links,
        }
    )


@router.get(
    f"/collections/{COLLECTION}/items/{{feature_id}}",
    summary="One debris feature",
    response_model=DebrisFeature,
    responses={200: {"content": {GEOJSON: {}}}, 404: _ERR},
)
def item(request: Request, feature_id: str, crs: str | None = None, f: _F = None) -> Response:
    err, tf = format_and_crs(f, crs)
    if err is not None:
        return err
    row = request.app.state.store.get_item(feature_id)
    pub = request.app.state.settings.public_url
    return item_response(request, COLLECTION, feature_id, feature(row, pub, tf) if row else None)


def format_and_crs(f: str | None, crs: str | None) -> tuple[Response | None, Transform | None]:
    """An item request's ``f`` and ``crs``: (the 400 to answer, None) or (None, the output transform)."""
    if (err := _check_f(f)) is not None:
        return err, None
    try:
        return None, transform_for(crs)
    except ParamError as e:
        return problem(400, str(e)), None


def item_response(request: Request, collection: str, feature_id: str, out: dict[str, Any] | None) -> Response:
    """One feature of ``collection`` with its self and collection links, or the 404 naming it."""
    if out is None:
        return problem(404, f"feature {feature_id} not found in {collection}")
    b = _base(request)
    out["links"] = [
        {"href": f"{b}/ogc/collections/{collection}/items/{feature_id}", "rel": "self", "type": GEOJSON},
        {"href": f"{b}/ogc/collections/{collection}", "rel": "collection", "type": "application/json"},
    ]
    return GeoJSON(out)
