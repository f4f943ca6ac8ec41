"""A minimal OGC SensorThings v1.1 server for tests: creates, finds by name, patches, records."""

from __future__ import annotations

import itertools
import re
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

SETS = (
    "Things",
    "Locations",
    "Sensors",
    "ObservedProperties",
    "Datastreams",
    "FeaturesOfInterest",
    "Observations",
)
REQUIRED = {
    "Things": ("name", "description"),
    "Sensors": ("name", "description", "encodingType", "metadata"),
    "ObservedProperties": ("name", "definition", "description"),
    "Datastreams": (
        "name",
        "description",
        "observationType",
        "unitOfMeasurement",
        "Thing",
        "Sensor",
        "ObservedProperty",
    ),
    "FeaturesOfInterest": ("name", "description", "encodingType", "feature"),
    "Observations": ("phenomenonTime", "result", "Datastream", "FeatureOfInterest"),
}
LINKS = {
    "Thing": "Things",
    "Sensor": "Sensors",
    "ObservedProperty": "ObservedProperties",
    "Datastream": "Datastreams",
    "FeatureOfInterest": "FeaturesOfInterest",
}


class SensorThingsServer:
    """State plus a FastAPI app; ``fail_next`` answers 500 to that many requests."""

    def __init__(self) -> None:
        self.entities: dict[str, dict[Any, dict]] = {s: {} for s in SETS}
        self.created: list[tuple[str, Any]] = []
        self.patches: list[tuple[str, Any, dict]] = []
        self.fail_next = 0
        self._ids = itertools.count(1)
        self.app = self._build()

    def of(self, entity_set: str) -> list[dict]:
        return list(self.entities[entity_set].values())

    def _create(self, entity_set: str, body: dict) -> Any:
        missing = [k for k in REQUIRED.get(entity_set, ()) if k not in body]
        if missing:
            raise ValueError(f"{entity_set} missing {missing}")
        for link, target in LINKS.items():
            if link in body and body[link]["@iot.id"] not in self.entities[target]:
                raise LookupError(f"{link} {body[link]['@iot.id']} does not exist")
        ident = next(self._ids)
        entity = {k: v for k, v in body.items() if k != "Locations"} | {"@iot.id": ident}
        self.entities[entity_set][ident] = entity
        self.created.append((entity_set, ident))
        for loc in body.get("Locations", []):
            lid = self._create("Locations", loc)
            entity.setdefault("location_ids", []).append(lid)
        return ident

    def _build(self) -> FastAPI:
        app = FastAPI()
        srv = self

        @app.middleware("http")
        async def flaky(request: Request, call_next):
            if srv.fail_next > 0:
                srv.fail_next -= 1
                return JSONResponse({"message": "overloaded"}, status_code=500)
            return await call_next(request)

        @app.get("/v1.1/{entity_set}")
        def query(entity_set: str, request: Request) -> dict:
            flt = request.query_params.get("$filter", "")
            m = re.fullmatch(r"name eq '((?:[^']|'')*)'", flt)
            values = srv.of(entity_set)
            if m:
                name = m.group(1).replace("''", "'")
                values = [e for e in values if e.get("name") == name]
            return {"value": values}

        @app.post("/v1.1/{entity_set}")
        async def create(entity_set: str, request: Request) -> Response:
            if entity_set not in SETS:
                return JSONResponse({"message": f"no entity set {entity_set}"}, status_code=404)
            try:
                ident = srv._create(entity_set, await request.json())
            except (ValueError, LookupError) as exc:
                return JSONResponse({"message": str(exc)}, status_code=400)
            url = f"{request.base_url}v1.1/{entity_set}({ident})"
            return Response(status_code=201, headers={"Location": url})  # FROST answers without a body

        @app.patch("/v1.1/{entity_set}({ident})")
        async def patch(entity_set: str, ident: int, request: Request) -> Response:
            entity = srv.entities.get(entity_set, {}).get(ident)
            if entity is None:
                return JSONResponse({"message": "not found"}, status_code=404)
            body = await request.json()
            entity.update(body)
            srv.patches.append((entity_set, ident, body))
            return Response(status_code=200)

        return app
