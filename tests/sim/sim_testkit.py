"""Helpers for the vehicle simulator tests: a plain pymavlink GCS client and mission upload.

The client is deliberately plain pymavlink (``mavutil``), the way MAVProxy and most scripts
talk to SITL, so these tests check the wire, not our own client code. Loaded by path from
``conftest.py`` as ``sim_testkit`` (test folders are not packages).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

# isort: off
import contract.mavlink  # first: sets MAVLINK20 and the dialect that mavutil reads at import
from pymavlink import mavutil
from pymavlink.dialects.v20 import ardupilotmega as M

# isort: on
from sim.vehicle import SimVehicle

#: Fast, test-friendly vehicle: position estimate after 2 simulated s, no auto-disarm.
FAST = {"ekf_ready_s": 2.0, "params": {"DISARM_DELAY": 0}, "udp_out": [], "tcp_port": 0, "speedup": 20.0}


class Client:
    """A GCS over TCP or UDP: send with ``.mav``, receive with :meth:`recv`."""

    def __init__(self, url: str, sysid: int = 255, compid: int = 190) -> None:
        self.conn = mavutil.mavlink_connection(url, source_system=sysid, source_component=compid)
        self.mav = self.conn.mav

    def recv(
        self,
        mtype: str | list[str] | None = None,
        timeout: float = 5.0,
        cond: Callable[[Any], bool] | None = None,
    ):
        """Next message of ``mtype`` (and ``cond``), or ``None`` after ``timeout`` wall seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            m = self.conn.recv_match(type=mtype, blocking=True, timeout=min(left, 0.2))
            if m is None or m.get_type() == "BAD_DATA":
                continue
            if cond is None or cond(m):
                return m

    def collect(self, seconds: float, mtype: str | list[str] | None = None) -> list:
        out = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            m = self.conn.recv_match(type=mtype, blocking=True, timeout=0.05)
            if m is not None and m.get_type() != "BAD_DATA":
                out.append(m)
        return out

    def drain(self) -> None:
        while self.conn.recv_match(blocking=False) is not None:
            pass

    def command(self, command: int, *params: float, timeout: float = 5.0):
        """COMMAND_LONG; returns its COMMAND_ACK (``None`` on timeout)."""
        p = [float(x) for x in params] + [0.0] * (7 - len(params))
        self.mav.command_long_send(1, 1, command, 0, *p)
        return self.recv("COMMAND_ACK", timeout, cond=lambda m: m.command == command)

    def set_mode(self, name: str) -> Any:
        return self.command(
            M.MAV_CMD_DO_SET_MODE, M.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, contract.mavlink.mode_number(name)
        )

    def set_param(self, name: str, value: float, timeout: float = 5.0):
        self.mav.param_set_send(1, 1, name.encode(), value, M.MAV_PARAM_TYPE_REAL32)
        return self.recv("PARAM_VALUE", timeout, cond=lambda m: m.param_id == name)

    def close(self) -> None:
        self.conn.close()


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def upload(client: Client, items: list[tuple], timeout: float = 5.0) -> int:
    """Upload ``(frame, command, p1, p2, p3, p4, lat, lon, alt)`` items (item 0 = home); MISSION_ACK type.

    Answers whatever the vehicle asks for (MISSION_REQUEST or _INT) with MISSION_ITEM_INT.
    """
    client.mav.mission_count_send(1, 1, len(items), M.MAV_MISSION_TYPE_MISSION)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = client.recv(
            ["MISSION_REQUEST", "MISSION_REQUEST_INT", "MISSION_ACK"], timeout=deadline - time.monotonic()
        )
        if m is None:
            break
        if m.get_type() == "MISSION_ACK":
            return m.type
        frame, cmd, p1, p2, p3, p4, lat, lon, alt = items[m.seq]
        client.mav.mission_item_int_send(
            1, 1, m.seq, frame, cmd, 0, 1, p1, p2, p3, p4, round(lat * 1e7), round(lon * 1e7), alt, 0
        )
    raise TimeoutError("mission upload did not finish")


def wait_position_ok(v: SimVehicle, timeout: float = 10.0) -> None:
    v.wait_for(lambda s: s.pos_ok, timeout)
