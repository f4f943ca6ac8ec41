"""OGC SensorThings API v1.1 connector: debris finds become Observations of drone Datastreams.

Mapping: Thing = a drone (with the Location of its first find), Sensor = the on-board detector
model, ObservedProperty = floating debris, Datastream = one per drone, FeatureOfInterest = one
per debris item (its point; status kept in its properties), Observation = one per find
(result: class and confidence). Entities are found by name before being created and their
``@iot.id`` remembered in the connector's outbox database, so restarts and retries never
duplicate them. The ``*_body`` functions are pure; :class:`SensorThingsConnector` is the HTTP shell.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from cloud.sync.http_status import check
from cloud.sync.outbox import Entry, Outbox
from cloud.sync.worker import PermanentError

OBSERVED_PROPERTY = "floating debris"
OBSERVED_PROPERTY_DEF = "https://riverpatrol.example.org/def/observedProperty/floating-debris"
OM_OBSERVATION = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Observation"
GEOJSON = "application/geo+json"
#: Tries after which a 400/404 on a cached entity id is the request's fault, not a stale cache.
STALE_ID_RETRIES = 2


def _props(feature: dict[str, Any]) -> dict[str, Any]:
    return feature.get("properties") or {}


def _point(feature: dict[str, Any]) -> dict[str, Any]:
    geom = feature.get("geometry") or {}
    if geom.get("type") != "Point" or len(geom.get("coordinates") or []) < 2:
        raise PermanentError(f"feature {feature.get('id')!r} has no Point geometry: {geom!r}")
    return {"type": "Point", "coordinates": list(geom["coordinates"][:2])}


def drone_of(feature: dict[str, Any]) -> str:
    """Which drone saw it; a find without one cannot be placed in a Datastream."""
    p = _props(feature)
    drone = p.get("drone") or p.get("drone_id")
    if not drone:
        raise PermanentError(f"feature {feature.get('id')!r} has no properties.drone")
    return str(drone)


def sensor_body(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "description": "Floating-debris detector (ONNX) running on the drone's companion computer",
        "encodingType": "application/json",
        "metadata": name,
    }


def observed_property_body() -> dict[str, Any]:
    return {
        "name": OBSERVED_PROPERTY,
        "definition": OBSERVED_PROPERTY_DEF,
        "description": "Presence, class and detector confidence of floating debris on a river",
    }


def thing_body(drone_id: str, feature: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": drone_id,
        "description": f"RiverPatrol drone {drone_id}",
        "properties": {"kind": "uav", "system": "riverpatrol"},
        "Locations": [
            {
                "name": f"{drone_id} first find",
                "description": "Where this drone reported its first debris find",
                "encodingType": GEOJSON,
                "location": _point(feature),
            }
        ],
    }


def datastream_name(drone_id: str) -> str:
    return f"{drone_id} floating debris"


def datastream_body(drone_id: str, thing_id: Any, sensor_id: Any, op_id: Any) -> dict[str, Any]:
    return {
        "name": datastream_name(drone_id),
        "description": f"Floating debris finds of drone {drone_id}",
        "observationType": OM_OBSERVATION,
        "unitOfMeasurement": {
            "name": "dimensionless",
            "symbol": "1",
            "definition": "http://qudt.org/vocab/unit/UNITLESS",
        },
        "Thing": {"@iot.id": thing_id},
        "Sensor": {"@iot.id": sensor_id},
        "ObservedProperty": {"@iot.id": op_id},
    }


def foi_properties(feature: dict[str, Any]) -> dict[str, Any]:
    p = _props(feature)
    keys = (
        "status",
        "segment",
        "river",
        "cleared_by",
        "cleared_at",
        "cleared_photo",
        "cleared_note",
        "workorder_id",
    )
    return {k: p[k] for k in keys if p.get(k) is not None}


def foi_body(feature: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": str(feature["id"]),
        "description": f"Floating debris item {feature['id']}",
        "encodingType": GEOJSON,
        "feature": _point(feature),
        "properties": foi_properties(feature),
    }


def observation_body(feature: dict[str, Any], datastream_id: Any, foi_id: Any) -> dict[str, Any]:
    p = _props(feature)
    seen = p.get("last_seen") or p.get("first_seen") or datetime.now(UTC).isoformat()
    return {
        "phenomenonTime": seen,
        "resultTime": p.get("received_at") or seen,
        "result": {"class": p.get("class"), "confidence": p.get("confidence")},
        "parameters": {
            "alert_id": str(feature["id"]),
            "revision": p.get("revision"),
            "uncertainty_m": p.get("uncertainty_m"),
            "segment": p.get("segment"),
        },
        "Datastream": {"@iot.id": datastream_id},
        "FeatureOfInterest": {"@iot.id": foi_id},
    }


_ID_IN_URL = re.compile(r"\((?:'([^']*)'|([^)]*))\)\s*$")


def created_id(resp: httpx.Response) -> Any:
    """``@iot.id`` of a created entity: from the body, else from the Location header."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "@iot.id" in body:
        return body["@iot.id"]
    m = _ID_IN_URL.search(resp.headers.get("location", ""))
    if not m:
        raise ValueError(f"cannot find the new entity's id in {resp.request.url} answer")
    raw = m.group(1) if m.group(1) is not None else m.group(2)
    return int(raw) if raw.isdigit() else raw


def odata_string(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


class SensorThingsConnector:
    """Delivers outbox entries to a SensorThings v1.1 service root."""

    name = "sensorthings"

    def __init__(self, client: httpx.AsyncClient, root: str, outbox: Outbox, sensor_name: str) -> None:
        self.client = client
        self.root = root.rstrip("/")
        self.outbox = outbox
        self.sensor_name = sensor_name

    async def _find(self, entity_set: str, name: str) -> Any | None:
        flt = quote(f"name eq {odata_string(name)}", safe="")
        resp = await self.client.get(f"{self.root}/{entity_set}?$filter={flt}&$top=1")
        check(resp, f"look up {entity_set} {name!r}")
        values = resp.json().get("value") or []
        return values[0]["@iot.id"] if values else None

    async def _ensure(self, entity_set: str, name: str, body: dict[str, Any]) -> Any:
        """Remembered id, else the id of an existing entity by that name, else create one."""
        memo = f"{entity_set}:{name}"
        if (cached := self.outbox.recall(memo)) is not None:
            return _decode_id(cached)
        ident = await self._find(entity_set, name)
        if ident is None:
            resp = await self.client.post(f"{self.root}/{entity_set}", json=body)
            check(resp, f"create {entity_set} {name!r}")
            ident = created_id(resp)
        self.outbox.remember(memo, _encode_id(ident))
        return ident

    async def _datastream(self, feature: dict[str, Any]) -> Any:
        drone = drone_of(feature)
        memo = f"Datastreams:{datastream_name(drone)}"
        if (cached := self.outbox.recall(memo)) is not None:
            return _decode_id(cached)
        sensor = await self._ensure("Sensors", self.sensor_name, sensor_body(self.sensor_name))
        op = await self._ensure("ObservedProperties", OBSERVED_PROPERTY, observed_property_body())
        thing = await self._ensure("Things", drone, thing_body(drone, feature))
        return await self._ensure(
            "Datastreams", datastream_name(drone), datastream_body(drone, thing, sensor, op)
        )

    def _forget_cached(self, feature: dict[str, Any]) -> None:
        drone = _props(feature).get("drone") or _props(feature).get("drone_id")
        for memo in (f"FeaturesOfInterest:{feature['id']}", f"Datastreams:{datastream_name(str(drone))}"):
            self.outbox.forget(memo)

    async def __call__(self, entry: Entry) -> None:
        feature = entry.payload["feature"]
        if "id" not in feature:
            raise PermanentError(f"outbox entry {entry.seq} has a feature without an id")
        try:
            foi = await self._ensure("FeaturesOfInterest", str(feature["id"]), foi_body(feature))
            if entry.kind == "workorder.changed":
                resp = await self.client.patch(
                    f"{self.root}/FeaturesOfInterest({_url_id(foi)})",
                    json={"properties": foi_properties(feature)},
                )
                check(resp, f"update status of {feature['id']}")
                return
            ds = await self._datastream(feature)
            resp = await self.client.post(
                f"{self.root}/Observations", json=observation_body(feature, ds, foi)
            )
            check(resp, f"create Observation of {feature['id']}")
        except PermanentError as exc:
            # A 400/404 right after using cached ids may mean the server lost them: look up afresh.
            if entry.attempts < STALE_ID_RETRIES and re.search(r"HTTP (400|404)", str(exc)):
                self._forget_cached(feature)
                raise RuntimeError(f"{exc} (cached ids dropped, will look up again)") from exc
            raise


def _encode_id(ident: Any) -> str:
    return f"i:{ident}" if isinstance(ident, int) else f"s:{ident}"


def _decode_id(s: str) -> Any:
    return int(s[2:]) if s.startswith("i:") else s[2:]


def _url_id(ident: Any) -> str:
    return str(ident) if isinstance(ident, int) else odata_string(str(ident))
