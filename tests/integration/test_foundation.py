"""Issue 2 end to end: the simulator, the operator's MAVLink client and the edge telemetry agent,
over real sockets on loopback, as the issue lists them."""

from __future__ import annotations

import random
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mav

import contract.mavlink  # noqa: F401  (MAVLink 2 + ardupilotmega before pymavlink)
from contract import geo
from edge.settings import EdgeSettings
from edge.telemetry.link import TelemetryLink
from ground_station.mavlink import MissionItem, VehicleClient, waypoint
from sim.settings import VehicleSettings
from sim.vehicle import SimVehicle
from tests.conftest import free_port


def _vehicle(**kw) -> SimVehicle:
    base = dict(tcp_port=0, udp_out=[], speedup=20, ekf_ready_s=8, params={"DISARM_DELAY": 0})
    return SimVehicle(VehicleSettings(**{**base, **kw}))


def _wait(pred, timeout: float, what: str, poll: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_five_waypoint_patrol_edge_follows_to_the_last_waypoint() -> None:
    with _vehicle(wind_speed=4.0, wind_gust=1.0, seed=3) as sim:
        url = f"tcp:127.0.0.1:{sim.tcp_port}"
        edge = TelemetryLink(EdgeSettings(mavlink=url, link_timeout=2.0, stream_check_s=1.0)).start()
        gcs = VehicleClient.connect(url, heartbeat_timeout=10.0, timeout=1.0)
        try:
            home = sim.snapshot()
            legs = [(60, 0), (60, 60), (0, 60), (-40, 30), (-40, -20)]
            wps = [geo.offset(home.lat, home.lon, n, e) for n, e in legs]
            items = [MissionItem(1, mav.MAV_CMD_NAV_TAKEOFF, alt=20.0)]
            items += [waypoint(i + 2, lat, lon, 25.0) for i, (lat, lon) in enumerate(wps)]
            gcs.upload_mission(items)

            back = gcs.download_mission()  # read back identical, field by field
            assert len(back) == len(items)
            for a, b in zip(items, back, strict=True):
                assert (a.seq, a.command) == (b.seq, b.command)
                assert b.lat == pytest.approx(a.lat, abs=1e-7) and b.lon == pytest.approx(a.lon, abs=1e-7)
                assert b.alt == pytest.approx(a.alt, abs=1e-3)

            gcs.wait_armable(30.0)
            gcs.set_mode("GUIDED")
            assert gcs.arm().accepted
            gcs.takeoff(20.0)
            sim.wait_for(lambda s: s.alt_rel > 15.0, timeout=30.0)
            gcs.start_mission()

            last_seq = items[-1].seq
            # The edge agent sees the vehicle reach the last waypoint ...
            _wait(lambda: (edge.snapshot().mission_seq or 0) >= last_seq, 60, "edge to see the last item")
            truth = sim.wait_for(
                lambda s: geo.distance_m(s.lat, s.lon, *wps[-1]) < 3.0 and abs(s.alt_rel - 25.0) < 2.0,
                timeout=60,
            )
            # ... and its state matches the simulator's truth there.
            time.sleep(0.3)
            truth = sim.snapshot()
            state = edge.snapshot()
            assert state.mode == "AUTO" and state.armed
            assert geo.distance_m(state.lat, state.lon, truth.lat, truth.lon) < 3.0
            assert state.alt_rel_m == pytest.approx(truth.alt_rel, abs=1.5)
            assert geo.distance_m(state.lat, state.lon, *wps[-1]) < 6.0
            assert state.gps_fix_type >= 3 and state.gps_satellites >= 6
            assert state.battery_remaining_pct is not None and 0 < state.battery_remaining_pct < 100
            pose = edge.pose_at(state.position_time_boot_s - 0.05)  # interpolated, by vehicle time
            assert geo.distance_m(pose.lat, pose.lon, state.lat, state.lon) < 2.0
            assert edge.snapshot().counters.bad_data == 0
        finally:
            gcs.close()
            edge.stop()


def test_arming_without_gps_fix_is_refused_with_a_command_ack() -> None:
    # The GPS has no fix from boot to 10 000 s: the EKF never gets a position.
    with _vehicle(gps_glitches=["0:10000"], ekf_ready_s=1) as sim:
        gcs = VehicleClient.connect(f"tcp:127.0.0.1:{sim.tcp_port}", heartbeat_timeout=10.0, timeout=1.0)
        try:
            time.sleep(0.5)
            result = gcs.arm()
            assert not result.accepted
            assert result.result in (
                mav.MAV_RESULT_FAILED,
                mav.MAV_RESULT_DENIED,
                mav.MAV_RESULT_TEMPORARILY_REJECTED,
            )
            assert result.reason and result.reason.startswith("PreArm")
            assert not sim.snapshot().armed
        finally:
            gcs.close()


def test_telemetry_blackout_is_detected_and_recovery_seen() -> None:
    # 60 simulated seconds of silence at 20x = 3 s of wall time.
    with _vehicle(blackouts=["20:80"], ekf_ready_s=1) as sim:
        edge = TelemetryLink(
            EdgeSettings(mavlink=f"tcp:127.0.0.1:{sim.tcp_port}", link_timeout=1.0, stream_check_s=0.5)
        ).start()
        try:
            _wait(lambda: edge.snapshot().link_up, 10, "link up")
            _wait(lambda: sim.snapshot().t > 20.5, 10, "blackout to start")
            _wait(lambda: not edge.snapshot().link_up, 5, "edge to declare the link lost")
            assert edge.snapshot().link_losses == 1
            _wait(lambda: sim.snapshot().t > 80.5, 10, "blackout to end")
            _wait(lambda: edge.snapshot().link_up, 10, "edge to see the link recovered")
            before = edge.snapshot().time_boot_s
            _wait(lambda: edge.snapshot().time_boot_s > before + 1.0, 5, "fresh telemetry after recovery")
        finally:
            edge.stop()


@contextmanager
def garbage_proxy(target_port: int, every_n_bytes: int = 300, seed: int = 7) -> Iterator[int]:
    """A TCP proxy that splices random garbage bytes into the vehicle->client stream."""
    listen = socket.create_server(("127.0.0.1", free_port()))
    port = listen.getsockname()[1]
    stop = threading.Event()
    rng = random.Random(seed)
    injected = [0]

    def pump(src: socket.socket, dst: socket.socket, dirty: bool) -> None:
        try:
            while not stop.is_set():
                data = src.recv(4096)
                if not data:
                    return
                if dirty:
                    out = bytearray()
                    for i in range(0, len(data), every_n_bytes):
                        out += data[i : i + every_n_bytes]
                        junk = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 64)))
                        if rng.random() < 0.3:
                            junk = b"\xfd" + junk  # looks like the start of a MAVLink 2 frame
                        out += junk
                        injected[0] += len(junk)
                    data = bytes(out)
                dst.sendall(data)
        except OSError:
            return

    def accept() -> None:
        listen.settimeout(0.2)
        while not stop.is_set():
            try:
                client, _ = listen.accept()
            except TimeoutError:
                continue
            upstream = socket.create_connection(("127.0.0.1", target_port))
            threading.Thread(target=pump, args=(upstream, client, True), daemon=True).start()
            threading.Thread(target=pump, args=(client, upstream, False), daemon=True).start()

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        yield port
    finally:
        stop.set()
        t.join(2)
        listen.close()
        assert injected[0] > 0


def test_garbage_on_the_link_neither_crashes_nor_wedges_the_edge_agent() -> None:
    with _vehicle(ekf_ready_s=1) as sim, garbage_proxy(sim.tcp_port) as port:
        edge = TelemetryLink(EdgeSettings(mavlink=f"tcp:127.0.0.1:{port}", link_timeout=2.0)).start()
        gcs = VehicleClient.connect(f"tcp:127.0.0.1:{sim.tcp_port}", heartbeat_timeout=10.0, timeout=1.0)
        try:
            _wait(lambda: edge.snapshot().lat is not None, 15, "position through the garbage")
            gcs.wait_armable(30.0)
            gcs.set_mode("GUIDED")
            assert gcs.arm().accepted
            gcs.takeoff(12.0)
            sim.wait_for(lambda s: s.alt_rel > 10.0, timeout=30.0)
            time.sleep(0.5)
            state = edge.snapshot()
            assert state.counters.bad_data > 0  # it saw the garbage, counted it ...
            assert state.alt_rel_m == pytest.approx(sim.snapshot().alt_rel, abs=2.0)  # ... and kept up
            assert state.mode == "GUIDED" and state.armed and edge.health()["ok"]
        finally:
            gcs.close()
            edge.stop()
