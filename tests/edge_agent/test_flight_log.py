"""The drone logs its own flights: a real SITL flight heard by the real agent, the flight's record
published on the flights topic of a real Mosquitto at landing, through a broker outage."""

from __future__ import annotations

import re
import time

from pymavlink.dialects.v20 import ardupilotmega as mav

import contract.mavlink  # noqa: F401
from contract import topics
from contract.defaults import HOME_LAT, HOME_LON
from contract.geo import distance_m, offset
from contract.messages import Flight
from edge.agent import EdgeAgent
from edge.settings import EdgeSettings
from ground_station.mavlink import MissionItem, VehicleClient, waypoint
from sim.settings import VehicleSettings
from sim.vehicle import SimVehicle
from tests.edge_agent.test_agent import _video
from tests.edge_alerts.mqtt_helpers import Collector, wait_until


def test_the_drone_sends_its_flight_at_landing_and_a_broker_outage_loses_nothing(mosquitto, tmp_path):
    vehicle = SimVehicle(
        VehicleSettings(
            tcp_port=0, udp_out=[], speedup=4.0, ekf_ready_s=1.0,
            params={"DISARM_DELAY": 0, "WPNAV_SPEED": 800, "WPNAV_SPEED_UP": 500, "WPNAV_SPEED_DN": 300,
                    "LAND_SPEED": 150, "LAND_ALT_LOW": 200},
        )
    )  # fmt: skip
    vehicle.start()
    flights = Collector(mosquitto.port, topics.fleet_filter(topics.FLIGHTS))
    agent = EdgeAgent(
        EdgeSettings(
            mavlink=f"tcp:127.0.0.1:{vehicle.tcp_port}", camera=_video(tmp_path / "clip.avi"),
            broker_port=mosquitto.port, outbox_path=tmp_path / "o.db", drone_id="d1", detector_threads=1,
        )
    ).start()  # fmt: skip
    end = offset(HOME_LAT, HOME_LON, 60.0, 0.0)
    client = VehicleClient.connect(f"tcp:127.0.0.1:{vehicle.tcp_port}", heartbeat_timeout=10.0, timeout=1.0)
    try:
        client.upload_mission(
            [MissionItem(1, mav.MAV_CMD_NAV_TAKEOFF, alt=10.0), waypoint(2, *end, 10.0),
             MissionItem(3, mav.MAV_CMD_NAV_LAND)]
        )  # fmt: skip
        client.wait_armable(20.0)
        agent.alerts_this_flight = 7  # as a sortie before this one left it (the video finds nothing)
        client.set_mode("GUIDED")
        assert client.arm().accepted
        client.takeoff(10.0)
        armed_wall = time.monotonic()
        vehicle.wait_for(lambda s: s.alt_rel > 9.0, timeout=30.0)
        assert wait_until(lambda: agent.alerts_this_flight == 0, 2), "a take-off starts the count again"
        client.start_mission()
        vehicle.wait_for(lambda s: distance_m(s.lat, s.lon, *end) < 5.0, timeout=60.0)
        mosquitto.stop()  # the radio link is down as it lands
        vehicle.wait_for(lambda s: not s.armed, timeout=60.0)
        flown_wall = time.monotonic() - armed_wall
        assert wait_until(lambda: agent.outbox.depth() == 1, 5), "the landed flight is kept on the drone"
        assert not (tmp_path / "o.db.flight.json").exists()  # the outbox holds it now, not the checkpoint
        mosquitto.start()
        assert flights.wait_for(lambda p: len(p) >= 1, 20), "the flight never reached the broker"
    finally:
        client.close()
        agent.stop()
        vehicle.stop()
        flights.close()
    (raw,) = flights.payloads()  # one flight, once
    flight = Flight.model_validate_json(raw)
    assert flights.messages[0].topic == "riverpatrol/v1/d1/flights"
    assert flight.vehicle == "d1" and re.fullmatch(r"d1-\d{8}T\d{6}Z", flight.flight_id)
    # timed by the vehicle's GPS clock (SYSTEM_TIME), not the companion's: the simulator runs 4x
    assert (flight.disarmed_at - flight.armed_at).total_seconds() > 3 * flown_wall
    assert 55 < flight.distance_m < 70 and 9.0 < (flight.max_alt_m or 0) < 11.5  # 60 m out, and down
    assert flight.mission_count == 3 and 2 in flight.waypoints_reached
    assert [m.mode for m in flight.modes] == ["GUIDED", "AUTO"]  # a mission's LAND stays in AUTO
    lon, lat = flight.track[-1]
    assert distance_m(lat, lon, *end) < 5.0  # it landed where the mission ended
    assert agent.registry.get_sample_value("riverpatrol_edge_flights_sent_total") == 1
    assert agent.registry.get_sample_value("riverpatrol_edge_alerts_sent_total") == 0
