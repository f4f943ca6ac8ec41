"""Fixtures for the vehicle simulator tests: started SimVehicles and plain pymavlink clients."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from sim.settings import VehicleSettings
from sim.vehicle import SimVehicle


def _load_kit() -> ModuleType:
    """The helper module, loaded once by path (test folders are not packages)."""
    if "sim_testkit" not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            "sim_testkit", Path(__file__).with_name("sim_testkit.py")
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["sim_testkit"] = module
        spec.loader.exec_module(module)
    return sys.modules["sim_testkit"]


kit = _load_kit()
FAST = kit.FAST
Client = kit.Client


@pytest.fixture
def make_vehicle() -> Iterator[Callable[..., SimVehicle]]:
    """Factory for started vehicles (``FAST`` defaults plus overrides), stopped after the test."""
    started: list[SimVehicle] = []

    def make(**overrides: Any) -> SimVehicle:
        cfg = {**FAST, **overrides}
        cfg["params"] = {**FAST["params"], **overrides.get("params", {})}
        v = SimVehicle(VehicleSettings(**cfg)).start()
        started.append(v)
        return v

    yield make
    for v in started:
        v.stop()
        assert v.error is None, f"simulator loop died: {v.error!r}"


@pytest.fixture
def connect() -> Iterator[Callable[..., Client]]:
    """``connect(vehicle)`` -> a TCP :class:`Client`; closed after the test."""
    clients: list[Client] = []

    def make(v: SimVehicle | str, **kw: Any) -> Client:
        url = v if isinstance(v, str) else f"tcp:127.0.0.1:{v.tcp_port}"
        c = Client(url, **kw)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()
