"""Response models: they document the API (OpenAPI) and pin its shape in tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

#: The oldest ``done_at`` an action may carry (a phone that queued it without signal for days).
DONE_AT_MAX_AGE_S = 7 * 86400
#: How far ahead of the server's clock a phone's ``done_at`` may be (clocks drift).
DONE_AT_MAX_AHEAD_S = 300


class IngestResponse(BaseModel):
    """What happened to each alert of a batch."""

    received: int = Field(description="Alerts in the request.")
    accepted: int = Field(description="New (alert_id, revision) events stored.")
    duplicates: int = Field(description="Events already stored: acknowledged, not stored again.")
    stale: int = Field(description="Accepted events older than the stored item: recorded, item unchanged.")
    new_items: int = Field(description="Finds that opened a new work order.")
    merged: int = Field(description="New finds merged into an open work order nearby.")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"received": 3, "accepted": 2, "duplicates": 1, "stale": 0, "new_items": 1, "merged": 1}
            ]
        }
    }


class ErrorResponse(BaseModel):
    detail: str = Field(examples=["alerts[3].lat: Input should be less than or equal to 90"])
    errors: list[str] = Field(default_factory=list, description="Every offending field, named by its path.")


class Geometry(BaseModel):
    type: str = Field(examples=["Point"])
    coordinates: list[float] = Field(examples=[[114.0632, 22.5205]])


class DebrisProperties(BaseModel):
    """Properties of one debris item in the CIM layer."""

    model_config = {"extra": "allow", "populate_by_name": True}
    class_: str = Field(alias="class", examples=["bottle"])
    confidence: float
    status: str = Field(examples=["new"], description="new|confirmed|dispatched|on_site|cleared|false_alarm")
    first_seen: str
    last_seen: str
    sightings: int
    drone: str
    mission: str
    segment: str | None
    river: str | None
    thumbnail: str | None = Field(description="URL of the best thumbnail JPEG.")
    workorder_id: str
    merged_into: str | None = Field(description="Alert id of the order this find was merged into.")
    cleared_at: str | None
    cleared_by: str | None
    cleared_photo: str | None = Field(None, description="URL of the inspector's photo of the cleared spot.")
    cleared_note: str | None = Field(
        None, description="What the closing inspector said: for a false alarm, what it was."
    )
    look_asked_at: str | None = Field(
        None, description="When an inspector last asked the drone operators for a closer look at it."
    )
    look_asked_by: str | None = Field(None, description="Who asked for that closer look.")
    look_note: str | None = Field(None, description="What they wanted seen.")
    look_done_at: str | None = Field(
        None,
        description="When a photo of it taken after the station read the request arrived; null till then.",
    )
    look_seen_at: str | None = Field(
        None,
        description="When the ground station that relayed it first read the request (the operators have it).",
    )
    look_seen_by: str | None = Field(None, description="That ground station.")
    look_outcome: str | None = Field(
        None,
        description="How it ended: `photo` (one came in) or `not_found` (the operators did not find it).",
    )
    look_answer: str | None = Field(None, description="What the operators said when they did not find it.")
    drift_east_mps: float | None = Field(
        None,
        description="Its drift on the water when last seen, east component (m/s); null where no drone"
        " could tell. Debris moves with the current: it is likely `drift * (now - last_seen)` from the"
        " point (for half an hour at most; `contract.drift.where_now`).",
    )
    drift_north_mps: float | None = Field(None, description="North component of that drift (m/s).")
    drift_sigma_mps: float | None = Field(None, description="1-sigma error of each component (m/s).")
    drift_over_s: float | None = Field(None, description="Time the fixes it rests on span (s).")
    drift_speed_mps: float | None = Field(None, description="Speed of that drift (m/s).")
    drift_toward_deg: float | None = Field(
        None, description="Where it drifts toward, degrees clockwise from north; null when it does not move."
    )


class DebrisFeature(BaseModel):
    type: str = Field(examples=["Feature"])
    id: str
    geometry: Geometry
    properties: DebrisProperties
    links: list[dict[str, Any]] | None = None


class Link(BaseModel):
    href: str
    rel: str
    type: str | None = None
    title: str | None = None


class DebrisCollection(BaseModel):
    type: str = Field(examples=["FeatureCollection"])
    features: list[DebrisFeature]
    numberMatched: int
    numberReturned: int
    timeStamp: str
    links: list[Link]


class AlertSummary(BaseModel):
    """A debris item as flat JSON (``/api/v1/alerts``): the Feature's properties plus id/lat/lon."""

    model_config = {"extra": "allow"}
    id: str
    lat: float
    lon: float
    status: str
    class_: str = Field(alias="class")


class AlertPage(BaseModel):
    items: list[AlertSummary]
    total: int
    limit: int
    offset: int
    next: str | None = Field(description="URL of the next page, absent on the last.")


class WorkOrderOut(BaseModel):
    model_config = {"extra": "allow"}
    id: str
    status: str
    debris_class: str
    lat: float
    lon: float
    segment_id: str | None
    finds: int


class WorkOrderPage(BaseModel):
    items: list[WorkOrderOut]
    total: int
    limit: int
    offset: int


class ActionBody(BaseModel):
    """Who acts, and optional detail."""

    actor: str | None = Field(default=None, description="Inspector name; defaults to the token's inspector.")
    note: str = Field(
        default="",
        max_length=2000,
        description="Why, in the inspector's words: a hand-back's reason (paged to the others), what a "
        "false alarm was, or a word on a clearing; a closing move keeps it as `cleared_note`.",
    )
    assignee: str | None = Field(default=None, description="For `dispatch`: who goes (default: actor).")
    outcome: str = Field(default="cleared", description="For `clear`: `cleared` or `false_alarm`.")
    done_at: datetime | None = Field(
        default=None,
        description="When the inspector did it, if before this request (an action a phone queued without "
        f"signal): at most {DONE_AT_MAX_AGE_S // 86400} days ago, not in the future. Default: now.",
    )
    photo_jpeg: str | None = Field(
        default=None,
        description="For `clear`: base64 JPEG the inspector took of the spot, kept as the order's "
        "`cleared_photo` (at most the server's `max_photo_bytes`, 4 MiB by default).",
    )


class LookBody(BaseModel):
    """What the inspector wants seen: shown to the drone operators with the request."""

    note: str = Field(
        default="",
        max_length=500,
        description='What to look at, in the inspector\'s words ("is it a bag or foam?", "how big?").',
    )
