"""Patrol flights: a station posts each flight, the cloud works out the stretches it patrolled, and
the office sees per stretch when it was last flown (a stretch without finds is clean only if flown)."""

from __future__ import annotations

import itertools
import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from typer.testing import CliRunner

from cloud.cli import app
from cloud.flights import covered_segments
from cloud.segments import SegmentIndex, bundled_segments
from contract import geo
from tests.cloud.factory import INSPECTOR_TOKENS

T0 = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)


def along(segment_id: str, step_m: float = 10.0) -> list[tuple[float, float]]:
    """(lon, lat) points every ``step_m`` along a bundled segment's centerline."""
    line = next(s for s in bundled_segments() if s.id == segment_id).line
    out = []
    for (lon0, lat0), (lon1, lat1) in itertools.pairwise(line):
        n = max(1, int(geo.distance_m(lat0, lon0, lat1, lon1) // step_m))
        out += [(lon0 + (lon1 - lon0) * k / n, lat0 + (lat1 - lat0) * k / n) for k in range(n)]
    return out


def flight(track, start: datetime = T0, flight_id: str = "river-1-20261120T013000Z", **over) -> dict:
    return {
        "schema_version": 1, "flight_id": flight_id, "vehicle": "river-1", "armed_at": start.isoformat(),
        "disarmed_at": (start + timedelta(minutes=14)).isoformat(), "distance_m": 2400.0, "max_alt_m": 30.0,
        "battery_used_pct": 41.0, "mission_count": 12, "waypoints_reached": list(range(1, 12)),
        "track": [list(p) for p in track], **over,
    }  # fmt: skip


def test_a_track_patrols_the_stretches_it_flies_along_not_those_it_clips() -> None:
    index = SegmentIndex(bundled_segments(), 150.0)
    track = along("shenzhen-4")
    assert covered_segments(track, index.locate) == ["shenzhen-4"]
    assert covered_segments(track[:2], index.locate) == []  # two points: crossing, not patrolling
    assert covered_segments([(0.0, 0.0), (0.1, 0.1), (0.2, 0.2)], index.locate) == []  # off every river


def test_a_station_posts_a_flight_once_and_the_office_sees_the_stretch_flown(
    db_url, make_server, tmp_path
) -> None:
    apps: list = []
    srv = make_server(db_url=db_url, before_start=apps.append)
    breach = {"at": (T0 + timedelta(minutes=10)).isoformat(), "text": "Fence Breached: Polygon"}
    rtl = {"at": (T0 + timedelta(minutes=10)).isoformat(), "mode": "RTL"}
    body = flight(along("shenzhen-4"), warnings=[breach], modes=[{"at": T0.isoformat(), "mode": "AUTO"}, rtl])
    with srv.client() as station:
        r = station.post("/api/v1/flights", json=body)
        assert r.status_code == 200, r.text
        assert r.json() == {"flight_id": body["flight_id"], "new": True, "segments": ["shenzhen-4"]}
        again = station.post("/api/v1/flights", json=body)  # the relay's retry: nothing twice
        assert again.status_code == 200 and again.json()["new"] is False
        for bad, where in (
            ({**body, "disarmed_at": (T0 - timedelta(minutes=1)).isoformat()}, "before armed_at"),
            ({**body, "armed_at": "2026-11-20T01:30:00"}, "armed_at"),
            ({**body, "track": [[114.06, 22.52]]}, "track"),
            ({**body, "track": [[114.06, 95.0], [114.07, 22.52]]}, "track"),
            ({**body, "warnings": [{**breach, "text": "x" * 201}]}, "warnings"),
        ):
            r = station.post("/api/v1/flights", json=bad)
            assert r.status_code == 422 and where in r.text, r.text
    with srv.client(INSPECTOR_TOKENS["alice"]) as alice:
        assert alice.post("/api/v1/flights", json=body).status_code == 403  # stations post flights

    # the paging worker's view, for overdue patrols: when each stretch was last flown, last 60 days
    recent = time.time() - T0.timestamp() < 60 * 86400
    assert apps[0].state.notify.last_flown() == ({"shenzhen-4": T0.timestamp()} if recent else {})
    fc = httpx.get(f"{srv.url}/api/v1/flights").json()
    (f,) = fc["features"]
    assert f["id"] == body["flight_id"] and f["geometry"]["type"] == "LineString"
    assert (f["properties"]["segments"], f["properties"]["duration_s"]) == (["shenzhen-4"], 840.0)
    assert f["properties"]["station"] == "gs1" and f["properties"]["waypoints_reached"] == 11
    assert f["properties"]["warnings"] == [{"at": "2026-11-20T01:40:00Z", "text": "Fence Breached: Polygon"}]
    assert f["properties"]["came_home"] == "RTL"  # the fence's return: not its mission's own end
    assert f["properties"]["modes"] == [
        {"at": "2026-11-20T01:30:00Z", "mode": "AUTO"},
        {**rtl, "at": "2026-11-20T01:40:00Z"},
    ]
    assert httpx.get(f"{srv.url}/api/v1/flights", params={"segment": "shenzhen-5"}).json()["features"] == []
    later = {"since": (T0 + timedelta(hours=1)).isoformat()}
    assert httpx.get(f"{srv.url}/api/v1/flights", params=later).json()["features"] == []

    seg = httpx.get(f"{srv.url}/api/v1/stats").json()["per_segment"]
    assert (seg["shenzhen-4"]["flights"], seg["shenzhen-4"]["last_flown"]) == (1, "2026-11-20T01:30:00Z")
    assert (seg["shenzhen-5"]["flights"], seg["shenzhen-5"]["last_flown"]) == (0, None)
    report = CliRunner().invoke(app, ["report", "--db", db_url])
    assert report.exit_code == 0, report.output
    assert (
        "Per stretch (1 flown or with finds" in report.stdout and "11-20 09:30" in report.stdout
    )  # Shanghai
    st = json.loads(CliRunner().invoke(app, ["report", "--db", db_url, "--json"]).stdout)
    assert st["per_segment"]["shenzhen-4"]["flights"] == 1 and st["flights"] == 1
    assert st["flights_came_home"] == {"RTL": 1}  # turned home by the fence, not at its mission's end
    assert "1 (turned home: RTL 1)" in report.stdout
    assert st["flight_warnings"] == [
        {"flight_id": body["flight_id"], "vehicle": "river-1", "armed_at": "2026-11-20T01:30:00Z",
         "segments": ["shenzhen-4"], "warnings": ["Fence Breached: Polygon"]}
    ]  # fmt: skip
    assert "What the autopilots warned of in flight" in report.stdout and "Fence Breached" in report.stdout
    config = tmp_path / "cloud.toml"  # the district's stretches, each with its inspector
    config.write_text(
        '[[cloud.segments]]\nid = "shenzhen-4"\ninspectors = ["li"]\n'
        '[[cloud.segments]]\nid = "shenzhen-5"\nname = "Futian Port"\ninspectors = ["wang"]\n'
    )
    summary = CliRunner().invoke(app, ["report", "--db", db_url, "--config", str(config)]).stdout
    (line,) = [x for x in summary.splitlines() if "not flown" in x]
    assert "Futian Port" in line and "shenzhen-4" not in line  # no finds there means nothing yet


def test_the_cim_map_reads_the_flights_as_an_ogc_collection(db_url, make_server) -> None:
    srv = make_server(db_url=db_url)
    empty = httpx.get(f"{srv.url}/ogc/collections/flights").json()
    assert empty["extent"]["temporal"]["interval"] == [[None, None]]  # no flight yet: a valid document
    track = along("shenzhen-4")
    with srv.client() as station:
        for k, start in enumerate((T0, T0 + timedelta(days=1))):
            body = flight(track, start=start, flight_id=f"river-1-{k}")
            assert station.post("/api/v1/flights", json=body).status_code == 200
    ids = [c["id"] for c in httpx.get(f"{srv.url}/ogc/collections").json()["collections"]]
    assert ids == ["debris", "flights"]
    coll = httpx.get(f"{srv.url}/ogc/collections/flights").json()
    lons, lats = [p[0] for p in track], [p[1] for p in track]
    assert coll["extent"]["spatial"]["bbox"][0] == pytest.approx([min(lons), min(lats), max(lons), max(lats)])
    items = f"{srv.url}/ogc/collections/flights/items"
    r = httpx.get(items, params={"limit": 1})
    assert r.headers["content-type"].startswith("application/geo+json")
    page = r.json()
    assert (page["numberMatched"], page["numberReturned"], page["features"][0]["id"]) == (2, 1, "river-1-0")
    assert any(link["rel"] == "next" for link in page["links"])
    day2 = httpx.get(items, params={"datetime": f"{(T0 + timedelta(hours=12)).isoformat()}/.."}).json()
    assert [f["id"] for f in day2["features"]] == ["river-1-1"]
    assert httpx.get(items, params={"bbox": "0,0,1,1"}).json()["features"] == []
    corner = f"{max(lons)},{max(lats)},{max(lons) + 0.01},{max(lats) + 0.01}"  # meets the tracks' box
    assert httpx.get(items, params={"bbox": corner}).json()["numberMatched"] == 2
    second = httpx.get(items, params={"limit": 1, "offset": 1, "bbox": corner}).json()
    assert (second["numberMatched"], [f["id"] for f in second["features"]]) == (2, ["river-1-1"])
    wgs = httpx.get(f"{items}/river-1-0").json()["geometry"]["coordinates"][0]
    gcj = httpx.get(f"{items}/river-1-0", params={"crs": "gcj02"}).json()["geometry"]["coordinates"][0]
    assert 200 < geo.distance_m(wgs[1], wgs[0], gcj[1], gcj[0]) < 800  # AMap's datum: hundreds of metres off
    assert httpx.get(f"{items}/nope").status_code == 404
    assert httpx.get(items, params={"crs": "mars"}).status_code == 400


def test_one_flight_logged_by_the_drone_and_a_station_is_kept_once_the_longer(db_url, make_server) -> None:
    """The drone's own record and an operator's ``mission watch`` record of one flight carry
    different ids (each keeper's clock); the cloud keeps one, the longer, whichever comes first."""
    srv = make_server(db_url=db_url)
    track = along("shenzhen-4")
    # the station joined 2 min into the flight and stopped at landing: a shorter record, its own id
    station_rec = flight(track, T0 + timedelta(minutes=2), "river-1-20261120T013200Z",
                         disarmed_at=(T0 + timedelta(minutes=14, seconds=1)).isoformat())  # fmt: skip
    drone_rec = flight(track, T0, "river-1-20261120T013000Z")
    other_drone = flight(track, T0 + timedelta(minutes=1), "river-2-20261120T013100Z", vehicle="river-2")
    next_flight = flight(track, T0 + timedelta(minutes=30), "river-1-20261120T020000Z")
    with srv.client() as station:
        post = lambda body: station.post("/api/v1/flights", json=body).json()  # noqa: E731
        assert post(station_rec)["new"] is True
        answer = post(drone_rec)  # the longer record arrives second: it takes the shorter's place
        assert answer["new"] is True and answer["replaces"] == [station_rec["flight_id"]]
        again = post(station_rec)  # the station's relay retries: the flight is stored, as the drone's
        assert again["new"] is False and again["same_as"] == drone_rec["flight_id"]
        repeat = {"flight_id": drone_rec["flight_id"], "new": False, "segments": ["shenzhen-4"]}
        assert post(drone_rec) == repeat
        assert post(other_drone)["new"] is True  # another vehicle in the air at once: its own flight
        # a station that named another drone flying elsewhere at the same time "river-1": the
        # tracks do not meet, so it is a flight of its own, not taken for this one
        elsewhere = flight(along("shenzhen-6"), T0 + timedelta(minutes=1), "river-1-20261120T013100Z")
        assert post(elsewhere)["new"] is True
        assert post(next_flight)["new"] is True  # the same vehicle later: a flight of its own
    ids = [f["id"] for f in httpx.get(f"{srv.url}/api/v1/flights").json()["features"]]
    assert ids == [drone_rec["flight_id"], "river-1-20261120T013100Z", other_drone["flight_id"],
                   next_flight["flight_id"]]  # fmt: skip
    seg = httpx.get(f"{srv.url}/api/v1/stats").json()["per_segment"]["shenzhen-4"]
    assert seg["flights"] == 3  # the office counts flights, not records


def test_the_report_says_how_the_period_s_flights_came_home() -> None:
    from cloud.report import _flights_line

    assert _flights_line(0, {}) == "0"
    assert _flights_line(3, {"mission": 3}) == "3 (3 to their mission's end)"
    line = _flights_line(5, {"RTL": 1, "SMART_RTL": 1, "mission": 2, "unknown": 1})
    assert line == "5 (2 to their mission's end; turned home: RTL 1, SMART_RTL 1; 1 not said)"


def test_the_longer_record_first_keeps_its_place() -> None:
    from cloud.flights import keep_one

    row = lambda fid, t0, t1: {"flight_id": fid, "armed_at": t0, "disarmed_at": t1}  # noqa: E731
    stored = [row("drone", 0.0, 900.0)]
    assert keep_one(row("station", 120.0, 901.0), stored).same_as == "drone"  # shorter: not stored
    kept = keep_one(row("station", -5.0, 900.0), stored)  # longer: stored in the drone's place
    assert kept.new and kept.replaces == ("drone",)
    tie = keep_one(row("station", 10.0, 910.0), stored)  # as long: the first stays
    assert not tie.new and tie.same_as == "drone"
    assert keep_one(row("first", 0.0, 10.0), []).new
