"""Inspectors' requests for a closer look reach the operators through the relay: read from a real
cloud process, kept in the outbox, listed by ``gcs alerts`` offline, gone once a newer view is in."""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from typer.testing import CliRunner

from contract import geo, topics
from contract.drift import where_now
from contract.messages import Alert, AlertEvent, Drift, LookRequest
from ground_station.cli import app
from ground_station.missions.drift_target import local_hhmm
from ground_station.relay.looks import LookPoller, goto_command, look_line, new_since
from ground_station.relay.outbox import RelayOutbox
from ground_station.relay.service import Relay, RelayConfig, wait_until
from tests.conftest import free_port
from tests.gcs_relay.conftest import INSPECTOR_TOKEN, STATION_TOKEN, CloudProcess, env_with_repo, make_alert

T0 = datetime(2026, 6, 1, 6, 30, tzinfo=UTC)


def request(
    i: int,
    asked_at: datetime = T0,
    note: str = "",
    drone: str = "d1",
    last_seen: datetime | None = None,
    drift: Drift | None = None,
) -> LookRequest:
    """A request for the closer look at test alert ``i`` (:func:`make_alert`'s id and position)."""
    a = make_alert(i, drone=drone)
    return LookRequest(
        alert_id=a.alert_id, debris_class="bottle", lat=a.lat, lon=a.lon, drone_id=drone,
        asked_by="alice", asked_at=asked_at, note=note, last_seen=last_seen, drift=drift,
    )  # fmt: skip


#: A city river's current: 0.28 m/s toward 95° (E).
EAST = Drift(east_mps=0.28, north_mps=-0.025, sigma_mps=0.01, over_s=20.0)


# --- pure helpers ---------------------------------------------------------------------------------


def test_new_since_tells_new_requests_from_those_gone() -> None:
    a, b, c = request(1), request(2), request(3)
    changes = new_since([a, b], [b, c])
    assert changes.new == [c] and changes.gone == [a]
    assert new_since([a], [a]).new == [] and new_since([a], [a]).gone == []
    again = request(1, asked_at=T0 + timedelta(hours=1))  # asked again after the first was done
    assert new_since([a], [again]) == type(changes)(new=[again], gone=[a])
    assert new_since([], [a, b]).new == [a, b]  # in the cloud's order, oldest first


def test_the_command_flies_to_the_find_by_its_id_or_else_by_where_it_is() -> None:
    r = request(4)
    assert goto_command(r) == f"riverpatrol gcs mission goto {str(r.alert_id)[:8]}"
    assert goto_command(r, known_alert=False) == f"riverpatrol gcs mission goto {r.lat:.6f},{r.lon:.6f}"


def test_a_drifting_find_is_said_drifting_and_flown_to_by_where_it_is_now() -> None:
    """By id, `mission goto` predicts where it is itself; by position, the command carries the prediction."""
    r, now = request(4, last_seen=T0, drift=EAST), T0 + timedelta(minutes=3)
    w = where_now(r.lat, r.lon, EAST, T0, now)
    assert 50 < w.moved_m < 51
    by_position = goto_command(r, known_alert=False, now=now)
    assert by_position == f"riverpatrol gcs mission goto {w.lat:.6f},{w.lon:.6f}"
    assert goto_command(r, now=now) == f"riverpatrol gcs mission goto {str(r.alert_id)[:8]}"
    line = look_line(r, "CMD")
    assert ", drifting 0.28 m/s toward E: alice asked for a closer look at " in line
    still = request(4, last_seen=T0, drift=Drift(east_mps=0.0, north_mps=0.01, sigma_mps=0.01, over_s=9.0))
    assert goto_command(still, known_alert=False, now=now) == goto_command(request(4), known_alert=False)
    assert ", not drifting: alice" in look_line(still, "CMD")
    assert "drifting" not in look_line(request(4, last_seen=T0), "CMD")  # the drone could not tell


# --- outbox ---------------------------------------------------------------------------------------


def test_the_outbox_keeps_the_last_list_whole_and_an_older_outbox_file_takes_it(tmp_path: Path) -> None:
    db = tmp_path / "relay.db"
    box = RelayOutbox(db)
    assert box.look_requests() == [] and box.look_requests_read_at() is None
    box._db.execute("DROP TABLE look_requests")  # an outbox an older relay made
    box.close()
    box = RelayOutbox(db)
    later, earlier = (
        request(1, T0 + timedelta(minutes=5)),
        request(2, T0.astimezone(timezone(timedelta(hours=8)))),
    )
    box.replace_look_requests([later, earlier], now=1_800_000_000)
    assert box.look_requests() == [earlier, later]  # oldest asked first, whatever the zone said
    assert box.look_requests_read_at() == 1_800_000_000
    box.replace_look_requests([later])  # replaced, not added to
    assert box.look_requests() == [later]
    (pages,) = box._db.execute("PRAGMA page_count").fetchone()
    box._db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full
    many = [request(i, note="x" * 500) for i in range(100)]
    with pytest.raises(sqlite3.Error, match="full"):
        box.replace_look_requests(many)
    assert box.look_requests() == [later]  # one transaction: the last list stays, whole
    box.close()


# --- gcs alerts, offline ----------------------------------------------------------------------------


def _local(at: datetime) -> str:
    """As the station's lines give a time: HH:MM, with the date on another day (a test run at midnight)."""
    return local_hhmm(at, datetime.now(UTC))


def _cells(line: str) -> list[str]:
    """A rich table row's (or header's) cells."""
    return [c.strip() for c in line.replace("┃", "│").strip("│ ").split("│")]


def test_gcs_alerts_marks_the_finds_asked_and_says_how_to_fly_there(tmp_path: Path) -> None:
    db = tmp_path / "relay.db"
    box = RelayOutbox(db)
    for i in range(3):
        a = json.loads(make_alert(i, drone="d2" if i == 2 else "d1").model_dump_json())
        assert box.put(a, json.dumps(a))
    now = datetime.now(UTC).replace(microsecond=0)
    seen = now - timedelta(minutes=4)
    asked = request(1, now - timedelta(minutes=3), note="is it a bag or a bottle?", last_seen=seen)
    elsewhere = request(9, now, drone="d2")  # a find this outbox has forgotten: flown to by position
    box.replace_look_requests([asked, elsewhere])
    box.close()

    run = CliRunner().invoke(app, ["alerts", "--db", str(db)])
    assert run.exit_code == 0, run.output
    rows = {_cells(line)[0]: _cells(line) for line in run.stdout.splitlines() if line.count("│") > 5}
    assert _cells(run.stdout.splitlines()[2])[:3] == ["id", "class", "look"]
    assert rows[str(asked.alert_id)[:8]][2] == "asked" and rows[str(make_alert(0).alert_id)[:8]][2] == ""
    text = " ".join(run.stdout.split())
    short = str(asked.alert_id)[:8]
    assert (
        f"{short} bottle, last seen {_local(seen)}: alice asked for a closer look at {_local(asked.asked_at)}"
        f' ("is it a bag or a'
        f' bottle?"): riverpatrol gcs mission goto {short}' in text
    )
    assert f"riverpatrol gcs mission goto {elsewhere.lat:.6f},{elsewhere.lon:.6f}" in text

    only = CliRunner().invoke(app, ["alerts", "--db", str(db), "--looks"])
    assert only.exit_code == 0, only.output
    assert "2 open closer-look request(s)" in only.stdout
    assert _cells(only.stdout.splitlines()[2]) == [
        "id",
        "class",
        "lat",
        "lon",
        "last seen",
        "drone",
        "asked by",
        "asked at",
        "note",
    ]
    row = next(line for line in only.stdout.splitlines() if line.startswith("│ " + short))
    assert _cells(row) == [short, "bottle", f"{asked.lat:.6f}", f"{asked.lon:.6f}", _local(seen), "d1",
                     "alice", _local(asked.asked_at), "is it a bag or a bottle?"]  # fmt: skip

    lines = CliRunner().invoke(app, ["alerts", "--db", str(db), "--looks", "--json", "--drone", "d1"])
    (got,) = [json.loads(x) for x in lines.stdout.splitlines()]
    assert LookRequest.model_validate(got) == asked
    assert got["command"] == f"riverpatrol gcs mission goto {short}"
    clash = CliRunner().invoke(app, ["alerts", "--db", str(db), "--looks", "--rejected"])
    assert clash.exit_code == 2


def test_gcs_alerts_says_how_each_find_drifts_and_flies_to_where_it_is_now(tmp_path: Path) -> None:
    """Where a find was seen is not where it is minutes later: the tables say how it drifts beside
    where it was seen, and a find flown to by position is flown to where it likely is now."""
    db = tmp_path / "relay.db"
    box = RelayOutbox(db)
    for a in (make_alert(0), make_alert(1).model_copy(update={"drift": EAST})):
        raw = a.model_dump_json()
        assert box.put(json.loads(raw), raw)
    now = datetime.now(UTC).replace(microsecond=0)
    seen = now - timedelta(minutes=4)
    known = request(1, now - timedelta(minutes=3), last_seen=seen, drift=EAST)
    elsewhere = request(9, now, drone="d2", last_seen=seen, drift=EAST)  # not in this outbox
    box.replace_look_requests([known, elsewhere])
    box.close()

    run = CliRunner().invoke(app, ["alerts", "--db", str(db)], env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output
    assert _cells(run.stdout.splitlines()[2])[:6] == ["id", "class", "look", "lat", "lon", "drift"]
    rows = {_cells(line)[0]: _cells(line) for line in run.stdout.splitlines() if line.count("│") > 5}
    assert rows[str(known.alert_id)[:8]][5] == "0.28 m/s E"
    assert rows[str(make_alert(0).alert_id)[:8]][5] == "-"  # the drone could not tell
    narrow = CliRunner().invoke(app, ["alerts", "--db", str(db)], env={"COLUMNS": "80"})
    assert "drift" in _cells(narrow.stdout.splitlines()[2])  # beside where it was seen, on any terminal
    text = " ".join(run.stdout.split())
    short = str(known.alert_id)[:8]
    assert f"{short} bottle, last seen {_local(seen)}, drifting 0.28 m/s toward E: alice asked" in text
    assert text.count(f"riverpatrol gcs mission goto {short}") == 1  # by id: goto predicts it itself

    listed = CliRunner().invoke(app, ["alerts", "--db", str(db), "--looks", "--json"])
    got = {r["alert_id"]: r for r in map(json.loads, listed.stdout.splitlines())}
    assert got[str(known.alert_id)]["command"] == f"riverpatrol gcs mission goto {short}"
    target = got[str(elsewhere.alert_id)]["command"].split()[-1]
    w = where_now(elsewhere.lat, elsewhere.lon, EAST, seen, datetime.now(UTC))
    lat, lon = map(float, target.split(","))
    assert 66 < w.moved_m < 70 and geo.distance_m(lat, lon, w.lat, w.lon) < 1.0, target
    only = CliRunner().invoke(app, ["alerts", "--db", str(db), "--looks"], env={"COLUMNS": "200"})
    assert _cells(only.stdout.splitlines()[2])[4:7] == ["last seen", "drift", "drone"]
    row = next(line for line in only.stdout.splitlines() if line.startswith("│ " + short))
    assert _cells(row)[4:6] == [_local(seen), "0.28 m/s E"]


def test_the_fleet_dashboard_shows_the_open_requests_under_the_fleet(tmp_path: Path) -> None:
    """The operator watching `gcs status` in flight sees each request and the command that flies there."""
    from rich.console import Console

    from ground_station.fleet.cli import _relay_view
    from ground_station.fleet.render import Snapshot, table

    db = tmp_path / "relay.db"
    box = RelayOutbox(db)
    raw = make_alert(1).model_dump_json()
    assert box.put(json.loads(raw), raw)
    box.replace_look_requests([request(1, datetime.now(UTC), "how big?"), request(2)])
    box.close()
    view = _relay_view(db)
    console = Console(width=200, record=True)
    console.print(table(Snapshot([], view, "127.0.0.1:1883", True, 0, None)))
    lines = [ln for ln in console.export_text().splitlines() if "asked for a closer look" in ln]
    a1, a2 = make_alert(1), make_alert(2)
    assert len(lines) == 2
    assert lines[0].endswith(
        f"riverpatrol gcs mission goto {a2.lat:.6f},{a2.lon:.6f}"
    )  # oldest; not in this outbox
    assert lines[1].startswith(f"{str(a1.alert_id)[:8]} bottle: alice asked for a closer look at ")
    assert lines[1].endswith(f'("how big?"): riverpatrol gcs mission goto {str(a1.alert_id)[:8]}')


def test_without_requests_the_alerts_table_is_as_it_was(tmp_path: Path) -> None:
    db = tmp_path / "relay.db"
    box = RelayOutbox(db)
    a = json.loads(make_alert(0).model_dump_json())
    assert box.put(a, json.dumps(a))
    box.close()
    run = CliRunner().invoke(app, ["alerts", "--db", str(db)])
    assert "look" not in run.stdout.splitlines()[2] and "closer look" not in run.stdout
    looks = CliRunner().invoke(app, ["alerts", "--db", str(db), "--looks"])
    assert "0 open closer-look request(s), the relay has not read them from the cloud yet" in " ".join(
        looks.stdout.split()
    )


# --- a cloud that answers what it answers ------------------------------------------------------------


class FixedCloud:
    """A real HTTP server answering ``GET /api/v1/look-requests`` with what the test sets: an older
    cloud (404), garbage, or a list."""

    def __init__(self) -> None:
        self.status, self.body = 404, b'{"detail": "Not Found"}'
        self.gets = 0
        cloud = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def do_GET(self) -> None:
                cloud.gets += 1
                status, body = cloud.status, cloud.body
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, status: int, body: bytes) -> None:
        self.status, self.body, self.gets = status, body, 0

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fixed_cloud() -> Iterator[FixedCloud]:
    c = FixedCloud()
    yield c
    c.close()


def test_the_poller_says_why_it_read_nothing(fixed_cloud: FixedCloud, caplog) -> None:
    caplog.set_level(logging.INFO, logger="riverpatrol.gcs.relay")
    poller = LookPoller(fixed_cloud.url, STATION_TOKEN, timeout_s=3)
    try:
        assert poller.poll() is None and poller.poll() is None and poller.supported is False
        older = [r for r in caplog.records if "takes no closer-look requests" in r.getMessage()]
        assert len(older) == 1 and poller.failures == 0 and poller.last_error is None  # said once
        fixed_cloud.answer(200, b"<html>a proxy's error page</html>")
        assert poller.poll() is None and poller.failures == 1
        assert poller.last_error is not None and poller.last_error.startswith(
            "the cloud's answer breaks the contract: payload: Invalid JSON"
        )
        fixed_cloud.answer(200, b'{"items": [{"alert_id": "not-a-uuid"}]}')
        assert poller.poll() is None and poller.failures == 2
        assert "items.0.alert_id" in (poller.last_error or "")
        fixed_cloud.answer(401, b'{"detail": "bad token"}')
        assert poller.poll() is None and poller.last_error == 'HTTP 401: {"detail": "bad token"}'
        fixed_cloud.answer(
            200, json.dumps({"items": [request(1).model_dump(mode="json") | {"new": 1}]}).encode()
        )
        got = poller.poll()
        assert got is not None and got.items == [request(1)] and poller.supported is True
        assert poller.last_error is None
    finally:
        poller.close()
    bad = LookPoller(f"http://127.0.0.1:{free_port()}", timeout_s=1)  # nobody there
    assert bad.poll() is None and (bad.last_error or "").startswith("cloud unreachable: ConnectError")
    bad.close()


def test_the_relay_keeps_running_through_an_older_cloud_and_garbage(
    fixed_cloud: FixedCloud, tmp_path: Path, caplog
) -> None:
    caplog.set_level(logging.INFO, logger="riverpatrol.gcs.relay")
    relay = Relay(
        RelayConfig(db_path=tmp_path / "relay.db", cloud_url=fixed_cloud.url, token=STATION_TOKEN,
                    mqtt_port=free_port(), looks_every_s=0.05)
    )  # fmt: skip
    relay.start()
    try:
        assert wait_until(lambda: fixed_cloud.gets >= 3, 10)  # an older cloud: asked on, said once
        assert relay.looks is not None and relay.looks.supported is False
        assert sum("takes no closer-look requests" in r.getMessage() for r in caplog.records) == 1

        asked = request(1, datetime.now(UTC))
        fixed_cloud.answer(200, json.dumps({"items": [asked.model_dump(mode="json")]}).encode())
        assert wait_until(lambda: relay.outbox.look_requests() == [asked], 10)
        assert relay.config.registry.get_sample_value("relay_look_requests_open") == 1
        (said,) = [r for r in caplog.records if r.getMessage() == "inspector asked for a closer look"]
        # the outbox has no such alert: flown to by where the cloud says it is
        assert said.fields["command"] == f"riverpatrol gcs mission goto {asked.lat:.6f},{asked.lon:.6f}"

        fixed_cloud.answer(200, b"garbage")
        assert wait_until(lambda: relay.looks.failures >= 3, 10)
        assert "breaks the contract" in (relay.looks.last_error or "")
        assert relay.outbox.look_requests() == [asked]  # the last list read stands meanwhile
        assert sum(r.getMessage() == "closer-look requests not read" for r in caplog.records) == 1

        fixed_cloud.answer(404, b"{}")  # downgraded: it asks for none
        assert wait_until(lambda: relay.outbox.look_requests() == [], 10)
        assert relay.config.registry.get_sample_value("relay_look_requests_open") == 0
        assert relay._thread is not None and relay._thread.is_alive()
    finally:
        relay.stop()


# --- the whole way: drone -> relay -> cloud, inspector asks, relay shows it, a newer view closes it --


def _publish(port: int, alert: Alert) -> None:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"drone-{uuid.uuid4().hex[:6]}",
                    protocol=mqtt.MQTTv5)  # fmt: skip
    c.connect("127.0.0.1", port)
    c.loop_start()
    try:
        c.publish(
            topics.drone_topic(alert.drone_id, topics.ALERTS), alert.model_dump_json(), qos=1
        ).wait_for_publish(10)
    finally:
        c.loop_stop()
        c.disconnect()


def _log_lines(path: Path) -> list[dict]:
    out = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError):
            out.append(json.loads(line))
    return out


def test_an_inspectors_closer_look_reaches_the_operator_and_a_newer_view_closes_it(
    mosquitto, cloud: CloudProcess, tmp_path: Path
) -> None:
    db, log = tmp_path / "relay.db", tmp_path / "relay.log"
    env = env_with_repo() | {
        "RIVERPATROL_GCS_RELAY_LOOKS_POLL_S": "0.2",
        "RIVERPATROL_GCS_RELAY_STATUS_EVERY_S": "0.2",
        "RIVERPATROL_GCS_DATA_DIR": str(tmp_path / "gcs"),
    }
    cmd = [sys.executable, "-m", "riverpatrol", "gcs", "relay", "--broker", f"127.0.0.1:{mosquitto.port}",
           "--cloud", cloud.url, "--token", STATION_TOKEN, "--db", str(db)]  # fmt: skip
    with log.open("w") as err:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        found = make_alert(1)
        assert wait_until(lambda: proc.poll() is None and _subscribed(log), 30), log.read_text()
        _publish(mosquitto.port, found)
        assert wait_until(lambda: cloud.count() == 1, 20), log.read_text()

        inspector = {"Authorization": f"Bearer {INSPECTOR_TOKEN}"}
        url = f"{cloud.url}/api/v1/alerts/{found.alert_id}/look"
        r = httpx.post(url, json={"note": "is it a bag?"}, headers=inspector, timeout=10)
        assert r.status_code == 200, r.text

        def listed() -> list[dict]:
            run = CliRunner().invoke(app, ["alerts", "--db", str(db), "--looks", "--json"])
            assert run.exit_code == 0, run.output
            return [json.loads(x) for x in run.stdout.splitlines()]

        assert wait_until(lambda: len(listed()) == 1, 10), log.read_text()
        (got,) = listed()
        short = str(found.alert_id)[:8]
        assert got["alert_id"] == str(found.alert_id) and got["asked_by"] == "alice"
        assert got["note"] == "is it a bag?" and got["drone_id"] == "d1"
        assert got["command"] == f"riverpatrol gcs mission goto {short}"
        asked_at = datetime.fromisoformat(got["asked_at"])
        box = RelayOutbox(db)
        assert [str(x.alert_id) for x in box.look_requests()] == [str(found.alert_id)]
        box.close()
        table = CliRunner().invoke(app, ["alerts", "--db", str(db)])
        assert f"riverpatrol gcs mission goto {short}" in table.stdout and "asked" in table.stdout
        said = next(x for x in _log_lines(log) if x["msg"] == "inspector asked for a closer look")
        assert said["asked_by"] == "alice" and said["note"] == "is it a bag?" and said["lat"] == found.lat
        assert said["command"] == f"riverpatrol gcs mission goto {short}"
        assert wait_until(lambda: any(x.get("look_requests") == 1 for x in _log_lines(log)), 5)

        seen = max(datetime.now(UTC), asked_at) + timedelta(seconds=1)  # the drone flew there after
        closer = found.model_copy(
            update={
                "revision": 1, "event": AlertEvent.UPDATE, "captured_at": seen, "published_at": seen,
                "track": found.track.model_copy(update={"last_seen": seen, "sightings": 9}),
            }
        )  # fmt: skip
        _publish(mosquitto.port, closer)
        assert wait_until(lambda: listed() == [], 10), log.read_text()
        done = next(x for x in _log_lines(log) if x["msg"] == "closer look done")
        assert (
            done["alert_id"] == str(found.alert_id) and done["why"] == "a newer photo of it reached the cloud"
        )
        assert "closer look" not in CliRunner().invoke(app, ["alerts", "--db", str(db)]).stdout
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)


def _subscribed(log: Path) -> bool:
    """The relay's status line says it has the broker (subscribed: ready for the drone's alert)."""
    return any(x.get("broker_connected") for x in _log_lines(log))


def test_the_operator_says_the_find_was_not_there_and_the_request_closes(
    cloud: CloudProcess, tmp_path: Path
) -> None:
    """The drone flew to the point and the find had drifted on: `gcs look-missed` closes the request
    without a photo, with what the operator saw, for the inspector; `gcs alerts --looks` drops it."""
    station = {"Authorization": f"Bearer {STATION_TOKEN}"}
    found = make_alert(4)
    assert httpx.post(f"{cloud.url}/api/v1/alerts", content=f"[{found.model_dump_json()}]",
                      headers={**station, "Content-Type": "application/json"}).status_code == 200  # fmt: skip
    aid = str(found.alert_id)
    inspector = {"Authorization": f"Bearer {INSPECTOR_TOKEN}"}
    assert httpx.post(f"{cloud.url}/api/v1/alerts/{aid}/look", headers=inspector, json={}).status_code == 200
    read = httpx.get(f"{cloud.url}/api/v1/look-requests", headers=station).json()["items"]
    (tmp_path / "gs").mkdir()
    db = tmp_path / "gs" / "relay.db"
    box = RelayOutbox(db)  # as the relay keeps what it read
    box.replace_look_requests([LookRequest.model_validate(q) for q in read])
    box.close()
    args = ["look-missed", "--cloud", cloud.url, "--token", STATION_TOKEN, "--db", str(db)]

    run = CliRunner().invoke(app, [*args, aid[:8], "--why", "drifted under the bridge"])
    assert run.exit_code == 0, run.output
    assert run.stdout.strip() == f"{aid[:8]} bottle: told alice the drone did not find it there"
    item = httpx.get(f"{cloud.url}/api/v1/alerts/{aid}").json()
    assert (item["look_outcome"], item["look_answer"]) == ("not_found", "drifted under the bridge")
    assert item["look_done_at"] is not None
    assert httpx.get(f"{cloud.url}/api/v1/look-requests", headers=station).json() == {"items": []}
    assert (
        "0 open closer-look request(s)"
        in CliRunner().invoke(app, ["alerts", "--db", str(db), "--looks"]).stdout
    )

    again = CliRunner().invoke(app, [*args, aid[:8]])  # nothing open for it any more
    assert again.exit_code == 3 and "no open closer-look request" in again.output
    box = RelayOutbox(db)  # the relay had not read that yet: the cloud says why it refuses
    box.replace_look_requests([LookRequest.model_validate(q) for q in read])
    box.close()
    refused = CliRunner().invoke(app, [*args, aid[:8]])
    assert refused.exit_code == 5 and "no closer look of it is open" in refused.output
    away = CliRunner().invoke(app, [*args[:1], "--cloud", "http://127.0.0.1:9", "--db", str(db), aid[:8]])
    assert away.exit_code == 4 and "cannot reach the cloud" in away.output
