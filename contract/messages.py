"""Wire messages (pydantic v2). JSON Schema is generated from these models, never hand-written.

One physical debris item is one *alert* (``alert_id``). Its life is a sequence of *events*:
``new`` once the on-board tracker confirms it, ``update`` on a better view or re-sighting,
``end`` when the track closes. ``(alert_id, revision)`` identifies an event exactly and is the
idempotency key end to end; a consumer keeps the highest revision it has seen.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal, TypeVar
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from contract import SCHEMA_VERSION


class DebrisClass(StrEnum):
    """What the detector reports. Order is the model's class index order."""

    BOTTLE = "bottle"
    BAG = "bag"
    FOAM = "foam"
    STYROFOAM = "styrofoam"
    VEGETATION = "vegetation"


DEBRIS_CLASSES: tuple[str, ...] = tuple(c.value for c in DebrisClass)


class AlertEvent(StrEnum):
    NEW = "new"
    UPDATE = "update"
    END = "end"


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TrackStats(_Wire):
    """How the tracker saw the item: enough for a reviewer to judge the find."""

    sightings: int = Field(ge=1, description="Frames in which the item was detected.")
    passes: int = Field(default=1, ge=1, description="Separate passes (or drones) that re-sighted it.")
    first_seen: datetime
    last_seen: datetime
    top_score: float = Field(ge=0, le=1)
    median_score: float = Field(ge=0, le=1)


class Drift(_Wire):
    """How the item moved on the water while the drone watched it: the current carries debris
    (0.1-1 m/s on a city river, either way on a tidal one), so where it was seen is not where it
    is minutes later. ``contract.drift.where_now`` extrapolates it."""

    east_mps: float = Field(ge=-10, le=10)
    north_mps: float = Field(ge=-10, le=10)
    sigma_mps: float = Field(ge=0, le=10, description="1-sigma error of each component, m/s.")
    over_s: float = Field(gt=0, description="Time between the first and last fixes it rests on, s.")

    @property
    def speed_mps(self) -> float:
        return math.hypot(self.east_mps, self.north_mps)

    @property
    def toward_deg(self) -> float:
        """The compass bearing it drifts toward, degrees clockwise from north in [0, 360)."""
        return math.degrees(math.atan2(self.east_mps, self.north_mps)) % 360.0


class Alert(_Wire):
    """One event in the life of one debris find, as published by a drone."""

    schema_version: Literal[1] = SCHEMA_VERSION
    alert_id: UUID = Field(description="Identifies the physical item; stable across its events.")
    revision: int = Field(ge=0, description="0 for `new`, then +1 per event of this alert.")
    event: AlertEvent
    drone_id: str = Field(min_length=1, max_length=64)
    mission_id: str = Field(min_length=1, max_length=64)
    captured_at: datetime = Field(description="Capture time of the best frame (UTC).")
    published_at: datetime = Field(description="When the drone published this event (UTC).")
    lat: float = Field(ge=-90, le=90, description="WGS84 latitude of the item, degrees.")
    lon: float = Field(ge=-180, le=180, description="WGS84 longitude of the item, degrees.")
    uncertainty_m: float = Field(ge=0, description="Radius (m) holding the item with ~95% confidence.")
    debris_class: DebrisClass
    confidence: float = Field(ge=0, le=1)
    track: TrackStats
    thumbnail_jpeg: str | None = Field(
        default=None, description="Base64 JPEG crop of the item from its best frame."
    )
    context_jpeg: str | None = Field(default=None, description="Base64 small JPEG of the whole best frame.")
    drift: Drift | None = Field(
        default=None,
        description="Its velocity on the water at ``track.last_seen``; None where the fixes could not"
        " tell it (a glimpse) or the sender does not say.",
    )


#: The longest autopilot warning text on the wire (a STATUSTEXT is 50 bytes; chunked ones run longer).
MAX_WARNING_CHARS = 200


class Telemetry(_Wire):
    """1 Hz summary of a drone's state for the fleet dashboard."""

    schema_version: Literal[1] = SCHEMA_VERSION
    drone_id: str
    time: datetime
    lat: float
    lon: float
    alt_rel_m: float
    heading_deg: float
    groundspeed_mps: float
    battery_pct: float | None
    gps_fix: int
    satellites: int
    mode: str
    armed: bool
    mission_item: int | None = None
    mission_count: int | None = None
    link_ok: bool = True
    outbox_backlog: int = 0
    alerts_this_flight: int = 0
    #: The camera as the agent sees it: "ok", "ended" or "no frame for N s" (a drone that flies on
    #: while its camera is gone finds nothing); None where the sender does not say.
    camera: str | None = Field(default=None, max_length=64)
    detect_fps: float | None = Field(default=None, ge=0, description="Frames detected per second, last 5 s.")
    #: The autopilot's latest warning (STATUSTEXT of WARNING severity or worse: a fence breach, a
    #: failsafe) while it is recent, so a fleet view shows it without anyone following the flight.
    warning: str | None = Field(default=None, max_length=MAX_WARNING_CHARS)
    #: The flight controller's hardware id (AUTOPILOT_VERSION's uid, hex: ``contract.mavlink
    #: .board_id``): a station talking to a vehicle tells which agent rides on it by this, even
    #: with drones side by side. None until the autopilot said it, or where the sender does not.
    board_id: str | None = Field(default=None, max_length=36, pattern=r"^[0-9a-f]+$")
    #: The autopilot's estimate of the wind where the drone flies (ArduPilot's WIND): what an
    #: operator weighs against the wind the patrol was planned for. None where it does not say.
    wind_mps: float | None = Field(default=None, ge=0, le=100)
    wind_from_deg: float | None = Field(default=None, ge=0, lt=360, description="Where it blows from.")


class DroneStatus(_Wire):
    """Retained per-drone status; the broker publishes ``online=False`` as the last will."""

    schema_version: Literal[1] = SCHEMA_VERSION
    drone_id: str
    online: bool
    time: datetime | None = None
    reason: str | None = None


#: The most track points a flight carries (a point each 5 m: 25 km of patrol).
MAX_FLIGHT_POINTS = 5000
Lon = Annotated[float, Field(ge=-180, le=180)]
Lat = Annotated[float, Field(ge=-90, le=90)]


#: The most autopilot warnings a flight carries.
MAX_FLIGHT_WARNINGS = 100


class FlightWarning(_Wire):
    """What the autopilot warned of in flight: a fence breach, a failsafe (its STATUSTEXT)."""

    at: AwareDatetime
    text: str = Field(min_length=1, max_length=MAX_WARNING_CHARS)


class FlightMode(_Wire):
    """A flight mode the vehicle flew, from when (the last one: how it came home)."""

    at: AwareDatetime
    mode: str = Field(min_length=1, max_length=32)


class Flight(_Wire):
    """One patrol flight as the ground station logged it, for the cloud: which stretches were
    patrolled and when, finds or none (a clean stretch is a result too). Posted by the station's
    relay to ``/api/v1/flights``; ``flight_id`` makes a repeat harmless."""

    schema_version: Literal[1] = SCHEMA_VERSION
    flight_id: str = Field(
        min_length=1, max_length=128, pattern=r"^[\w.-]+$", description="Vehicle and take-off time."
    )
    vehicle: str = Field(min_length=1, max_length=64)
    armed_at: AwareDatetime = Field(description="Take-off (armed).")
    disarmed_at: AwareDatetime = Field(description="Landed (disarmed).")
    distance_m: float = Field(ge=0)
    max_alt_m: float | None = None
    battery_used_pct: float | None = None
    mission_count: int = Field(ge=0, description="Items of the mission flown.")
    waypoints_reached: list[int] = Field(default_factory=list, max_length=MAX_FLIGHT_POINTS)
    track: list[tuple[Lon, Lat]] = Field(
        min_length=2, max_length=MAX_FLIGHT_POINTS, description="WGS84 (lon, lat) points along the flight."
    )
    warnings: list[FlightWarning] = Field(
        default_factory=list,
        max_length=MAX_FLIGHT_WARNINGS,
        description="The autopilot's warnings in flight (fence breaches, failsafes), in order.",
    )
    modes: list[FlightMode] = Field(
        default_factory=list,
        max_length=MAX_FLIGHT_WARNINGS,
        description="The flight modes flown from take-off, in order (the drone's record carries them to"
        " the station's logbook and the cloud, which says how it came home; a cloud from before them"
        " is sent the flight without them).",
    )

    @model_validator(mode="after")
    def _lands_after_take_off(self) -> Flight:
        if self.disarmed_at < self.armed_at:
            raise ValueError(f"disarmed_at {self.disarmed_at} is before armed_at {self.armed_at}")
        return self


#: Where a ground station reads the closer looks inspectors asked of its finds (station token).
LOOK_REQUESTS_PATH = "/api/v1/look-requests"


class LookRequest(BaseModel):
    """An inspector's request for a closer look at a find, as the cloud hands it to the station
    that relayed the find (``GET LOOK_REQUESTS_PATH``): where to send a drone, what is there, who
    asked and why. Open until a photo of the item taken after the station read it reaches the cloud. Fields
    a newer cloud adds are ignored: a station reads what it knows."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    alert_id: UUID
    debris_class: str = Field(min_length=1, max_length=32)
    lat: Lat
    lon: Lon
    drone_id: str = Field(min_length=1, max_length=64, description="The drone that found it.")
    asked_by: str = Field(min_length=1, max_length=128)
    asked_at: AwareDatetime
    note: str = Field(default="", max_length=500)
    last_seen: AwareDatetime | None = Field(
        default=None,
        description="When a drone last saw it there: debris drifts with the current, so a place seen"
        " long ago may be far from where it is now.",
    )
    drift: Drift | None = Field(
        default=None, description="How it was drifting then, where a drone could tell (``Alert.drift``)."
    )


class LookRequests(BaseModel):
    """The open closer-look requests for one station's finds, oldest first."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    items: list[LookRequest]


def where_invalid(exc: ValidationError) -> str:
    """Where a payload first breaks the contract and how, and how many ways it does: what a
    component that rejects a message says of it (``track.hits: Input should be ...``)."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "payload"
    return f"{where}: {first['msg']} ({exc.error_count()} error(s))"


W = TypeVar("W", bound=BaseModel)


def validate_from_newer(model: type[W], payload: bytes | str) -> tuple[W, list[str]]:
    """``model`` from a payload a newer sender may have written, and the top-level fields this
    version does not know, which are left out: for a view of a drone's state (its telemetry), where
    a station older than its drones should still show them. Anything else wrong raises
    ``ValidationError`` as ever; records (alerts, flights) are never read this way."""
    try:
        return model.model_validate_json(payload), []
    except ValidationError as e:
        errors = e.errors()
        if not all(err["type"] == "extra_forbidden" and len(err["loc"]) == 1 for err in errors):
            raise
        data = json.loads(payload)
        unknown = [str(err["loc"][0]) for err in errors]
        return model.model_validate({k: v for k, v in data.items() if k not in unknown}), unknown


def json_schemas() -> dict[str, dict]:
    """JSON Schema of every wire message, keyed by model name."""
    return {m.__name__: m.model_json_schema() for m in (Alert, Telemetry, DroneStatus, Flight, LookRequests)}
