"""The relay carries the flight logbook to a real cloud process: each landed flight once, through
an outage and a lost answer; a file that can never be a flight is set aside with why."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from cloud.segments import bundled_segments
from contract import geo, topics
from contract.flightlog import FlightRecorder, flight_from_feature, flight_id
from ground_station.missions.logbook import write_flight
from ground_station.relay.flights import FlightSender
from ground_station.relay.service import Relay, RelayConfig, wait_until
from tests.gcs_relay.conftest import STATION_TOKEN, CloudProcess


def recorded(
    vehicle: str,
    start: float,
    segment: str = "shenzhen-4",
    land: bool = True,
    warn: str = "",
    joined_s: float = 0,
) -> FlightRecorder:
    """A flight along a bundled segment that took off at ``start``, as a keeper that heard it from
    ``joined_s`` in records it."""
    rec = FlightRecorder(vehicle, mission_count=8)
    rec.battery(97.0)
    rec.armed(start + joined_s, True)
    line = next(s for s in bundled_segments() if s.id == segment).line
    t = start
    for (lon0, lat0), (lon1, lat1) in itertools.pairwise(line):
        n = max(1, int(geo.distance_m(lat0, lon0, lat1, lon1) // 8))
        for k in range(n):
            t += 1.0
            if t >= start + joined_s:
                rec.position(t, lat0 + (lat1 - lat0) * k / n, lon0 + (lon1 - lon0) * k / n, 30.0)
    if warn:
        rec.warning(t, warn)
    rec.battery(60.0)
    if land:
        rec.armed(t + 5, False)
    return rec


def patrol(data_dir: Path, vehicle: str, start: float, **kw) -> Path:
    """A flight as ``mission watch`` logs one (:func:`recorded`)."""
    path = write_flight(data_dir, recorded(vehicle, start, **kw))
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


def test_a_drones_own_flight_comes_over_mqtt_and_is_kept_once_beside_the_stations(
    mosquitto, cloud: CloudProcess, tmp_path: Path
) -> None:
    """The drone publishes its record of a flight at landing; the relay files it in the logbook and
    takes it to the cloud. An operator also followed that flight from a minute in: the cloud keeps
    the drone's longer record alone, and ``gcs logbook`` lists the flight once, logged by both."""
    start = 1_795_000_000.0
    gcs = tmp_path / "gcs"
    station = patrol(gcs, "river-1", start, joined_s=60)
    rec = recorded("river-1", start, warn="Fence Breached: Polygon")
    rec.modes = [(start, "AUTO"), (start + 300, "SMART_RTL")]
    drone = flight_from_feature(rec.feature(), flight_id("river-1", start))
    relay = Relay(
        RelayConfig(
            db_path=tmp_path / "relay.db", cloud_url=cloud.url, token=STATION_TOKEN, mqtt_port=mosquitto.port,
            logbook_dir=gcs / "logbook", flights_every_s=0.2,
        )
    )  # fmt: skip
    relay.start()
    pub = mqtt.Client(CallbackAPIVersion.VERSION2)
    try:
        assert relay.connected.wait(10)
        pub.connect("127.0.0.1", mosquitto.port)
        pub.loop_start()
        topic = topics.drone_topic("river-1", topics.FLIGHTS)
        pub.publish(topic, b'{"flight_id": "torn"', qos=1).wait_for_publish(5)  # named, counted, skipped
        pub.publish(topic, drone.model_dump_json(), qos=1).wait_for_publish(5)
        filed = gcs / "logbook" / f"{drone.flight_id}.drone.geojson"
        sent = [p.with_name(p.name + ".sent") for p in (filed, station)]
        assert wait_until(lambda: all(p.exists() for p in sent), 15), list((gcs / "logbook").iterdir())
    finally:
        pub.loop_stop()
        pub.disconnect()
        relay.stop()
    assert relay.m_flights._value.get() == 1 and relay.m_rejected._value.get() == 1
    (f,) = httpx.get(f"{cloud.url}/api/v1/flights").json()["features"]
    assert f["id"] == drone.flight_id and f["properties"]["segments"] == ["shenzhen-4"]
    answers = {json.loads(p.read_text())["flight_id"]: json.loads(p.read_text()) for p in sent}
    assert answers[station.stem].get("same_as", drone.flight_id) == drone.flight_id  # whichever went first

    env = {**os.environ, "COLUMNS": "250", "RIVERPATROL_GCS_DATA_DIR": str(gcs)}
    book = subprocess.run([sys.executable, "-m", "riverpatrol", "gcs", "logbook"], env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert book.returncode == 0 and "1 flight(s)" in book.stdout, book.stdout + book.stderr
    assert "drone, station" in book.stdout and "SMART_RTL" in book.stdout and "Fence Breached" in book.stdout
    # the cloud keeps how it came home too (the drone's record's modes), for the district's map
    assert f["properties"]["came_home"] == "SMART_RTL"
    assert [m["mode"] for m in f["properties"]["modes"]] == ["AUTO", "SMART_RTL"]


def test_a_cloud_from_before_the_modes_flown_still_takes_the_flight(tmp_path: Path) -> None:
    """A district's cloud not yet upgraded refuses a field it does not know (422 naming it): the
    relay sends that flight again without its modes, rather than setting it aside for good."""
    from fastapi import FastAPI
    from pydantic import create_model

    from contract.messages import Flight, _Wire
    from tests.cloud_sync.helpers import UvicornThread
    from tests.conftest import free_port

    fields = {k: (f.annotation, f) for k, f in Flight.model_fields.items() if k != "modes"}
    older = create_model("FlightBeforeModes", __base__=_Wire, **fields)  # type: ignore[call-overload]
    got: list[dict] = []
    app = FastAPI()

    def post(flight):  # type: ignore[no-untyped-def]
        got.append(flight.model_dump(mode="json"))
        return {"flight_id": flight.flight_id, "new": True, "segments": []}

    post.__annotations__ = {"flight": older, "return": dict}  # the body, as FastAPI validates it
    app.post("/api/v1/flights")(post)

    rec = recorded("river-1", 1_795_000_000.0)
    rec.modes = [(1_795_000_000.0, "AUTO"), (1_795_000_600.0, "RTL")]
    flown = write_flight(tmp_path / "gcs", rec)
    assert flown is not None
    port = free_port()
    with UvicornThread(app, port):
        sender = FlightSender(tmp_path / "gcs" / "logbook", f"http://127.0.0.1:{port}", timeout_s=3)
        try:
            assert sender.step() == 1 and sender.rejected == 0
        finally:
            sender.close()
    (kept,) = got
    assert kept["flight_id"] == flown.stem and "modes" not in kept
    assert flown.with_name(flown.name + ".sent").exists()


def test_a_flight_the_cloud_refused_is_offered_again_and_one_that_is_no_flight_is_not(tmp_path: Path) -> None:
    """A district's cloud refuses a flight (422); once it is upgraded, the relay's next offer takes
    the flight there. A file that can never be a flight stays set aside with why."""
    from fastapi import FastAPI, HTTPException
    from typer.testing import CliRunner

    from ground_station.cli import app as gcs_app
    from tests.cloud_sync.helpers import UvicornThread
    from tests.conftest import free_port

    upgraded: list[bool] = []
    app = FastAPI()

    @app.post("/api/v1/flights")
    def post(flight: dict) -> dict:
        if not upgraded:
            raise HTTPException(422, "warnings: Extra inputs are not permitted")
        return {"flight_id": flight["flight_id"], "new": True, "segments": []}

    flown = patrol(tmp_path / "gcs", "river-1", 1_795_000_000.0)
    unfinished = patrol(tmp_path / "gcs", "river-2", 1_795_000_500.0, land=False)
    port = free_port()
    with UvicornThread(app, port):
        sender = FlightSender(tmp_path / "gcs" / "logbook", f"http://127.0.0.1:{port}", timeout_s=3)
        try:
            assert sender.step() == 0 and sender.rejected == 2
            refused = flown.with_name(flown.name + ".rejected")
            assert refused.read_text().startswith("HTTP 422: ") and "warnings" in refused.read_text()
            book = CliRunner().invoke(
                gcs_app, ["logbook", "--data-dir", str(tmp_path / "gcs")], env={"COLUMNS": "250"}
            )
            rows = {
                line.split("│")[2].strip(): line.split("│")[-3].strip()
                for line in book.stdout.splitlines()
                if "river-" in line and "│" in line
            }
            assert rows == {"river-1": "refused", "river-2": "not sent"}, book.stdout
            said = " ".join(book.stdout.split())
            assert f"{flown.stem}: the cloud refused it; offered again (HTTP 422: " in said
            assert (
                f"{unfinished.stem}: not sent to the cloud (not a flight: the flight was not seen landing"
                in said
            )
            assert sender.offer_refused_again() == 1 and sender.step() == 0  # refused again: set aside again
            assert refused.exists() and sender.pending() == []
            upgraded.append(True)
            assert sender.offer_refused_again() == 1 and sender.step() == 1
        finally:
            sender.close()
    assert (
        flown.with_name(flown.name + ".sent").exists()
        and not flown.with_name(flown.name + ".rejected").exists()
    )
    assert unfinished.with_name(unfinished.name + ".rejected").read_text().startswith("not a flight")
