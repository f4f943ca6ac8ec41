"""The relay carries the flight logbook to a real cloud process: each landed flight once, through
an outage and a lost answer; a file that can never be a flight is set aside with why."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import httpx

from cloud.segments import bundled_segments
from contract import geo
from contract.flightlog import FlightRecorder
from ground_station.missions.logbook import write_flight
from ground_station.relay.flights import FlightSender
from ground_station.relay.service import Relay, RelayConfig, wait_until
from tests.gcs_relay.conftest import STATION_TOKEN, CloudProcess


def patrol(
    data_dir: Path, vehicle: str, start: float, segment: str = "shenzhen-4", land: bool = True, warn: str = ""
) -> Path:
    """A flight along a bundled segment, recorded as ``mission watch`` records one."""
    rec = FlightRecorder(vehicle, mission_count=8)
    rec.battery(97.0)
    rec.armed(start, True)
    line = next(s for s in bundled_segments() if s.id == segment).line
    t = start
    for (lon0, lat0), (lon1, lat1) in itertools.pairwise(line):
        n = max(1, int(geo.distance_m(lat0, lon0, lat1, lon1) // 8))
        for k in range(n):
            t += 1.0
            rec.position(t, lat0 + (lat1 - lat0) * k / n, lon0 + (lon1 - lon0) * k / n, 30.0)
    if warn:
        rec.warning(t, warn)
    rec.battery(60.0)
    if land:
        rec.armed(t + 5, False)
    path = write_flight(data_dir, rec)
    assert path is not None
    return path


def test_landed_flights_reach_the_cloud_once_through_an_outage(cloud: CloudProcess, tmp_path: Path) -> None:
    gcs = tmp_path / "gcs"
    flown = patrol(gcs, "river-1", 1_795_000_000.0, warn="Fence Breached: Polygon")
    unfinished = patrol(gcs, "river-2", 1_795_000_500.0, land=False)
    torn = gcs / "logbook" / "river-3-20261201T000000Z.geojson"
    torn.write_text('{"type": "Fea')
    sender = FlightSender(gcs / "logbook", cloud.url, STATION_TOKEN, timeout_s=3)
    try:
        cloud.stop()
        assert sender.step() == 0 and sender.last_error  # the cloud is away: nothing is marked sent
        assert not flown.with_name(flown.name + ".sent").exists()

        cloud.start()
        assert sender.step() == 1
        answer = json.loads(flown.with_name(flown.name + ".sent").read_text())
        assert answer == {"flight_id": flown.stem, "new": True, "segments": ["shenzhen-4"]}
        for never in (unfinished, torn):  # set aside for good, with why, and not tried again
            assert never.with_name(never.name + ".rejected").exists()
        assert "not seen landing" in unfinished.with_name(unfinished.name + ".rejected").read_text()
        assert sender.step() == 0 and sender.pending() == []

        flown.with_name(flown.name + ".sent").unlink()  # the answer lost to a crash: sent again, kept once
        assert sender.step() == 1
        assert json.loads(flown.with_name(flown.name + ".sent").read_text())["new"] is False
    finally:
        sender.close()
    (f,) = httpx.get(f"{cloud.url}/api/v1/flights").json()["features"]
    assert f["id"] == flown.stem and f["properties"]["station"] == "gs1"
    assert f["properties"]["battery_used_pct"] == 37.0 and f["properties"]["segments"] == ["shenzhen-4"]
    (warned,) = f["properties"]["warnings"]  # the office sees what the autopilot warned of, and when
    assert warned["text"] == "Fence Breached: Polygon" and warned["at"] < f["properties"]["disarmed_at"]


def test_the_relay_sends_the_logbook_beside_the_alerts(
    mosquitto, cloud: CloudProcess, tmp_path: Path
) -> None:
    flown = patrol(tmp_path / "gcs", "river-1", 1_795_000_000.0)
    relay = Relay(
        RelayConfig(
            db_path=tmp_path / "relay.db", cloud_url=cloud.url, token=STATION_TOKEN, mqtt_port=mosquitto.port,
            logbook_dir=tmp_path / "gcs" / "logbook", flights_every_s=0.2,
        )
    )  # fmt: skip
    relay.start()
    try:
        assert wait_until(lambda: flown.with_name(flown.name + ".sent").exists(), 10)
    finally:
        relay.stop()
    assert relay.flights is not None and relay.flights.sent == 1
