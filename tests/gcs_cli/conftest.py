"""Fixtures for the operator CLI tests: a real simulator on a free TCP port and the CLI as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sim.settings import VehicleSettings
from sim.vehicle import SimVehicle
from tests.conftest import ctrl_c_works, free_port

#: Fast boot like tests/sim: a position estimate after 2 simulated s, no auto-disarm on the ground.
FAST = {"ekf_ready_s": 2.0, "params": {"DISARM_DELAY": 0}, "udp_out": [], "tcp_port": 0, "speedup": 20.0}


@pytest.fixture
def make_sim() -> Iterator[Callable[..., SimVehicle]]:
    """Factory for started simulators (``FAST`` plus overrides), stopped after the test."""
    started: list[SimVehicle] = []

    def make(**overrides: object) -> SimVehicle:
        v = SimVehicle(VehicleSettings(**{**FAST, **overrides})).start()
        started.append(v)
        return v

    yield make
    for v in started:
        v.stop()
        assert v.error is None, f"simulator loop died: {v.error!r}"


@pytest.fixture
def sim(make_sim: Callable[..., SimVehicle]) -> SimVehicle:
    return make_sim()


def gcs_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Environment for the CLI: tmp data dir and relay db, short waits, no config file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RIVERPATROL_")}
    env.update(
        {
            "RIVERPATROL_GCS_DATA_DIR": str(tmp_path / "gcs"),
            "RIVERPATROL_GCS_RELAY_DB": str(tmp_path / "gcs" / "relay.db"),
            "RIVERPATROL_GCS_HEARTBEAT_TIMEOUT_S": "5",
            "RIVERPATROL_GCS_COMMAND_TIMEOUT_S": "1",
            "RIVERPATROL_GCS_ARMABLE_TIMEOUT_S": "20",
            "RIVERPATROL_GCS_CLIMB_TIMEOUT_S": "30",
            # the simulator flies no edge agent: tests of the payload check turn it on
            "RIVERPATROL_GCS_PAYLOAD_CHECK": "false",
            # no broker unless the test starts one (this machine's own is not the test's)
            "RIVERPATROL_GCS_MQTT_PORT": str(free_port()),
            "COLUMNS": "200",
            **extra,
        }
    )
    return env


@pytest.fixture
def gcs(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``gcs("mission", "upload", ...)`` runs ``riverpatrol gcs ...`` and returns the finished process."""

    def run(*args: str, timeout: float = 60.0, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "riverpatrol", "gcs", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=gcs_env(tmp_path, **env),
            cwd=tmp_path,
        )

    return run


@pytest.fixture
def gcs_bg(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """``gcs_bg("mission", "watch", ...)`` starts a long-running command; killed after the test."""
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str, **env: str) -> subprocess.Popen[str]:
        p = subprocess.Popen(
            [sys.executable, "-m", "riverpatrol", "gcs", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=gcs_env(tmp_path, **env),
            cwd=tmp_path,
            preexec_fn=ctrl_c_works,  # status and watch stop on Ctrl-C
        )
        procs.append(p)
        return p

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait()
