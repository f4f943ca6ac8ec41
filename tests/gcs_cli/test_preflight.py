"""Before a take-off the operator's CLI asks the drone's edge agent, over a real broker, whether its
camera, detector and autopilot link are fine; a patrol flown blind finds nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from contract import geo, topics
from contract.messages import Telemetry
from ground_station.fleet.model import DroneRow, Link
from ground_station.missions.preflight import (
    FAILSAFE_PARAMS,
    PayloadNotReady,
    agent_here,
    agents_at,
    choose_agent,
    failsafe_problems,
    payload_problems,
)
from sim.vehicle import SimVehicle
from tests.conftest import free_port
from tests.gcs_cli.test_mission_flight import patrol_file


def row(drone: str = "river-1", link: Link = Link.ONLINE, **fields: object) -> DroneRow:
    base: dict = {"mode": "STABILIZE", "camera": "ok", "detect_fps": 6.0, "telemetry_link_ok": True}
    return DroneRow(drone_id=drone, link=link, **{"last_heard_s": 0.4, **base, **fields})


def test_what_stops_a_take_off_and_what_does_not() -> None:
    assert payload_problems(row()) == []
    assert payload_problems(row(camera=None, detect_fps=None, telemetry_link_ok=None)) == []  # an older agent
    assert payload_problems(row(camera="no frame for 12 s", detect_fps=0.0)) == [
        "river-1: camera no frame for 12 s"
    ]
    assert payload_problems(row(detect_fps=0.0)) == ["river-1: the detector runs no frames (0 per second)"]
    assert "does not hear the autopilot" in payload_problems(row(telemetry_link_ok=False))[0]
    assert payload_problems(row(link=Link.OFFLINE, reason="lwt", last_heard_s=42.0)) == [
        "river-1: its edge agent is offline (lwt), last heard 42 s ago"
    ]
    assert payload_problems(row(mode=None)) == ["river-1: no telemetry from its edge agent yet"]


def test_a_vehicle_that_would_not_turn_home_on_a_low_battery_is_named_and_why() -> None:
    good = {"BATT_MONITOR": 4, "BATT_LOW_VOLT": 14.2, "BATT_LOW_MAH": 0, "BATT_CRT_VOLT": 13.4,
            "BATT_CRT_MAH": 0, "BATT_FS_LOW_ACT": 2, "BATT_FS_CRT_ACT": 1, "FENCE_ENABLE": 1,
            "SRTL_POINTS": 300}  # fmt: skip
    assert set(good) == set(FAILSAFE_PARAMS) and failsafe_problems(good) == ([], [])
    (p,), _ = failsafe_problems({**good, "BATT_MONITOR": 0})
    assert "no battery monitor (BATT_MONITOR 0)" in p
    (p,), _ = failsafe_problems({**good, "BATT_LOW_VOLT": 0, "BATT_CRT_VOLT": 0})  # ArduCopter's defaults
    assert p.startswith("no battery failsafe level") and "will not turn it home" in p
    (p,), _ = failsafe_problems({**good, "BATT_FS_LOW_ACT": 0, "BATT_FS_CRT_ACT": 0})
    assert p.startswith("the battery failsafe does nothing")
    assert failsafe_problems({**good, "BATT_FS_LOW_ACT": 0}) == ([], [])  # the critical level still acts
    assert failsafe_problems({**good, "BATT_LOW_VOLT": None, "BATT_CRT_VOLT": 0, "BATT_LOW_MAH": 0})[0] == []
    assert failsafe_problems({})[0] == []  # a vehicle that gives none of them is not judged
    assert failsafe_problems({**good, "FENCE_ENABLE": 0}) == (
        [],
        [failsafe_problems({"FENCE_ENABLE": 0})[1][0]],
    )
    assert "geofence off" in failsafe_problems({"FENCE_ENABLE": 0})[1][0]
    assert "SmartRTL is off (SRTL_POINTS 0)" in failsafe_problems({**good, "SRTL_POINTS": 0})[1][0]


def test_which_agent_is_judged() -> None:
    one, two = row("river-1"), row("river-2")
    assert choose_agent([one], "") is one
    assert choose_agent([one, two], "river-2") is two
    assert choose_agent([one, row("river-2", Link.STALE)], "") is one  # the only one online
    for rows, wanted, says in (
        ([one, two], "", "2 edge agents online (river-1, river-2): name this drone's with --drone"),
        ([], "", "no edge agent heard on the broker"),
        ([one], "river-9", "no edge agent 'river-9' heard on the broker (heard: river-1)"),
    ):
        with pytest.raises(PayloadNotReady, match=says.replace("(", r"\(").replace(")", r"\)")):
            choose_agent(rows, wanted)


def test_the_agent_where_the_vehicle_is_is_its_own() -> None:
    """Every agent reports where its drone is (the autopilot's fix): the one at the vehicle's
    position rides on it, so a fleet needs no --drone, and a far agent's payload is not judged."""
    here = (22.5205, 114.0632)

    def at(drone: str, north_m: float, **fields: object) -> DroneRow:
        lat, lon = geo.offset(*here, north_m, 0.0)
        return row(drone, lat=lat, lon=lon, **fields)

    this, other, far = at("river-1", 12.0), at("river-2", 900.0), at("river-3", 3100.0)
    assert choose_agent([this, other], "", here) is this  # two online: the one here, no --drone
    assert agents_at([far, other, this], here, within_m=1000.0) == [this, other]  # nearest first
    assert agent_here([this, other], here) == "river-1"
    assert agent_here([this, at("river-4", -20.0)], here) is None  # two on the launch pad
    assert agent_here([this], None) is None  # the vehicle gave no position
    assert agent_here([at("river-1", 12.0, link=Link.STALE)], here) is None  # not heard lately
    # an agent deaf to its autopilot reports a stale position: not placed, judged by the old rule,
    # which names what is wrong with it
    deaf = at("river-1", 3100.0, telemetry_link_ok=False)
    assert choose_agent([deaf], "", here) is deaf and agent_here([deaf], here) is None
    assert choose_agent([this, other], "river-2", here) is other  # --drone is obeyed
    for rows, says in (
        ([far], "no edge agent online where this vehicle is (the nearest, river-3, is 3,100 m away)"),
        ([this, at("river-4", -20.0)], "2 edge agents online where this vehicle is (river-1, river-4)"),
    ):
        with pytest.raises(PayloadNotReady, match=says.replace("(", r"\(").replace(")", r"\)")):
            choose_agent(rows, "", here)


def test_the_agent_that_says_the_vehicles_board_is_its_own() -> None:
    """Two drones on one launch pad are both where the vehicle is; the flight controller's board id
    each agent reports tells them apart, and a named agent on another board is not judged."""
    here = (22.5205, 114.0632)
    lat, lon = geo.offset(*here, 4.0, 0.0)
    this, beside = (
        row("river-1", lat=lat, lon=lon, board_id="aa01"),
        row("river-4", lat=lat, lon=lon, board_id="bb02"),
    )
    older = row("river-5", lat=lat, lon=lon)  # an agent that does not say its board
    assert agent_here([this, beside], here) is None  # by position alone: two on the pad
    assert agent_here([this, beside], here, "aa01") == "river-1"
    assert agent_here([this, beside], None, "aa01") == "river-1"  # no position needed
    assert choose_agent([beside, this], "", here, "aa01") is this
    assert choose_agent([beside, older], "", here, "aa01") is older  # the one not on another board
    assert agent_here([beside, older], here, "aa01") == "river-5"
    far = row(
        "river-1", board_id="aa01", **dict(zip(("lat", "lon"), geo.offset(*here, 3000.0, 0.0), strict=True))
    )
    assert choose_agent([far, beside], "", here, "aa01") is far  # its board, wherever it says it is
    assert choose_agent([this], "river-1", here, "aa01") is this
    twin = row("river-6", board_id="aa01")
    for rows, drone, says in (
        (
            [this, beside],
            "river-4",
            "'river-4' rides another flight controller (board bb02) than this vehicle's",
        ),
        ([beside], "", "no edge agent online rides this vehicle (board aa01): river-4 says another board"),
        ([this, twin], "", "2 edge agents online say they ride this vehicle (board aa01) (river-1, river-6)"),
    ):
        with pytest.raises(PayloadNotReady, match=says.replace("(", r"\(").replace(")", r"\)")):
            choose_agent(rows, drone, here, "aa01")


class Agent:
    """Telemetry as the edge agent publishes it, twice a second, with the camera state we set."""

    def __init__(self, port: int, drone_id: str) -> None:
        self.drone_id, self.camera, self.fps = drone_id, "no frame for 12 s", 0.0
        self.board: str | None = None  # the board id of the autopilot it says it rides
        self.lat, self.lon = 22.5205, 114.0632  # the simulator's home
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"edge-{drone_id}")
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        topic = topics.drone_topic(self.drone_id, topics.TELEMETRY)
        while not self._stop.wait(0.5):
            t = Telemetry(
                drone_id=self.drone_id, time=datetime.now(UTC), lat=self.lat, lon=self.lon, alt_rel_m=0.0,
                heading_deg=0.0, groundspeed_mps=0.0, battery_pct=98.0, gps_fix=3, satellites=14,
                mode="STABILIZE", armed=False, camera=self.camera, detect_fps=self.fps, board_id=self.board,
            )  # fmt: skip
            self.client.publish(topic, t.model_dump_json(), qos=0)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def agent(mosquitto) -> Iterator[Agent]:
    a = Agent(mosquitto.port, "river-1")
    yield a
    a.stop()


def test_no_take_off_while_the_camera_is_out_then_it_flies(
    sim: SimVehicle, gcs, agent, mosquitto, tmp_path: Path
) -> None:
    url = f"tcp:127.0.0.1:{sim.tcp_port}"
    home = sim.snapshot()
    plan = patrol_file(tmp_path / "patrol.waypoints", home.lat, home.lon, legs=2)
    assert gcs("mission", "upload", str(plan), "--mavlink", url).returncode == 0
    env = {"RIVERPATROL_GCS_PAYLOAD_CHECK": "true", "RIVERPATROL_GCS_MQTT_PORT": str(mosquitto.port),
           "RIVERPATROL_GCS_PAYLOAD_WAIT_S": "5"}  # fmt: skip

    sim.set_param("BATT_FS_LOW_ACT", 0)
    sim.set_param("BATT_FS_CRT_ACT", 0)
    no_way_home = gcs("mission", "start", "--mavlink", url, **env)
    assert no_way_home.returncode == 9, no_way_home.stderr
    assert "the vehicle would not come home by itself" in no_way_home.stderr
    assert (
        "BATT_FS_LOW_ACT and BATT_FS_CRT_ACT 0" in no_way_home.stderr
        and "--no-failsafe-check" in no_way_home.stderr
    )
    assert not sim.snapshot().armed
    sim.set_param("BATT_FS_LOW_ACT", 2)

    blind = gcs("mission", "start", "--mavlink", url, **env)
    assert blind.returncode == 8, blind.stderr
    assert "not taking off, the payload is not ready" in blind.stderr
    assert "river-1: camera no frame for 12 s" in blind.stderr and "--no-payload-check" in blind.stderr
    assert not sim.snapshot().armed

    nobody = gcs("mission", "start", "--mavlink", url, "--drone", "river-2", **env)
    assert nobody.returncode == 8 and "no edge agent 'river-2' heard" in nobody.stderr

    elsewhere = {**env, "RIVERPATROL_GCS_MQTT_PORT": str(free_port()), "RIVERPATROL_GCS_PAYLOAD_WAIT_S": "2"}
    no_broker = gcs("mission", "start", "--mavlink", url, **elsewhere)
    assert no_broker.returncode == 8 and "cannot reach the broker at 127.0.0.1:" in no_broker.stderr

    agent.camera, agent.fps = "ok", 6.0  # the camera plugged back in
    flies = gcs("mission", "start", "--mavlink", url, "--drone", "river-1", **env)
    assert flies.returncode == 0, flies.stderr
    assert "payload ready" in flies.stderr and "battery failsafe set" in flies.stderr
    assert "note: geofence off" in flies.stderr
    assert sim.snapshot().armed


def _patrol_uploaded(sim: SimVehicle, gcs, mosquitto, tmp_path: Path):
    """A patrol uploaded to the simulator: its url, its snapshot at home, and the station's
    environment to hear agents on the broker (``broker``) and to check the payload (``check``)."""
    url = f"tcp:127.0.0.1:{sim.tcp_port}"
    home = sim.snapshot()
    plan = patrol_file(tmp_path / "patrol.waypoints", home.lat, home.lon, legs=2)
    assert gcs("mission", "upload", str(plan), "--mavlink", url).returncode == 0
    broker = {"RIVERPATROL_GCS_MQTT_PORT": str(mosquitto.port), "RIVERPATROL_GCS_FLEET_STALE_S": "2"}
    check = {**broker, "RIVERPATROL_GCS_PAYLOAD_CHECK": "true", "RIVERPATROL_GCS_PAYLOAD_WAIT_S": "5"}
    return url, home, broker, check


def test_the_agent_where_the_vehicle_is_names_it_and_is_the_one_judged(
    sim: SimVehicle, gcs, gcs_bg, agent, mosquitto, tmp_path: Path
) -> None:
    """No ``drone_id`` set: the station tells this vehicle's agent by where its telemetry puts it.
    Its logbook then names the vehicle as the drone's own does (one flight in the cloud, not two),
    and an agent riding another drone is not judged for this one's take-off."""
    url, home, broker, check = _patrol_uploaded(sim, gcs, mosquitto, tmp_path)
    agent.camera, agent.fps = "ok", 6.0
    agent.lat, agent.lon = geo.offset(home.lat, home.lon, 3000.0, 0.0)  # it rides another drone

    elsewhere = gcs("mission", "start", "--mavlink", url, **check)
    assert elsewhere.returncode == 8, elsewhere.stderr
    assert "no edge agent online where this vehicle is (the nearest, river-1, is 3,0" in elsewhere.stderr
    assert not sim.snapshot().armed
    unnamed = gcs_bg("mission", "watch", "--mavlink", url, **broker)
    assert unnamed.stderr is not None
    assert unnamed.stderr.readline().startswith("note: naming the vehicle sysid-1: no edge agent heard")
    assert unnamed.stderr.readline().startswith("following sysid-1:")
    unnamed.kill()

    agent.lat, agent.lon = home.lat, home.lon  # this vehicle's agent
    named = gcs_bg("mission", "watch", "--mavlink", url, **broker)
    assert named.stderr is not None and named.stderr.readline().startswith("following river-1:")
    named.kill()
    flies = gcs("mission", "start", "--mavlink", url, **check)
    assert flies.returncode == 0, flies.stderr
    assert "reported fine by the edge agent (river-1)" in flies.stderr and sim.snapshot().armed


def test_two_drones_on_one_launch_pad_are_told_apart_by_their_boards(
    sim: SimVehicle, gcs, gcs_bg, agent, mosquitto, tmp_path: Path
) -> None:
    """Two drones stand side by side, each with its agent up: both are where the vehicle is. The
    agent that reports this vehicle's board id is its own; it names the vehicle and is the one
    judged, and the drone beside it (camera out) does not stop this one's take-off."""
    url, home, broker, check = _patrol_uploaded(sim, gcs, mosquitto, tmp_path)
    agent.camera, agent.fps = "ok", 6.0
    beside = Agent(mosquitto.port, "river-4")  # camera out, 3 m away on the same pad
    beside.lat, beside.lon = geo.offset(home.lat, home.lon, 3.0, 0.0)
    try:
        unsure = gcs("mission", "start", "--mavlink", url, **check)  # neither says its board
        assert unsure.returncode == 8 and "2 edge agents online where this vehicle is" in unsure.stderr
        agent.board, beside.board = f"{0x5250_0000 + home.sysid:016x}", "00000000525000ff"
        time.sleep(1.0)  # a telemetry period: both now say their boards
        named = gcs_bg("mission", "watch", "--mavlink", url, **broker)
        assert named.stderr is not None and named.stderr.readline().startswith("following river-1:")
        named.kill()
        other = gcs("mission", "start", "--mavlink", url, "--drone", "river-4", **check)
        assert other.returncode == 8, other.stderr
        assert "'river-4' rides another flight controller (board 00000000525000ff)" in other.stderr
        flies = gcs("mission", "start", "--mavlink", url, **check)
        assert flies.returncode == 0, flies.stderr
        assert "reported fine by the edge agent (river-1)" in flies.stderr and sim.snapshot().armed
    finally:
        beside.stop()
