"""The operator's flight logbook: each flight kept as a GeoJSON track under ``data_dir/logbook/``.

A flight is logged by whoever followed it (``mission watch``: :func:`write_flight` of its
:class:`~contract.flightlog.FlightRecorder`) and by the drone itself (its edge agent publishes
it; the relay files it here, :func:`write_drone_flight`). :func:`read_logbook` reads them all, and
keeps one record of a flight logged twice.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from contract.files import write_atomic
from contract.flightlog import Box, FlightRecorder, flight_id, same_flight, track_box
from contract.messages import Flight

#: The file name's ending of a flight the drone logged (its own record, kept beside the station's).
DRONE_SUFFIX = ".drone.geojson"


def write_flight(data_dir: Path, rec: FlightRecorder) -> Path | None:
    """``data_dir/logbook/VEHICLE-YYYYmmddTHHMMSSZ.geojson`` for a flight that happened; atomic."""
    if rec.armed_at is None:
        return None
    path = Path(data_dir) / "logbook" / f"{flight_id(rec.vehicle, rec.armed_at)}.geojson"
    write_atomic(path, json.dumps(rec.feature()))
    return path


def drone_feature(flight: Flight) -> dict[str, Any]:
    """A flight the drone logged, as a logbook Feature (what :meth:`FlightRecorder.feature` gives,
    with its ``flight_id`` and ``source`` "drone"; the battery it started with is not on the wire)."""
    iso = lambda d: d.isoformat()  # noqa: E731
    return {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [list(c) for c in flight.track]},
        "properties": {
            "flight_id": flight.flight_id,
            "source": "drone",
            "vehicle": flight.vehicle,
            "armed_at": iso(flight.armed_at),
            "disarmed_at": iso(flight.disarmed_at),
            "duration_s": round((flight.disarmed_at - flight.armed_at).total_seconds(), 1),
            "distance_m": flight.distance_m,
            "max_alt_m": flight.max_alt_m,
            "battery_start_pct": None,
            "battery_used_pct": flight.battery_used_pct,
            "mission_count": flight.mission_count,
            "waypoints_reached": list(flight.waypoints_reached),
            "warnings": [{"at": iso(w.at), "text": w.text} for w in flight.warnings],
            "modes": [{"at": iso(m.at), "mode": m.mode} for m in flight.modes],
        },
    }


def write_drone_flight(logbook_dir: Path, flight: Flight) -> Path:
    """``logbook_dir/FLIGHT_ID.drone.geojson``: the drone's own record of a flight; atomic, and a
    repeat (the broker's redelivery) writes the same file again."""
    path = Path(logbook_dir) / f"{flight.flight_id}{DRONE_SUFFIX}"
    write_atomic(path, json.dumps(drone_feature(flight)))
    return path


def _span(f: dict[str, Any]) -> tuple[str, float, float]:
    """(vehicle, take-off, landing) of a logbook Feature; one not seen landing spans its take-off."""
    p = f["properties"]
    start = datetime.fromisoformat(p["armed_at"]).timestamp()
    end = datetime.fromisoformat(p["disarmed_at"]).timestamp() if p.get("disarmed_at") else start + 1e-3
    return p["vehicle"], start, end


def _box(f: dict[str, Any]) -> Box | None:
    coords = (f.get("geometry") or {}).get("coordinates") or []
    return track_box([(float(c[0]), float(c[1])) for c in coords])


def one_per_flight(flights: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One Feature a flight (:func:`~contract.flightlog.same_flight`): of two records the longer
    (the drone's, on a tie: it heard the whole flight), in the order given; its ``logged_by``
    property names every keeper ("drone", "station")."""
    kept: list[dict[str, Any]] = []
    for f in flights:
        f["properties"]["logged_by"] = [f["properties"].get("source", "station")]
        twin = next((k for k in kept if same_flight(_span(k), _span(f), _box(k), _box(f))), None)
        if twin is None:
            kept.append(f)
            continue
        by = sorted(set(twin["properties"]["logged_by"]) | set(f["properties"]["logged_by"]))
        if _rank(f) > _rank(twin):
            kept[kept.index(twin)] = f
            twin = f
        twin["properties"]["logged_by"] = by
    return kept


def _rank(f: dict[str, Any]) -> tuple[float, bool]:
    p = f["properties"]
    return p.get("duration_s") or 0.0, p.get("source") == "drone"


def read_logbook(data_dir: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Every logged flight, oldest first, each Feature with its ``file``, a flight logged by both
    the drone and the station once (:func:`one_per_flight`); and the files that could not be read,
    each with why (a hand-edited or torn file is named, not fatal)."""
    flights, bad = [], []
    for p in sorted((Path(data_dir) / "logbook").glob("*.geojson")):
        try:
            f = json.loads(p.read_text())
            f["properties"]["file"] = str(p)
            _span(f)  # readable times, or it is named as bad
            flights.append(f)
        except (OSError, ValueError, KeyError, TypeError) as e:
            bad.append(f"{p}: {e}")
    flights.sort(key=lambda f: f["properties"].get("armed_at") or "")
    return one_per_flight(flights), bad
