"""``/api/v1/alerts`` (ingest and read) and ``/api/v1/thumbnails``."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import TypeAdapter

from cloud.api import auth
from cloud.api.features import drift_of, event, feature, iso
from cloud.api.models import AlertPage, AlertSummary, ErrorResponse, IngestResponse, LookBody
from cloud.api.params import ParamError, parse_bbox, parse_instant, parse_list
from cloud.api.responses import FastJSON, problem
from cloud.api.validation import AlertBatch, BatchError, parse_batch
from cloud.storage import IngestPolicy, ItemQuery, storage_errors
from cloud.storage.items import LookRefused, ThumbnailError, prepare
from cloud.workorders import STATUSES
from contract.messages import DEBRIS_CLASSES, LOOK_REQUESTS_PATH, Alert, LookRequests

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["alerts"])

_ERR = {"model": ErrorResponse}


def ingest_policy(request: Request) -> IngestPolicy:
    """Built once per app: segment lookup, review rules and merge radius from settings."""
    st = request.app.state
    pol = getattr(st, "ingest_policy", None)
    if pol is None:
        s = st.settings
        reviewed = frozenset(c.id for c in s.segments if c.review_required)
        pol = IngestPolicy(
            merge_radius_m=s.merge_radius_m,
            segment_for=st.segments.locate,
            review_required=lambda seg: seg in reviewed,
        )
        st.ingest_policy = pol
    return pol


def request_schema() -> dict:
    """OpenAPI request body: a bare list of contract Alerts, or ``{"alerts": [...]}``."""
    ref = "#/components/schemas/{model}"
    lst = TypeAdapter(list[Alert]).json_schema(ref_template=ref)
    obj = TypeAdapter(AlertBatch).json_schema(ref_template=ref)
    lst.pop("$defs", None)
    obj.pop("$defs", None)
    return {"oneOf": [lst, {"$ref": ref.format(model="AlertBatch")}]}


def openapi_components() -> dict:
    """Schemas that :func:`request_schema` refers to."""
    ref = "#/components/schemas/{model}"
    obj = TypeAdapter(AlertBatch).json_schema(ref_template=ref)
    defs = obj.pop("$defs", {})
    return {**defs, "AlertBatch": obj}


@router.post(
    "/alerts",
    summary="Ingest a batch of alerts",
    description=(
        "Ground stations post contract `Alert` events (schema_version 1) as a JSON list or "
        '`{"alerts": [...]}`. Idempotent by `(alert_id, revision)`: a repeat is acknowledged and '
        "counted as a duplicate. A higher revision updates the item; a lower one never regresses it. "
        "All-or-nothing: one invalid alert refuses the whole batch with every bad field named "
        "(`alerts[3].lat: ...`). Needs a station bearer token."
    ),
    response_model=IngestResponse,
    responses={400: _ERR, 401: _ERR, 403: _ERR, 413: _ERR, 422: _ERR, 503: _ERR},
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {}}}}},
)
async def ingest(request: Request, who: Annotated[auth.Principal, Depends(auth.station)]) -> Response:
    st = request.app.state
    t0 = time.perf_counter()
    body = await request.body()
    if len(body) > st.settings.max_body_bytes:
        st.metrics.rejected.labels("too_large").inc()
        return problem(413, f"body: {len(body)} bytes exceed the limit of {st.settings.max_body_bytes}")
    policy = ingest_policy(request)
    now = time.time()
    max_thumb = st.settings.max_thumbnail_bytes

    def work():
        alerts = parse_batch(body, st.settings.max_batch)
        prepared = [prepare(a, who.name, now, f"alerts[{i}]", max_thumb) for i, a in enumerate(alerts)]
        return len(alerts), st.store.ingest(prepared, policy, now)

    try:
        received, res = await run_in_threadpool(work)
    except BatchError as e:
        st.metrics.rejected.labels("invalid").inc()
        log.warning(
            "alert batch rejected", extra={"station": who.name, "errors": e.total, "first": e.errors[0]}
        )
        return problem(e.status, str(e), e.errors, error_count=e.total)
    except ThumbnailError as e:
        st.metrics.rejected.labels("thumbnail").inc()
        log.warning("alert batch rejected", extra={"station": who.name, "first": str(e)})
        return problem(422, str(e), [str(e)], error_count=1)
    except storage_errors() as e:  # the database failed (disk full, server gone): nothing was stored
        st.metrics.rejected.labels("storage").inc()
        log.error("alert batch not stored", extra={"station": who.name, "error": str(e)})
        why = f"storage unavailable, nothing stored; retry later: {e}"
        resp = problem(503, why, [why], error_count=1)
        resp.headers["Retry-After"] = "5"
        return resp
    base = st.settings.public_url
    for kind, row in res.changes:
        # a closer look an inspector asked for came in with this batch: they are paged
        taken = {"look_taken": True} if row.get("look_done_at") == now else {}
        st.bus.publish(event(kind, row, base, **taken))
    m = st.metrics
    m.ingested.inc(res.accepted)
    m.duplicates.inc(res.duplicates)
    m.stale.inc(res.stale)
    m.merged.inc(res.merged)
    m.ingest_latency.observe(time.perf_counter() - t0)
    if res.accepted:
        log.info(
            "alerts ingested",
            extra={
                "station": who.name,
                "received": received,
                "accepted": res.accepted,
                "duplicates": res.duplicates,
                "new_items": res.new_items,
            },
        )
    return FastJSON(
        {
            "received": received,
            "accepted": res.accepted,
            "duplicates": res.duplicates,
            "stale": res.stale,
            "new_items": res.new_items,
            "merged": res.merged,
        }
    )


def summary(row: dict, base: str = "") -> dict:
    f = feature(row, base)
    lon, lat = f["geometry"]["coordinates"]
    return {"id": f["id"], "lat": lat, "lon": lon, **f["properties"]}


@router.get(
    "/alerts",
    summary="List debris items",
    description="Items (one per find, latest revision), filtered and paged; `next` links the next page.",
    response_model=AlertPage,
    responses={400: _ERR},
)
def list_alerts(
    request: Request,
    river: Annotated[str | None, Query(description="River id, e.g. `shenzhen`.")] = None,
    segment: Annotated[str | None, Query(description="Segment id, e.g. `shenzhen-3`.")] = None,
    since: Annotated[str | None, Query(description="Seen at or after (RFC 3339).")] = None,
    until: Annotated[str | None, Query(description="Seen at or before (RFC 3339).")] = None,
    status: Annotated[
        str | None, Query(description="Comma-separated statuses.", examples=["new,confirmed"])
    ] = None,
    cls: Annotated[str | None, Query(alias="class", description="Comma-separated debris classes.")] = None,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat (WGS84).")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    try:
        q = ItemQuery(
            bbox=parse_bbox(bbox),
            start=parse_instant(since, "since") if since else None,
            end=parse_instant(until, "until") if until else None,
            status=parse_list(status, STATUSES, "status"),
            classes=parse_list(cls, DEBRIS_CLASSES, "class"),
            river=river,
            segment=segment,
            limit=limit,
            offset=offset,
        )
    except ParamError as e:
        return problem(400, str(e))
    rows, total = request.app.state.store.query_items(q)
    base = request.app.state.settings.public_url
    nxt = None
    if offset + len(rows) < total:
        params = {k: v for k, v in request.query_params.items() if k != "offset"}
        params["offset"] = str(offset + len(rows))
        nxt = f"{request.url.path}?{urlencode(params)}"
    return FastJSON(
        {
            "items": [summary(r, base) for r in rows],
            "total": total,
            "limit": limit,
            "offset": offset,
            "next": nxt,
        }
    )


@router.get(
    "/alerts/{alert_id}", summary="One debris item", response_model=AlertSummary, responses={404: _ERR}
)
def get_alert(request: Request, alert_id: Annotated[str, Path(description="Alert id (UUID).")]) -> Response:
    row = request.app.state.store.get_item(alert_id)
    if row is None:
        return problem(404, f"alert {alert_id} not found")
    return FastJSON(summary(row, request.app.state.settings.public_url))


@router.post(
    "/alerts/{alert_id}/look",
    summary="Ask for a closer look at a find",
    description=(
        "An inspector asks the drone operators to fly down to a find for a better photo (what is it? how"
        " big?). The station that relayed the find sees the request at `GET /api/v1/look-requests`; it"
        " is done when a photo of the item taken after the station read it arrives. Asking again while"
        " it is open keeps the first request. 409 once the find's work order is closed. Needs an"
        " inspector bearer token."
    ),
    response_model=AlertSummary,
    responses={401: _ERR, 403: _ERR, 404: _ERR, 409: _ERR},
)
async def ask_look(
    request: Request,
    alert_id: Annotated[str, Path(description="Alert id (UUID).")],
    who: Annotated[auth.Principal, Depends(auth.inspector)],
    body: LookBody | None = None,
) -> Response:
    st = request.app.state
    note = (body or LookBody()).note.strip()
    done = await _look_change(st.store.ask_look, alert_id, who.name, note)
    if isinstance(done, Response):
        return done
    row, asked = done
    if asked:
        st.metrics.looks_asked.inc()
        log.info("closer look asked", extra={"alert": alert_id, "actor": who.name, "note": note})
        st.bus.publish(event("alert.updated", row, st.settings.public_url))
    return FastJSON(summary(row, st.settings.public_url))


@router.post(
    "/alerts/{alert_id}/look/missed",
    summary="The operators did not find a find they flew to",
    description=(
        "A station's operators flew to a find an inspector asked a closer look at and did not find it"
        " there (it drifted on, sank, was taken out): the request is done without a photo"
        " (`look_outcome` `not_found`, `look_answer` their words), and the inspector who asked is"
        " paged. 409 when no request of it is open. Needs a station bearer token."
    ),
    response_model=AlertSummary,
    responses={401: _ERR, 403: _ERR, 404: _ERR, 409: _ERR},
)
async def look_missed(
    request: Request,
    alert_id: Annotated[str, Path(description="Alert id (UUID).")],
    who: Annotated[auth.Principal, Depends(auth.station)],
    body: LookBody | None = None,
) -> Response:
    st = request.app.state
    answer = (body or LookBody()).note.strip()
    row = await _look_change(st.store.look_missed, alert_id, who.name, answer)
    if isinstance(row, Response):
        return row
    log.info("closer look not found", extra={"alert": alert_id, "station": who.name, "answer": answer})
    st.bus.publish(event("alert.updated", row, st.settings.public_url, look_missed=True))
    return FastJSON(summary(row, st.settings.public_url))


async def _look_change(
    change: Callable[[str, str, str, float], Any], alert_id: str, actor: str, text: str
) -> Any:
    """A store's change to a find's closer look (``ask_look``, ``look_missed``) off the event loop:
    what it returns, or the answer for an unknown find (404) or a change it refuses (409)."""
    try:
        return await run_in_threadpool(change, alert_id, actor, text, time.time())
    except KeyError:
        return problem(404, f"alert {alert_id} not found")
    except LookRefused as e:
        return problem(409, str(e))


@router.get(
    LOOK_REQUESTS_PATH.removeprefix("/api/v1"),
    summary="Closer looks asked of this station's finds",
    description=(
        "The open requests for a closer look at finds this station relayed, oldest first: where, what,"
        " how the current was carrying it when last seen (`drift`, null where no drone could tell),"
        " which drone found it, who asked and why. The first read of each is the inspector's receipt"
        " (`look_seen_at`, `look_seen_by` on the find). Needs a station bearer token."
    ),
    response_model=LookRequests,
    responses={401: _ERR, 403: _ERR},
)
def look_requests(request: Request, who: Annotated[auth.Principal, Depends(auth.station)]) -> Response:
    st = request.app.state
    rows = st.store.open_looks(who.name)
    unseen = [r["alert_id"] for r in rows if r["look_seen_at"] is None]
    for row in st.store.looks_seen(unseen, who.name, time.time()):  # the inspector's receipt, live
        st.bus.publish(event("alert.updated", row, st.settings.public_url))
    return FastJSON({"items": [look_request(r) for r in rows]})


def look_request(row: dict) -> dict:
    """One open request as the contract's ``LookRequest``."""
    return {
        "alert_id": row["alert_id"],
        "debris_class": row["debris_class"],
        "lat": row["lat"],
        "lon": row["lon"],
        "drone_id": row["drone_id"],
        "asked_by": row["look_asked_by"],
        "asked_at": iso(row["look_asked_at"]),
        "note": row["look_note"] or "",
        "last_seen": iso(row["last_seen"]),
        "drift": drift_of(row),  # the station flies to where the current has carried it since
    }


@router.get(
    "/thumbnails/{sha256}.jpg",
    summary="Thumbnail JPEG by content hash",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 404: _ERR},
)
def thumbnail(request: Request, sha256: Annotated[str, Path(pattern="^[0-9a-f]{64}$")]) -> Response:
    data = request.app.state.store.get_thumbnail(sha256)
    if data is None:
        return problem(404, f"thumbnail {sha256} not found")
    return Response(
        data,
        media_type="image/jpeg",
        headers={"Cache-Control": "public, max-age=31536000, immutable", "ETag": f'"{sha256}"'},
    )
