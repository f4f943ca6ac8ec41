"""The flight logbook's pure recorder, and its files: one GeoJSON per flight, torn ones named."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from contract import geo
from contract.flightlog import FlightRecorder
from ground_station.missions.logbook import read_logbook, write_flight

HOME = (22.5205, 114.0632)


def test_a_flight_from_arming_to_disarming() -> None:
    rec = FlightRecorder("river-1", mission_count=6)
    rec.battery(98.0)
    rec.position(0.0, *HOME, 0.0)  # on the ground, disarmed: not the flight
    rec.armed(1.0, True)
    rec.position(1.5, 0.0, 0.0)  # no fix yet
    for k in range(60):  # 2 m/s north for a minute, climbing to 30 m
        lat, lon = geo.offset(*HOME, north_m=2.0 * k, east_m=0.0)
        rec.position(2.0 + k, lat, lon, min(30.0, float(k)))
        if k == 20:
            rec.waypoint_reached(1)
            rec.waypoint_reached(1)  # MISSION_ITEM_REACHED repeats: once in the log
    rec.battery(71.5)
    rec.armed(70.0, False)
    rec.position(71.0, *HOME, 0.0)  # after landing: not the flight
    f = rec.feature()
    p = f["properties"]
    assert (p["duration_s"], p["max_alt_m"], p["battery_start_pct"], p["battery_used_pct"]) == (
        69.0,
        30.0,
        98.0,
        26.5,
    )
    assert p["distance_m"] == pytest.approx(118.0, abs=1.0) and p["waypoints_reached"] == [1]
    coords = f["geometry"]["coordinates"]
    assert 20 <= len(coords) <= 32  # a point each 5 m or more, not one per message, and where it landed
    assert coords[0] == [round(HOME[1], 7), round(HOME[0], 7)]


def test_the_modes_flown_are_kept_from_take_off_to_landing() -> None:
    rec = FlightRecorder("river-1")
    for t, mode in ((0.0, "STABILIZE"), (1.0, "GUIDED")):  # on the ground: only the last counts
        rec.mode(t, mode)
    rec.armed(2.0, True)
    rec.position(2.5, *HOME, 1.0)
    for t, mode in ((5.0, "AUTO"), (6.0, "AUTO"), (7.0, None), (60.0, "SMART_RTL")):
        rec.mode(t, mode)
    rec.armed(90.0, False)
    rec.mode(95.0, "STABILIZE")  # after landing: not the flight's
    modes = rec.feature()["properties"]["modes"]
    assert [m["mode"] for m in modes] == ["GUIDED", "AUTO", "SMART_RTL"]
    assert modes[2]["at"].startswith("1970-01-01T00:01:00")


def test_flights_are_files_and_a_torn_one_is_named(tmp_path: Path) -> None:
    assert write_flight(tmp_path, FlightRecorder("never-armed")) is None
    for start in (2_000.0, 1_000.0):
        rec = FlightRecorder("river-1")
        rec.armed(1_800_000_000 + start, True)
        rec.position(1_800_000_000 + start + 1, *HOME, 10.0)
        write_flight(tmp_path, rec)  # followed in part: no landing seen
    (tmp_path / "logbook" / "river-9-20270101T000000Z.geojson").write_text('{"type": "Feat')
    flights, bad = read_logbook(tmp_path)
    assert [f["properties"]["armed_at"][:19] for f in flights] == [
        "2027-01-15T08:16:40",
        "2027-01-15T08:33:20",
    ]
    assert all(f["properties"]["duration_s"] is None and f["geometry"] is None for f in flights)
    assert len(bad) == 1 and "river-9-20270101T000000Z.geojson" in bad[0]
    assert json.loads(Path(flights[0]["properties"]["file"]).read_text())["type"] == "Feature"


def test_a_long_flight_goes_to_the_cloud_with_its_track_thinned_to_the_wires_cap() -> None:
    from contract.flightlog import flight_from_feature
    from contract.messages import MAX_FLIGHT_POINTS

    rec = FlightRecorder("river-1", mission_count=3)
    rec.armed(0.0, True)
    for k in range(MAX_FLIGHT_POINTS + 700):  # 29 km, a point each 5 m
        rec.position(float(k), *geo.offset(*HOME, north_m=5.0 * k, east_m=0.0), 30.0)
    rec.armed(99_999.0, False)
    f = flight_from_feature(rec.feature(), "river-1-x")
    assert len(f.track) == MAX_FLIGHT_POINTS
    assert list(f.track[0]) == rec.feature()["geometry"]["coordinates"][0]
    assert list(f.track[-1]) == rec.feature()["geometry"]["coordinates"][-1]  # where it landed
    with pytest.raises(ValueError, match="not seen landing"):
        flight_from_feature(FlightRecorder("r").feature(), "r-1")


def test_a_flight_logged_by_the_drone_and_the_station_is_listed_once_the_longer_record() -> None:
    from ground_station.missions.logbook import one_per_flight

    def entry(vehicle: str, start: str, end: str | None, source: str | None = None) -> dict:
        t0 = datetime.fromisoformat(start)
        dur = None if end is None else (datetime.fromisoformat(end) - t0).total_seconds()
        props = {"vehicle": vehicle, "armed_at": start, "disarmed_at": end, "duration_s": dur}
        return {"properties": props | ({"source": source} if source else {})}

    station = entry("d1", "2026-12-07T08:02:00+00:00", "2026-12-07T08:15:00+00:00")
    drone = entry("d1", "2026-12-07T08:00:00+00:00", "2026-12-07T08:15:01+00:00", "drone")
    stopped = entry("d1", "2026-12-07T08:05:00+00:00", None)  # a watcher stopped in flight
    other = entry("d2", "2026-12-07T08:01:00+00:00", "2026-12-07T08:14:00+00:00")
    later = entry("d1", "2026-12-07T09:00:00+00:00", "2026-12-07T09:10:00+00:00", "drone")
    kept = one_per_flight([drone, other, station, stopped, later])
    assert kept == [drone, other, later]
    assert drone["properties"]["logged_by"] == ["drone", "station"]
    assert other["properties"]["logged_by"] == ["station"] and later["properties"]["logged_by"] == ["drone"]
    # given their tracks, two records of "d1" at once over two rivers are two drones, one misnamed
    here = {**drone, "geometry": {"type": "LineString", "coordinates": [[114.06, 22.52], [114.07, 22.52]]}}
    there = {**station, "geometry": {"type": "LineString", "coordinates": [[114.2, 22.6], [114.21, 22.6]]}}
    assert one_per_flight([here, there]) == [here, there]
