"""Patrol flights in the cloud: which stretches a flight covered, and a flight as a map Feature.

A stretch with no finds was either clean or not flown; the river office (and the CIM map) can
only tell which from the flights, each counted once however many keepers logged it
(:func:`keep_one`). Pure: the store keeps the rows, the API serves the Features.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cloud.api.features import iso
from cloud.storage.base import Row
from contract.flightlog import came_home, track_box
from contract.messages import Flight

#: Track points (a point each 5 m or more) on a stretch for the flight to count as patrolling it:
#: crossing a corner of one on the way to another is not a patrol of it.
MIN_POINTS_ON_SEGMENT = 3


def covered_segments(
    track: Iterable[tuple[float, float]],
    locate: Callable[[float, float], tuple[str | None, str | None]],
    min_points: int = MIN_POINTS_ON_SEGMENT,
) -> list[str]:
    """Ids of the segments the (lon, lat) ``track`` flew along, by ``locate(lat, lon)``; in the
    order first flown."""
    hits: Counter[str] = Counter()
    order: list[str] = []
    for lon, lat in track:
        sid, _ = locate(lat, lon)
        if sid is not None:
            if sid not in hits:
                order.append(sid)
            hits[sid] += 1
    return [s for s in order if hits[s] >= min_points]


@dataclass(frozen=True)
class FlightKept:
    """What storing a posted flight did: ``new`` (stored), else ``same_as`` the record kept of it;
    ``replaces`` the shorter records of it it took the place of."""

    new: bool
    same_as: str | None = None
    replaces: tuple[str, ...] = ()


def keep_one(posted: Row, twins: Iterable[Row]) -> FlightKept:
    """One record a flight: ``twins`` are the stored records of ``posted``'s vehicle that overlap
    it in time, their tracks' boxes meeting (:func:`contract.flightlog.same_flight`: the drone's
    own record and a station's, each with its own clock and id). The longest is kept; on a tie
    the one stored first, so a repeat of either changes nothing."""
    twins = list(twins)
    if any(t["flight_id"] == posted["flight_id"] for t in twins):
        return FlightKept(False, posted["flight_id"])
    length = lambda r: r["disarmed_at"] - r["armed_at"]  # noqa: E731
    longest = max(twins, key=length, default=None)
    if longest is not None and length(longest) >= length(posted):
        return FlightKept(False, longest["flight_id"])
    return FlightKept(True, replaces=tuple(t["flight_id"] for t in twins))


def last_flown(rows: Iterable[Row]) -> dict[str, float]:
    """Segment id -> the latest take-off of a flight that patrolled it."""
    out: dict[str, float] = {}
    for r in rows:
        for sid in json.loads(r["segments"]):
            out[sid] = max(out.get(sid, r["armed_at"]), r["armed_at"])
    return out


def flight_row(f: Flight, station: str, segments: list[str], now: float) -> Row:
    """The stored form of a flight posted by ``station``."""
    box = track_box(list(f.track))
    assert box is not None  # the wire's track has 2 points or more
    return {
        "flight_id": f.flight_id,
        "station": station,
        "vehicle": f.vehicle,
        "armed_at": f.armed_at.timestamp(),
        "disarmed_at": f.disarmed_at.timestamp(),
        "distance_m": f.distance_m,
        "max_alt_m": f.max_alt_m,
        "battery_used_pct": f.battery_used_pct,
        "mission_count": f.mission_count,
        "waypoints_reached": len(f.waypoints_reached),
        "segments": json.dumps(segments),
        "track": json.dumps([[round(x, 7), round(y, 7)] for x, y in f.track]),
        "received_at": now,
        **dict(zip(("min_lon", "min_lat", "max_lon", "max_lat"), box, strict=True)),
        "warnings": json.dumps([{"at": iso(w.at.timestamp()), "text": w.text} for w in f.warnings]),
        "modes": json.dumps([{"at": iso(m.at.timestamp()), "mode": m.mode} for m in f.modes]),
    }


def track_bbox(row: Row) -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) of a stored flight's track."""
    return row["min_lon"], row["min_lat"], row["max_lon"], row["max_lat"]


def flight_modes(row: Row) -> tuple[list[dict[str, str]], str | None]:
    """A stored flight's modes flown (none from a relay before them) and how it came home."""
    modes = json.loads(row.get("modes") or "[]")
    return modes, came_home([m["mode"] for m in modes])


def flight_feature(
    row: Row, transform: Callable[[float, float], tuple[float, float]] | None = None
) -> dict[str, Any]:
    """A stored flight as a GeoJSON Feature: its track (through ``transform``, e.g. to GCJ-02, if
    given), and what the office asks of it."""
    coords = json.loads(row["track"])
    if transform is not None:
        coords = [[round(c, 7) for c in transform(lon, lat)] for lon, lat in coords]
    modes, home = flight_modes(row)
    return {
        "type": "Feature",
        "id": row["flight_id"],
        "geometry": {"type": "LineString", "coordinates": coords},
        "properties": {
            "vehicle": row["vehicle"],
            "station": row["station"],
            "armed_at": iso(row["armed_at"]),
            "disarmed_at": iso(row["disarmed_at"]),
            "duration_s": round(row["disarmed_at"] - row["armed_at"], 1),
            "distance_m": row["distance_m"],
            "max_alt_m": row["max_alt_m"],
            "battery_used_pct": row["battery_used_pct"],
            "waypoints_reached": row["waypoints_reached"],
            "mission_count": row["mission_count"],
            "segments": json.loads(row["segments"]),
            "warnings": json.loads(row.get("warnings") or "[]"),
            "modes": modes,
            "came_home": home,
        },
    }
