"""Fixtures for the ground-station MAVLink client tests: a fake ArduPilot peer over real sockets."""

from __future__ import annotations

import importlib.util
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

_PEER_FILE = Path(__file__).parent.parent / "edge_telemetry" / "mavpeer.py"


def _load_peer() -> ModuleType:
    """The shared peer module, loaded once by path (test folders are not packages)."""
    if "mavpeer" not in sys.modules:
        spec = importlib.util.spec_from_file_location("mavpeer", _PEER_FILE)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["mavpeer"] = module
        spec.loader.exec_module(module)
    return sys.modules["mavpeer"]


mavpeer = _load_peer()


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def make_peer() -> Iterator[Callable[..., object]]:
    """Factory for started ``FakeAutopilot`` peers (``transport="tcp"|"udp"``), stopped after the test."""
    peers = []

    def make(**kwargs: object) -> object:
        cfg = mavpeer.PeerConfig(**kwargs)
        if cfg.transport == "udp" and not cfg.udp_client_port:
            cfg.udp_client_port = _free_udp_port()
        peer = mavpeer.FakeAutopilot(cfg).start()
        peers.append(peer)
        return peer

    yield make
    for p in peers:
        p.stop()
